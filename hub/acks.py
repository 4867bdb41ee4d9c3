"""Acknowledgements: one current answer per responder and alert, however often it is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.access import Principal
from hub.escalation import settle_on_ack
from hub.models import Ack, AckStatus, Alert
from hub.visibility import visible_alert
from partners.models import Role
from partners.validation import Checker

MAX_NOTE = 2000


def read_ack(body: object) -> tuple[AckStatus, str]:
    check = Checker(body)
    check.only({"status", "note"})
    status = check.choice("status", AckStatus)
    note = check.text("note", required=False, max_len=MAX_NOTE, default="")
    check.done()
    assert status is not None
    return status, note or ""


async def record_ack(session: AsyncSession, principal: Principal, alert_id: str,
                     status: AckStatus, note: str, via: str, now: datetime) -> Ack:
    """Store the answer; repeating it changes nothing, a new status replaces the old one."""
    principal.require(Role.PARTNER)
    alert = await visible_alert(session, principal, alert_id)
    assert principal.organisation_id is not None
    existing = await _find(session, alert.id, principal.responder)
    if existing is not None and (existing.status, existing.note) == (status, note):
        return existing
    if existing is None:
        ack = Ack(alert_id=alert.id, organisation_id=principal.organisation_id,
                  responder=principal.responder, contact_id=principal.contact_id,
                  status=status, note=note, via=via, created_at=now, updated_at=now)
    else:
        ack = existing
        ack.status, ack.note, ack.via, ack.updated_at = status, note, via, now
    session.add(ack)
    try:
        await session.flush()
    except IntegrityError:
        # The same responder's identical ack raced us in and committed first.
        await session.rollback()
        return await record_ack(session, principal, alert_id, status, note, via, now)
    # Timers belong to the original alert; an answer to any revision of it counts.
    await settle_on_ack(session, alert.references_id or alert.id, principal.organisation_id,
                        principal.responder, now)
    await audit.record(session, principal.actor, "ack.record", alert.id,
                       {"status": status, "responder": principal.responder, "via": via})
    await session.commit()
    return ack


async def _find(session: AsyncSession, alert_id: str, responder: str) -> Ack | None:
    result = await session.exec(select(Ack).where(Ack.alert_id == alert_id,
                                                  Ack.responder == responder))
    return result.first()


async def acks_of(session: AsyncSession, principal: Principal, alert: Alert) -> list[Ack]:
    """The sender sees every ack; a partner sees only its own organisation's."""
    query = select(Ack).where(Ack.alert_id == alert.id).order_by(col(Ack.created_at))
    if not principal.sees_everything_of(alert):
        query = query.where(Ack.organisation_id == principal.organisation_id)
    return list((await session.exec(query)).all())


def ack_json(ack: Ack) -> dict[str, Any]:
    return {"id": ack.id, "alert_id": ack.alert_id, "organisation_id": ack.organisation_id,
            "responder": ack.responder, "status": ack.status, "note": ack.note, "via": ack.via,
            "created": ack.created_at.isoformat(), "updated": ack.updated_at.isoformat()}
