"""The wake-up bus: tells every process that new alerts are committed. It carries only a seq;
the database stays the source of truth, so a lost message delays nothing for long."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as redis

log = logging.getLogger(__name__)
CHANNEL = "vigil:alerts"
Listener = Callable[[int], None]


class LocalBus:
    """In-process fan-out: the default single-process shape."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    async def notify(self, seq: int) -> None:
        for listener in self.listeners:
            listener(seq)

    async def start(self) -> None:
        return None

    async def check(self) -> str:
        """How the broker answers: raises when it does not."""
        return "in-process"

    async def close(self) -> None:
        return None


class RedisBus(LocalBus):
    """Redis pub/sub across processes; local listeners are woken directly as well."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.client = redis.from_url(url)
        self.reader: asyncio.Task[None] | None = None

    async def notify(self, seq: int) -> None:
        await super().notify(seq)
        try:
            await self.client.publish(CHANNEL, str(seq))
        except redis.RedisError as error:
            # Other processes will still find the alert on their next poll of the database.
            log.warning("broker publish failed for seq %s: %s", seq, error)

    async def start(self) -> None:
        pubsub = self.client.pubsub()
        await pubsub.subscribe(CHANNEL)
        self.reader = asyncio.create_task(self._read(pubsub))

    async def _read(self, pubsub: redis.client.PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            except redis.RedisError as error:
                log.warning("broker read failed: %s; retrying", error)
                await asyncio.sleep(1.0)
                continue
            if message is not None:
                for listener in self.listeners:
                    listener(int(message["data"]))

    async def check(self) -> str:
        await self.client.ping()
        return "ok"

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        await self.client.aclose()


def create_bus(broker_url: str | None) -> LocalBus:
    return RedisBus(broker_url) if broker_url else LocalBus()
