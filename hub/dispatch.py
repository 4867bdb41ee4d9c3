"""Outbox workers: claim what the channels can send now, send it, record it in batches.

Each channel has a lane of slots (its `max_in_flight`). A worker claims at most what its
lanes can take (their free slots and twice as many again waiting), leases those rows for a few
seconds and renews the lease while it lives; so a killed worker's rows are free again
within one lease, and at most one send per slot is of unknown outcome. A slot is free
once its outcome is committed (see hub.outbox_records). A route whose breaker is open
(hub.breakers) gets nothing sent: its rows are held until a probe finds it answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.base import Channel, Message, Outcome
from channels.registry import Registry
from hub import fanout
from hub.background import Loop
from hub.breakers import Breaker, Breakers
from hub.db import Sessions
from hub.messages import Renderer
from hub.metrics import Metrics
from hub.models import Alert, Delivery, Fanout
from hub.outbox_records import DUE, HELD, Recorder, RetryPolicy, Sent
from hub.targeting import FEED
from partners.models import Contact, Subscription, SubscriptionStatus

log = logging.getLogger(__name__)
UNCONFIGURED = ""  # the lane of rows for a channel this hub has switched off
TABLE = Delivery.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Timing:
    lease_s: float = 10.0  # how long a claim lasts unless renewed; renewed every third of it
    poll_s: float = 1.0  # how often due retries are looked for when nothing wakes us
    send_timeout_s: float = 30.0  # one send; the lease is renewed meanwhile
    hold_s: float = 60.0  # a held row's hold, should its holder die before the route answers


@dataclass
class Job:
    """One claimed row, with what sending it needs."""

    sent: Sent
    alert: Alert | None
    target: str | None
    language: str | None
    idempotency_key: str
    resident_id: str | None
    resident_active: bool


class Lane:
    """A channel's slots: one task per slot, each with one job at a time."""

    def __init__(self, name: str, channel: Channel | None, size: int) -> None:
        self.name, self.channel, self.size = name, channel, size
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.busy = 0
        self.more = False  # the last claim filled the room: more may be due
        self.dry, self.dry_at = False, 0.0  # the last claim found nothing due, and when

    def room(self) -> int:
        """How many rows to claim: free slots, and twice as many again waiting for a slot;
        nothing until a slot's worth is free, so that claims come in batches."""
        room = 3 * self.size - self.busy - self.queue.qsize()
        return room if room >= self.size or (self.busy == 0 and self.queue.empty()) else 0


