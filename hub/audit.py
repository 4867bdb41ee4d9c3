"""Audit trail: append-only events chained by hash, and a check that the chain is whole."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
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


async def record(session: AsyncSession, actor: str, action: str, subject: str,
                 detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append an event in the caller's transaction."""
    # Bumping the counter row locks it until commit, so concurrent writers on PostgreSQL
    # append one after the other and the chain never forks.
    await session.exec(update(Counter).where(col(Counter.name) == "audit")
                       .values(value=Counter.value + 1))
    last = await session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1))
    prev = last.first() or GENESIS
    event = AuditEvent(at=utcnow(), actor=actor, action=action, subject=subject,
                       detail=detail or {}, prev_hash=prev, hash="")
    event.hash = event_hash(prev, event)
    session.add(event)
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
