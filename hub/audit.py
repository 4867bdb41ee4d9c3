"""Audit trail: append-only events chained by hash, and a check that the chain is whole."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import AuditEvent, Counter
from partners.models import utcnow

GENESIS = "0" * 64


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    payload = json.dumps(
        [prev_hash, event.at.isoformat(), event.actor, event.action, event.subject, event.detail],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_COUNTERS = Counter.__table__  # type: ignore[attr-defined]
# Built once: Core statements on the session's connection, not the ORM's unit of work
# (every publish writes one event, and the ORM's flush cost more than the database did).
_BUMP = update(_COUNTERS).where(_COUNTERS.c.name == "audit").values(value=_COUNTERS.c.value + 1)
# A statement of its own, after the bump: on PostgreSQL a statement sees what was committed
# when it began, and the bump may have waited for another writer's commit to get its lock.
_LAST_HASH = select(_EVENTS.c.hash).order_by(_EVENTS.c.id.desc()).limit(1)
_APPEND = insert(_EVENTS)


async def record(session: AsyncSession, actor: str, action: str, subject: str,
                 detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append an event in the caller's transaction."""
    # Bumping the counter row locks it until commit, so concurrent writers on PostgreSQL
    # append one after the other and the chain never forks.
    connection = await session.connection()
    await connection.execute(_BUMP)
    prev = (await connection.execute(_LAST_HASH)).scalar() or GENESIS
    event = AuditEvent(at=utcnow(), actor=actor, action=action, subject=subject,
                       detail=detail or {}, prev_hash=prev, hash="")
    event.hash = event_hash(prev, event)
    await connection.execute(_APPEND, {name: getattr(event, name) for name in
                                       ("at", "actor", "action", "subject", "detail",
                                        "prev_hash", "hash")})
    return event


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""


async def verify(session: AsyncSession) -> Verdict:
    """Walk the chain from the start; name the first event that does not fit."""
    prev = GENESIS
    checked = 0
    rows = await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))
    for event in rows:
        if event.prev_hash != prev:
            return Verdict(False, checked, event.id, "does not follow the previous event")
        if event_hash(prev, event) != event.hash:
            return Verdict(False, checked, event.id, "content does not match its hash")
        prev = event.hash
        checked += 1
    counter = await session.get(Counter, "audit")
    # The counter moves in the same transaction as every append, so it says how many events
    # there must be; fewer means the newest were deleted (ids may have gaps on PostgreSQL).
    if counter is not None and counter.value != checked:
        return Verdict(False, checked, None, f"{counter.value - checked} newest event(s) deleted")
    return Verdict(True, checked)