class Dispatcher:
    """One worker: claims due rows, sends them through their channel, records each attempt."""

    def __init__(self, sessions: Sessions, registry: Registry, renderer: Renderer,
                 clock: Callable[[], datetime], *, policy: RetryPolicy = RetryPolicy(),
                 timing: Timing = Timing(), rand: Callable[[], float] = random.random,
                 metrics: Metrics | None = None) -> None:
        self.sessions, self.renderer = sessions, renderer
        self.channels = channels = registry.build()  # this worker's own; closed with it
        self.fields = {plugin.name: plugin.contact_field for plugin in registry}
        self.html = frozenset(plugin.name for plugin in registry if plugin.html)
        self.clock, self.timing = clock, timing
        self.metrics = metrics or Metrics()
        self.worker_id = f"worker-{uuid.uuid4().hex[:12]}"
        self.recorder = Recorder(sessions, clock, self.worker_id, self.metrics, policy=policy,
                                 hold_s=timing.hold_s, rand=rand)
        self.breakers = Breakers(channels, self.metrics, self._release)
        self.lanes = {name: Lane(name, channel, channel.max_in_flight)
                      for name, channel in channels.items()}
        self.lanes[UNCONFIGURED] = Lane(UNCONFIGURED, None, 1)
        self._claims = {name: _claim(name, list(channels)) for name in self.lanes}
        self.loop = Loop("delivery worker", self.drain, timing.poll_s)
        self.renewal = Loop("delivery lease renewal", self.renew, timing.lease_s / 3)
        self.slots: list[asyncio.Task[None]] = []
        self.working: set[str] = set()  # rows queued or sending here: never claimed twice
        self.messages: OrderedDict[tuple[str, str | None, bool, str | None], Message] = \
            OrderedDict()

    @property
    def rand(self) -> Callable[[], float]:
        return self.recorder.rand

    @rand.setter
    def rand(self, rand: Callable[[], float]) -> None:
        self.recorder.rand = rand  # the retry jitter, the only randomness

    def notify(self, _seq: int = 0) -> None:
        for lane in self.lanes.values():
            lane.dry = False
        self.loop.wake()

    async def start(self) -> None:
        try:
            await self.release_holds()
        except Exception:  # the database is not there yet: holds end on their own
            log.exception("releasing held deliveries at start failed")
        self.recorder.start()
        for lane in self.lanes.values():
            self.slots += [asyncio.create_task(self._slot(lane), name=f"{lane.name} slot")
                           for _ in range(lane.size)]
        self.renewal.start()
        self.loop.start()

    async def close(self) -> None:
        """Stop claiming, let sends under way finish (briefly), record them, and hand the
        rows still waiting back to the outbox, so that a restart sends them at once."""
        await self.loop.close()
        for lane in self.lanes.values():
            while not lane.queue.empty():
                self.working.discard(lane.queue.get_nowait().sent.delivery_id)
        for _ in range(250):  # up to 5 s for the sends under way
            if not any(lane.busy for lane in self.lanes.values()):
                break
            await asyncio.sleep(0.02)
        for task in self.slots:
            task.cancel()
        for task in self.slots:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.slots = []
        await self.recorder.close()
        await self.renewal.close()
        await self.breakers.close()
        with contextlib.suppress(Exception):
            await self._let_go()
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                await close()

    async def drain(self) -> None:
        """Claim until the lanes are full or nothing more is due."""
        while await self.run_once():
            pass

    async def run_once(self) -> int:
        """Claim what the lanes have room for and queue it; how many rows were claimed."""
        now = time.monotonic()
        wanted = {name: lane.room() for name, lane in self.lanes.items()
                  if lane.room() and (not lane.dry or now - lane.dry_at >= self.timing.poll_s)}
        if not wanted:
            return 0
        jobs = await self.claim(wanted)
        for name, room in wanted.items():
            claimed = [job for job in jobs if self._lane_of(job) == name]
            lane = self.lanes[name]
            lane.more = len(claimed) == room
            # A lane that found nothing due is not asked again until something is
            # published or released, or a poll interval has passed (retries come due).
            lane.dry, lane.dry_at = not claimed, now
            for job in claimed:
                self.working.add(job.sent.delivery_id)
                self.lanes[name].queue.put_nowait(job)
        return len(jobs)

    async def settle(self) -> None:
        """Until every claimed row has been sent (or not) and its outcome recorded."""
        for _ in range(6000):  # at most a minute
            if not self.working:
                return
            await asyncio.sleep(0.01)

    async def claim(self, wanted: Mapping[str, int]) -> list[Job]:
        """Lease up to `wanted[channel]` due rows of each channel to this worker, in one
        transaction. SKIP LOCKED lets many workers share the outbox on PostgreSQL; on
        SQLite each UPDATE is atomic as it stands."""
        now = self.clock()
        values = {"now": now, "lease_until": now + timedelta(seconds=self.timing.lease_s),
                  "worker_id": self.worker_id, "working": sorted(self.working)}
        async with self.sessions() as session:
            # Published messages' outbound rows first, so this claim can take them.
            await fanout.settle(session, limit=fanout.BATCH)
            connection = await session.connection()
            ids: list[str] = []
            for name, room in wanted.items():
                result = await connection.execute(self._claims[name], {**values, "room": room})
                ids += list(result.scalars())
            jobs = await _jobs(session, ids, self.fields) if ids else []
            await session.commit()
        return jobs

    async def renew(self) -> None:
        """Extend every claim of this worker: a live worker never loses one, however long a
        send takes; a dead one stops renewing and its rows are free within a lease."""
        async with self.sessions() as session:
            await session.exec(
                update(Delivery).where(col(Delivery.claimed_by) == self.worker_id,
                                       col(Delivery.status).in_(DUE))
                .values(claimed_until=self.clock() + timedelta(seconds=self.timing.lease_s)))
            await session.commit()

    async def release_holds(self, route: str | None = None) -> int:
        """End the holds of a route that answers again (of every route at start, when
        every breaker is closed), so its rows are due at once; how many."""
        held = col(Delivery.claimed_by) == HELD + route if route else \
            col(Delivery.claimed_by).startswith(HELD)
        async with self.sessions() as session:
            result = await session.exec(
                update(Delivery).where(held, col(Delivery.status).in_(DUE))
                .values(claimed_by=None, claimed_until=None, next_attempt_at=self.clock()))
            await session.commit()
        return int(result.rowcount)

    async def _release(self, breaker: Breaker) -> None:
        await self.release_holds(breaker.route)
        self.loop.wake()

    async def _let_go(self) -> None:
        async with self.sessions() as session:
            await session.exec(
                update(Delivery).where(col(Delivery.claimed_by) == self.worker_id,
                                       col(Delivery.status).in_(DUE))
                .values(claimed_by=None, claimed_until=None))
            await session.commit()

    def _lane_of(self, job: Job) -> str:
        return job.sent.channel if job.sent.channel in self.channels else UNCONFIGURED

    async def _slot(self, lane: Lane) -> None:
        while True:
            job = await lane.queue.get()
            lane.busy += 1
            try:
                await self._handle(lane, job)
            except Exception:  # one bug must not stop a slot; the row's lease runs out
                log.exception("delivery %s failed in the worker", job.sent.delivery_id)
            finally:
                lane.busy -= 1
                self.working.discard(job.sent.delivery_id)
            if lane.more and lane.room():
                lane.more = False
                self.loop.wake()

    async def _handle(self, lane: Lane, job: Job) -> None:
        refusal = self._refusal(lane, job)
        if refusal is not None:
            await self.recorder.record(job.sent, refusal, 0)
            return
        assert lane.channel is not None and job.target is not None
        breaker = self.breakers.get(lane.name, lane.channel.route(job.target))
        if breaker.is_open:
            await self.recorder.hold(job.sent, breaker.route)
            return
        try:
            message, headers = self._message(lane, job)
        except Exception as error:  # a template missing from the install, or one that fails
            log.exception("cannot render the message of delivery %s", job.sent.delivery_id)
            await self.recorder.record(job.sent, Outcome(
                ok=False, error=f"cannot render the message: {error!r}"), 0)
            return
        started = time.perf_counter()
        outcome = await self._send(lane.channel, message, job.target, headers)
        duration_ms = int((time.perf_counter() - started) * 1000)
        self.breakers.observe(breaker, outcome)
        await self.recorder.record(job.sent, outcome, duration_ms, breaker.route,
                                   breaker.is_open)

    def _refusal(self, lane: Lane, job: Job) -> Outcome | None:
        """Why this row is not sent at all, if it is not."""
        if lane.channel is None:
            return Outcome(ok=False, error="channel not configured")
        if job.resident_id is not None and not job.resident_active:
            return Outcome(ok=False, permanent=True, error="the resident unsubscribed")
        if job.alert is None or job.target is None:
            return Outcome(ok=False, permanent=True, error="recipient has no address")
        if job.alert.expires is not None and job.alert.expires <= self.clock():
            return Outcome(ok=False, permanent=True,
                           error="the alert expired before it could be sent")
        return None

    def _message(self, lane: Lane, job: Job) -> tuple[Message, dict[str, str]]:
        """The rendered message, shared by everyone reading it in the same language, and
        this recipient's own headers."""
        assert job.alert is not None
        unsubscribe = self.renderer.unsubscribe_url(job.resident_id) if job.resident_id \
            else None
        html = lane.name in self.html
        key = (job.alert.id, job.language, html, unsubscribe)
        message = self.messages.get(key)
        if message is None:
            message = self.messages[key] = self.renderer.alert(
                job.alert, html=html, unsubscribe_url=unsubscribe, language=job.language)
            if len(self.messages) > 1024:
                self.messages.popitem(last=False)
        return message, self.renderer.recipient_headers(job.idempotency_key, unsubscribe)

    async def _send(self, channel: Channel, message: Message, target: str,
                    headers: dict[str, str]) -> Outcome:
        try:
            async with asyncio.timeout(self.timing.send_timeout_s):
                return await channel.send(message, target, headers)
        except TimeoutError:
            return Outcome(ok=False, outage=True,
                           error=f"no answer within {self.timing.send_timeout_s:g} s")
        except Exception as error:  # a channel must not raise, but one bug must not stop all
            log.exception("channel %s raised", channel.name)
            return Outcome(ok=False, error=f"channel error: {error!r}")


