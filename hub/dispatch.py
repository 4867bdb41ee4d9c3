"""Outbox workers: claim due deliveries, send them, record the attempt."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col, select

from channels.base import Channel, Message, Outcome
from hub import audit
from hub.background import Loop
from hub.db import Sessions
from hub.messages import Renderer
from hub.models import Alert, Delivery, DeliveryAttempt, DeliveryStatus
from hub.targeting import FEED
from partners.models import Contact, Subscription, SubscriptionStatus

log = logging.getLogger(__name__)
DONE = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.DEAD)
DUE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, then dead. Attempt n waits base * 2^(n-1), capped,
    half of it fixed and half random, so a recovering server is not hit by a thundering herd
    and no retry comes back at once."""

    max_attempts: int = 8
    base_s: float = 5.0
    cap_s: float = 900.0

    def delay_s(self, attempts: int, rand: Callable[[], float]) -> float:
        window = min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))
        return window / 2 + rand() * window / 2


@dataclass(frozen=True)
class Timing:
    lease_s: float = 120.0
    poll_s: float = 1.0  # how often due retries are looked for when nothing wakes us
    batch: int = 200

    @property
    def send_timeout_s(self) -> float:
        # Well inside the lease, so a live worker never loses a claim while it sends.
        return min(30.0, self.lease_s / 3)


