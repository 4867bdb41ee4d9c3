"""Circuit breakers: one per relay or webhook host, so an outage costs a probe a second
rather than a failed send per waiting row, and ends the moment the far end answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from channels.base import Channel, Outcome
from hub.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass
class Breaker:
    """Closed: sends go through. Open: nothing is sent on the route; its rows are held and
    the route is probed every `probe_s` until it answers, then the breaker closes."""

    channel: str
    route: str
    failures: int = 0  # outage failures in a row
    opened_at: float | None = None  # time.monotonic() when it opened
    last_error: str = ""
    probe: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None


class Breakers:
    """The breakers of one worker. `threshold` outage failures in a row open a route's
    breaker; a success closes it; a per-recipient failure (a 550) changes nothing."""

    def __init__(self, channels: dict[str, Channel], metrics: Metrics,
                 on_close: Callable[[Breaker], Coroutine[Any, Any, None]], *, threshold: int = 3,
                 probe_s: float = 1.0) -> None:
        self.channels, self.metrics, self.on_close = channels, metrics, on_close
        self.threshold, self.probe_s = threshold, probe_s
        self.breakers: dict[tuple[str, str], Breaker] = {}

    def get(self, channel: str, route: str) -> Breaker:
        breaker = self.breakers.get((channel, route))
        if breaker is None:
            breaker = self.breakers[channel, route] = Breaker(channel, route)
            self.metrics.circuit_open.labels(channel, route).set(0)
        return breaker

    def observe(self, breaker: Breaker, outcome: Outcome) -> None:
        if outcome.ok:
            breaker.failures = 0
            if breaker.is_open:  # a send that began before the breaker opened got through
                self._close(breaker)
        elif outcome.outage:
            breaker.failures += 1
            breaker.last_error = outcome.error or "the route failed"
            if not breaker.is_open and breaker.failures >= self.threshold:
                self._open(breaker)

    def open(self) -> list[Breaker]:
        return [b for b in self.breakers.values() if b.is_open]

    async def close(self) -> None:
        for breaker in self.breakers.values():
            if breaker.probe is not None:
                breaker.probe.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await breaker.probe

    def _open(self, breaker: Breaker) -> None:
        breaker.opened_at = time.monotonic()
        self.metrics.circuit_open.labels(breaker.channel, breaker.route).set(1)
        log.warning("%s route %s is down (%s); holding its deliveries and probing it",
                    breaker.channel, breaker.route, breaker.last_error)
        breaker.probe = asyncio.create_task(self._probe(breaker),
                                            name=f"probe {breaker.route}")

    def _close(self, breaker: Breaker) -> None:
        down_s = time.monotonic() - (breaker.opened_at or time.monotonic())
        breaker.opened_at, breaker.failures = None, 0
        self.metrics.circuit_open.labels(breaker.channel, breaker.route).set(0)
        log.warning("%s route %s answers again after %.1f s; releasing its deliveries",
                    breaker.channel, breaker.route, down_s)
        task = asyncio.create_task(self.on_close(breaker), name=f"release {breaker.route}")
        task.add_done_callback(_log_failure)
        if breaker.probe is not None and breaker.probe is not asyncio.current_task():
            breaker.probe.cancel()
        breaker.probe = None

    async def _probe(self, breaker: Breaker) -> None:
        channel = self.channels[breaker.channel]
        while breaker.is_open:
            await asyncio.sleep(self.probe_s)
            try:
                answered = await channel.probe(breaker.route)
            except Exception:  # a probe must not raise, but one bug must not stop probing
                log.exception("probing %s failed", breaker.route)
                answered = False
            if answered and breaker.is_open:
                self._close(breaker)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("releasing held deliveries failed; they return within their hold",
                  exc_info=task.exception())