def _claim(channel: str, configured: list[str]) -> Any:
    """The UPDATE that leases a channel's due rows (`UNCONFIGURED`: rows of a channel this
    hub does not have), built once; its values come with each execution. A Core UPDATE:
    the ORM's would look for the rows in the session first."""
    table = TABLE.c
    of_channel = table.channel == channel if channel != UNCONFIGURED else \
        table.channel.not_in([FEED, *configured])
    due = (sa_select(table.id)
           .where(of_channel, table.status.in_([status.value for status in DUE]),
                  table.next_attempt_at <= bindparam("now"),
                  or_(table.claimed_until.is_(None), table.claimed_until < bindparam("now")),
                  table.id.not_in(bindparam("working", expanding=True)))
           .order_by(table.next_attempt_at).limit(bindparam("room"))
           .with_for_update(skip_locked=True))
    return (update(TABLE).where(table.id.in_(due.scalar_subquery()))
            .values(claimed_by=bindparam("worker_id"), claimed_until=bindparam("lease_until"))
            .returning(table.id))


async def _jobs(session: AsyncSession, ids: list[str], fields: Mapping[str, str]) -> list[Job]:
    """The claimed rows with their recipients' addresses (a contact's, from the field its
    channel reads: `fields`) and languages, and their alerts."""
    connection = await session.connection()
    rows = (await connection.execute(
        sa_select(*(col(c) for c in (
            Delivery.id, Delivery.alert_id, Delivery.channel, Delivery.status,
            Delivery.attempts, Delivery.created_at, Delivery.idempotency_key,
            Contact.addresses, Contact.language, Subscription.id, Subscription.email,
            Subscription.status, Subscription.language)))
        .outerjoin(Contact, col(Contact.id) == col(Delivery.contact_id))
        .outerjoin(Subscription, col(Subscription.id) == col(Delivery.subscription_id))
        .where(col(Delivery.id).in_(ids)).order_by(col(Delivery.next_attempt_at)))).all()
    alert_ids = {row[1] for row in rows}
    alerts = {alert.id: alert for alert in (await session.exec(
        select(Alert).where(col(Alert.id).in_(alert_ids)))).all()}
    jobs = []
    for row in rows:
        values: tuple[Any, ...] = tuple(row)
        (row_id, alert_id, channel, status, attempts, created_at, key, addresses,
         contact_language, resident_id, resident_email, resident_status,
         resident_language) = values
        if resident_id is not None:
            target, language = resident_email, resident_language
        else:
            target = (addresses or {}).get(fields.get(channel, ""))
            language = contact_language
        jobs.append(Job(
            Sent(row_id, alert_id, channel, status, attempts, created_at),
            alerts.get(alert_id), target, language, key, resident_id,
            resident_status == SubscriptionStatus.ACTIVE))
    return jobs


async def due_now(session: AsyncSession, now: datetime) -> dict[str, tuple[int, float]]:
    """Outbound deliveries due now by channel: how many, and the oldest one's wait in s;
    the recipients of fanouts not yet written (hub.fanout) included."""
    rows = (await session.exec(
        select(Delivery.channel, func.count(), func.min(Delivery.next_attempt_at))
        .where(col(Delivery.channel) != FEED, col(Delivery.status).in_(DUE),
               col(Delivery.next_attempt_at) <= now)
        .group_by(col(Delivery.channel)))).all()
    due = {channel: (int(count), _age(now, oldest)) for channel, count, oldest in rows}
    unwritten = (await session.exec(select(Fanout.created_at, Fanout.recipients))).all()
    for created_at, recipients in unwritten:
        for channel, count in Counter(recipient[2] for recipient in recipients).items():
            before = due.get(channel, (0, 0.0))
            due[channel] = (before[0] + count, max(before[1], _age(now, created_at)))
    return due


def _age(now: datetime, moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return max(0.0, (now - aware).total_seconds())
