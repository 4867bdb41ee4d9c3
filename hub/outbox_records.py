"""Recording outbound sends in batches: every outcome that arrives while a write is under
way goes into the next one, so a thousand sends a second cost a few commits, and a send's
slot is free only once its outcome is committed (at most one unknown outcome per slot)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, update
from sqlmodel import col

from channels.base import Outcome
from hub import audit
from hub.db import Sessions, insert_many
from hub.metrics import Metrics
from hub.models import Delivery, DeliveryAttempt, DeliveryStatus

log = logging.getLogger(__name__)
DUE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
# claimed_by of a row waiting for its route (relay or host) to answer: "held:<route>". A row
# that failed for an outage waits for its backoff or the route's return, whichever is first;
# while the route's breaker is open, it waits for the return (or `hold_s`, should the
# worker holding it die first).
HELD = "held:"


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
class Sent:
    """What a worker knows of the row it sent (or decided not to send)."""

    delivery_id: str
    alert_id: str
    channel: str
    status: str  # as claimed: pending or failed
    attempts: int  # before this one
    created_at: datetime


@dataclass
class _Entry:
    sent: Sent
    outcome: Outcome | None  # None: held without an attempt
    duration_ms: int
    route: str | None  # the route of an outage failure, or of a hold without an attempt
    open: bool  # the route's breaker is open
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop()
                                       .create_future())


class Recorder:
    """Writes outcomes in group commits: one flush at a time, each taking all that waits."""

    def __init__(self, sessions: Sessions, clock: Callable[[], datetime], worker_id: str,
                 metrics: Metrics, *, policy: RetryPolicy = RetryPolicy(),
                 hold_s: float = 60.0, rand: Callable[[], float] = random.random) -> None:
        self.sessions, self.clock, self.worker_id = sessions, clock, worker_id
        self.metrics, self.policy, self.hold_s, self.rand = metrics, policy, hold_s, rand
        self.waiting: list[_Entry] = []
        self.woken = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="delivery records")

    async def close(self) -> None:
        """Write what waits (for up to 5 s), then stop."""
        if self.task is None:
            return
        for _ in range(500):
            if not self.waiting and not self.woken.is_set():
                break
            await asyncio.sleep(0.01)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.task = None

    async def record(self, sent: Sent, outcome: Outcome, duration_ms: int,
                     route: str | None = None, is_open: bool = False) -> None:
        """Until the attempt is committed: sent, retried later, dead, or, for an outage of
        `route`, held for that route."""
        await self._add(_Entry(sent, outcome, duration_ms, route, is_open))

    async def hold(self, sent: Sent, route: str) -> None:
        """Until the row is committed as held by the route's open breaker, with no attempt."""
        await self._add(_Entry(sent, None, 0, route, True))

    async def _add(self, entry: _Entry) -> None:
        self.waiting.append(entry)
        self.woken.set()
        await asyncio.shield(entry.done)

    async def _run(self) -> None:
        while True:
            await self.woken.wait()
            self.woken.clear()
            batch, self.waiting = self.waiting, []
            while batch:
                try:
                    await self._write(batch)
                except Exception:  # the database is away: keep the outcomes and try again
                    log.exception("recording %d delivery outcomes failed; trying again",
                                  len(batch))
                    await asyncio.sleep(1.0)
                    continue
                for entry in batch:
                    if not entry.done.done():
                        entry.done.set_result(None)
                batch = []

    async def _write(self, batch: list[_Entry]) -> None:
        now = self.clock()
        rows: dict[str, list[dict[str, Any]]] = {"sent": [], "failed": [], "dead": [],
                                                 "held": []}
        attempts: list[dict[str, Any]] = []
        dead: list[_Entry] = []
        kinds: list[str] = []
        for entry in batch:
            kind, values = self._row(entry, now)
            rows[kind].append(values)
            kinds.append(kind)
            if kind == "dead":
                dead.append(entry)
            if entry.outcome is not None:
                outcome = entry.outcome
                attempts.append({"delivery_id": entry.sent.delivery_id, "at": now,
                                 "ok": outcome.ok, "permanent": outcome.permanent,
                                 "error": outcome.error, "duration_ms": entry.duration_ms})
        async with self.sessions() as session:
            connection = await session.connection()
            for kind, changes in rows.items():
                if changes:
                    await connection.execute(_UPDATES[kind], changes)
            await insert_many(session, DeliveryAttempt.__table__,  # type: ignore[attr-defined]
                              attempts)
            for entry in dead:
                sent, error = entry.sent, entry.outcome.error if entry.outcome else None
                await audit.record(session, self.worker_id, "delivery.dead", sent.alert_id,
                                   {"delivery_id": sent.delivery_id, "channel": sent.channel,
                                    "attempts": sent.attempts + 1, "error": error})
            await session.commit()
        for entry, kind in zip(batch, kinds, strict=True):
            self.metrics.deliveries.labels(entry.sent.channel, kind).inc()
            if kind == "sent":
                self.metrics.delivery_latency.labels(entry.sent.channel).observe(
                    max(0.0, (now - entry.sent.created_at).total_seconds()))

    def _row(self, entry: _Entry, now: datetime) -> tuple[str, dict[str, Any]]:
        sent, outcome = entry.sent, entry.outcome
        row: dict[str, Any] = {"row_id": sent.delivery_id}
        if outcome is None:
            return "held", {**row, "held_by": HELD + str(entry.route), "tries": sent.attempts,
                            "status": sent.status,
                            "until": now + timedelta(seconds=self.hold_s),
                            "error": f"waiting: {entry.route} is down (circuit open)"}
        tries = sent.attempts + 1
        if outcome.ok:
            return "sent", {**row, "tries": tries, "at": now}
        if outcome.permanent or tries >= self.policy.max_attempts:
            return "dead", {**row, "tries": tries, "error": outcome.error}
        delay = self.policy.delay_s(tries, self.rand)
        if entry.route is not None and outcome.outage:
            wait = self.hold_s if entry.open else delay
            return "held", {**row, "held_by": HELD + entry.route, "tries": tries,
                            "status": DeliveryStatus.FAILED.value, "error": outcome.error,
                            "until": now + timedelta(seconds=wait)}
        return "failed", {**row, "tries": tries, "error": outcome.error,
                          "next": now + timedelta(seconds=delay)}