class Dispatcher:
    """One worker: claims due rows, sends them through their channel, records each attempt."""

    def __init__(self, sessions: Sessions, channels: dict[str, Channel], renderer: Renderer,
                 clock: Callable[[], datetime], *, policy: RetryPolicy = RetryPolicy(),
                 timing: Timing = Timing(), rand: Callable[[], float] = random.random) -> None:
        self.sessions, self.channels, self.renderer = sessions, channels, renderer
        self.clock, self.policy, self.timing, self.rand = clock, policy, timing, rand
        self.worker_id = f"worker-{uuid.uuid4().hex[:12]}"
        self.loop = Loop("delivery worker", self.drain, timing.poll_s)
        self.slots = {name: asyncio.Semaphore(channel.max_in_flight)
                      for name, channel in channels.items()}
        self.unconfigured = asyncio.Semaphore(1)  # rows for a channel this hub has switched off

    def notify(self, _seq: int = 0) -> None:
        self.loop.wake()

    async def start(self) -> None:
        self.loop.start()

    async def close(self) -> None:
        await self.loop.close()

    async def drain(self) -> None:
        """Send batches until nothing is due."""
        while await self.run_once():
            pass

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and send them; how many were claimed."""
        claimed = await self.claim()
        await asyncio.gather(*(self._deliver(delivery_id, channel)
                               for delivery_id, channel in claimed))
        return len(claimed)

    async def claim(self) -> list[tuple[str, str]]:
        """Lease due rows to this worker. SKIP LOCKED lets many workers share the outbox on
        PostgreSQL; SQLite has a single writer, so its UPDATE is atomic as it stands."""
        now = self.clock()
        due = (
            select(Delivery.id, Delivery.channel)
            .where(col(Delivery.channel) != FEED, col(Delivery.status).in_(DUE),
                   col(Delivery.next_attempt_at) <= now,
                   or_(col(Delivery.claimed_until).is_(None), col(Delivery.claimed_until) < now))
            .order_by(col(Delivery.next_attempt_at)).limit(self.timing.batch)
            .with_for_update(skip_locked=True)
        )
        async with self.sessions() as session:
            rows = [(row_id, channel) for row_id, channel in (await session.exec(due)).all()]
            if rows:
                await session.exec(
                    update(Delivery).where(col(Delivery.id).in_([r[0] for r in rows]))
                    .values(claimed_by=self.worker_id,
                            claimed_until=now + timedelta(seconds=self.timing.lease_s)))
                await session.commit()
            return rows

    async def _deliver(self, delivery_id: str, channel_name: str) -> None:
        # Prepare, send and record as one unit per channel slot: a success is committed
        # before the slot is free again, so a crash leaves at most one unknown outcome per
        # slot, and a row recorded as sent is never sent again.
        async with self.slots.get(channel_name, self.unconfigured):
            prepared = await self._prepare(delivery_id)
            if prepared is None:
                return
            channel, message, target = prepared
            started = time.perf_counter()
            outcome = await self._send(channel, message, target)
            await self._record(delivery_id, outcome, int((time.perf_counter() - started) * 1000))

    async def _prepare(self, delivery_id: str) -> tuple[Channel, Message, str] | None:
        async with self.sessions() as session:
            # Renew the claim as the send begins; if the lease ran out while the row waited
            # and another worker took it, or it is already sent, leave it alone.
            renewed = await session.exec(
                update(Delivery).where(col(Delivery.id) == delivery_id,
                                       col(Delivery.claimed_by) == self.worker_id,
                                       col(Delivery.status).in_(DUE))
                .values(claimed_until=self.clock() + timedelta(seconds=self.timing.lease_s)))
            await session.commit()
            if renewed.rowcount != 1:
                return None
            delivery = await session.get(Delivery, delivery_id)
            assert delivery is not None
            alert = await session.get(Alert, delivery.alert_id)
            contact = await session.get(Contact, delivery.contact_id) if delivery.contact_id \
                else None
            resident = await session.get(Subscription, delivery.subscription_id) \
                if delivery.subscription_id else None
        channel = self.channels.get(delivery.channel)
        target = resident.email if resident else _target(delivery.channel, contact)
        if resident is not None and resident.status != SubscriptionStatus.ACTIVE:
            await self._record(delivery_id, Outcome(
                ok=False, permanent=True, error="the resident unsubscribed"), 0)
            return None
        if alert is None or channel is None or target is None:
            reason = "channel not configured" if channel is None else "recipient has no address"
            await self._record(delivery_id, Outcome(ok=False, error=reason,
                                                    permanent=channel is not None), 0)
            return None
        if alert.expires is not None and alert.expires <= self.clock():
            await self._record(delivery_id, Outcome(
                ok=False, permanent=True, error="the alert expired before it could be sent"), 0)
            return None
        message = self.renderer.alert(
            alert, idempotency_key=delivery.idempotency_key, html=delivery.channel == "email",
            unsubscribe_url=self.renderer.unsubscribe_url(resident.id) if resident else None,
            language=resident.language if resident else contact.language if contact else None)
        return channel, message, target

    async def _send(self, channel: Channel, message: Message, target: str) -> Outcome:
        try:
            return await asyncio.wait_for(channel.send(message, target),
                                          self.timing.send_timeout_s)
        except TimeoutError:
            return Outcome(ok=False, error=f"no answer within {self.timing.send_timeout_s:g} s")
        except Exception as error:  # a channel must not raise, but one bug must not stop all
            log.exception("channel %s raised", channel.name)
            return Outcome(ok=False, error=f"channel error: {error!r}")

    async def _record(self, delivery_id: str, outcome: Outcome, duration_ms: int) -> None:
        now = self.clock()
        async with self.sessions() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is None:
                return
            session.add(DeliveryAttempt(delivery_id=delivery_id, at=now, ok=outcome.ok,
                                        permanent=outcome.permanent, error=outcome.error,
                                        duration_ms=duration_ms))
            delivery.attempts += 1
            delivery.claimed_by = delivery.claimed_until = None
            if outcome.ok:
                delivery.status, delivery.delivered_at, delivery.last_error = \
                    DeliveryStatus.SENT, now, None
            elif outcome.permanent or delivery.attempts >= self.policy.max_attempts:
                delivery.status, delivery.last_error = DeliveryStatus.DEAD, outcome.error
                await audit.record(session, self.worker_id, "delivery.dead", delivery.alert_id,
                                   {"delivery_id": delivery_id, "channel": delivery.channel,
                                    "attempts": delivery.attempts, "error": outcome.error})
            else:
                delay = self.policy.delay_s(delivery.attempts, self.rand)
                delivery.status, delivery.last_error = DeliveryStatus.FAILED, outcome.error
                delivery.next_attempt_at = now + timedelta(seconds=delay)
            session.add(delivery)
            await session.commit()


def _target(channel: str, contact: Contact | None) -> str | None:
    if contact is None:
        return None
    return contact.email if channel == "email" else contact.chat_url