def _update(**values: Any) -> Any:
    """An executemany UPDATE of rows still due (a row another worker already settled is
    left as that worker wrote it)."""
    return (update(Delivery.__table__)  # type: ignore[attr-defined]
            .where(col(Delivery.id) == bindparam("row_id"),
                   or_(*(col(Delivery.status) == status.value for status in DUE)))
            .values(**values))


_UPDATES = {
    "sent": _update(status=DeliveryStatus.SENT.value, attempts=bindparam("tries"),
                    delivered_at=bindparam("at"), last_error=None, claimed_by=None,
                    claimed_until=None),
    "failed": _update(status=DeliveryStatus.FAILED.value, attempts=bindparam("tries"),
                      last_error=bindparam("error"), next_attempt_at=bindparam("next"),
                      claimed_by=None, claimed_until=None),
    "dead": _update(status=DeliveryStatus.DEAD.value, attempts=bindparam("tries"),
                    last_error=bindparam("error"), claimed_by=None, claimed_until=None),
    # A held row is not claimed again until its hold ends; the route's return ends it at
    # once (Dispatcher.release_holds). No attempt is counted for a row that was not tried.
    "held": _update(status=bindparam("status"), attempts=bindparam("tries"),
                    last_error=bindparam("error"), claimed_by=bindparam("held_by"),
                    claimed_until=bindparam("until"), next_attempt_at=bindparam("until")),
}
