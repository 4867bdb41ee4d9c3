"""The publish transaction: alert, seq, outbox rows and audit event in one commit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.registry import Registry
from hub import audit
from hub.access import Principal
from hub.alerts import AlertDraft
from hub.db import insert_many
from hub.errors import Conflict, Forbidden
from hub.fanout import write_deliveries
from hub.geo import NOWHERE, Area, stored_area
from hub.models import (
    Alert,
    AlertStatus,
    Counter,
    Escalation,
    EscalationStatus,
    MsgType,
)
from hub.targeting import Reach, plan
from hub.visibility import visible_alert
from partners.models import Organisation, new_id


async def write_escalations(session: AsyncSession, alert_id: str, organisations: list[str],
                            due: datetime) -> None:
    """Add one answer-deadline timer per organisation in the caller's transaction."""
    await insert_many(session, _ESCALATIONS, [
        {"id": new_id(), "alert_id": alert_id, "organisation_id": org, "due_at": due,
         "status": EscalationStatus.PENDING.value} for org in organisations])


@dataclass(frozen=True)
class Published:
    alert: Alert
    reach: Reach


_ALERTS: Table = Alert.__table__  # type: ignore[attr-defined]
_COUNTERS: Table = Counter.__table__  # type: ignore[attr-defined]
_ESCALATIONS: Table = Escalation.__table__  # type: ignore[attr-defined]
# The publish path's own statements, built once and run on the session's connection: the
# ORM's unit of work and its ORM-enabled UPDATE cost more per publish than the database.
_NEXT_SEQ = (update(_COUNTERS).where(_COUNTERS.c.name == "alert_seq")
             .values(value=_COUNTERS.c.value + 1).returning(_COUNTERS.c.value))
_INSERT_ALERT = insert(_ALERTS)
_ORGANISATIONS: Table = Organisation.__table__  # type: ignore[attr-defined]
_ORGANISATION_NAME = select(_ORGANISATIONS.c.name).where(_ORGANISATIONS.c.id == bindparam("id"))
_RELEASE = (update(_ALERTS).where(_ALERTS.c.id == bindparam("alert_id"))
            .values(seq=bindparam("seq"), status=bindparam("status"),
                    sent_at=bindparam("sent_at")))


_QUEUES: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()


def sequencing() -> asyncio.Lock:
    """This process's queue for the seq: hold it from taking the seq to the commit.

    The seq's row lock already makes publishes commit one at a time, but PostgreSQL does
    not wake a row lock's waiters in the order they came: with twenty publishes waiting,
    some waited a second while later ones went through. Queued here first (an asyncio lock
    is first come, first served), at most one transaction per process waits on the row."""
    loop = asyncio.get_running_loop()
    if loop not in _QUEUES:
        _QUEUES[loop] = asyncio.Lock()
    return _QUEUES[loop]


async def commit_released(session: AsyncSession, alert: Alert, now: datetime, actor: str,
                          action: str, detail: dict[str, object]) -> None:
    """Give the written alert its seq, sent now, record `action` and commit, in this
    process's queue for the seq (see `sequencing`): the last step of every release."""
    async with sequencing():
        seq = await next_seq(session)
        await (await session.connection()).execute(
            _RELEASE, {"alert_id": alert.id, "seq": seq,
                       "status": AlertStatus.PUBLISHED.value, "sent_at": now})
        # Set as the database now has them, so that the session (if it holds the alert, as
        # an approval's does) has nothing left to write back.
        for name, value in (("seq", seq), ("status", AlertStatus.PUBLISHED), ("sent_at", now)):
            set_committed_value(alert, name, value)
        await audit.record(session, actor, action, alert.id, {"seq": seq, **detail})
        await session.commit()


async def next_seq(session: AsyncSession) -> int:
    """Take the next alert seq. The row lock it takes is held until commit (see Counter)."""
    result = await (await session.connection()).execute(_NEXT_SEQ)
    return int(result.scalar_one())


async def publish(session: AsyncSession, principal: Principal, draft: AlertDraft,
                  now: datetime, channels: Registry, *, hold: bool = False) -> Published:
    """Write and commit the alert with its deliveries; the caller then wakes the bus.

    With `hold`, the alert is stored as pending, reaching nobody until an approver releases it.
    """
    alert = Alert(
        status=AlertStatus.PENDING, msg_type=MsgType.ALERT,
        sender_org_id=principal.organisation_id, created_by=principal.actor,
        sender_name=draft.origin.sender_name if draft.origin
        else await _organisation_name(session, principal.organisation_id),
        created_at=now, **draft.columns())
    keep_origin(session, alert, draft)
    # Written by one INSERT, not the ORM; `alert` stays a plain object the caller reads.
    await (await session.connection()).execute(
        _INSERT_ALERT, {column.name: getattr(alert, column.name) for column in _ALERTS.columns})
    if hold:
        reach = await plan(session, draft.area, draft.tlp, channels)  # for the approver
        await audit.record(session, principal.actor, "alert.submit", alert.id,
                           {"tlp": draft.tlp, "headline": draft.headline, **reach.counts()})
        await session.commit()
        return Published(alert, reach)
    # A withheld CAP message (expired, or a Test) is stored and shown, reaching nobody.
    area = NOWHERE if draft.origin and draft.origin.withheld else draft.area
    return await _release(session, principal, alert, area, now, channels, "alert.publish")


async def _organisation_name(session: AsyncSession, organisation_id: str | None) -> str:
    if organisation_id is None:
        return ""
    result = await (await session.connection()).execute(_ORGANISATION_NAME,
                                                        {"id": organisation_id})
    return str(result.scalar_one_or_none() or "")


def keep_origin(session: AsyncSession, alert: Alert, draft: AlertDraft) -> None:
    """Store the CAP document an imported alert came from, in the alert's transaction.

    Call it before the alert is written (or while the session holds it): `alert.cap` is set
    here and the document's row is flushed with the session."""
    if draft.origin is not None:
        alert.cap = draft.origin.summary
        draft.origin.record.alert_id = alert.id
        session.add(draft.origin.record)


async def approve(session: AsyncSession, principal: Principal, alert_id: str,
                  now: datetime, channels: Registry) -> Published:
    """Release a pending alert of the approver's own service; never by the person who wrote
    it, or the second pair of eyes would be the same pair."""
    alert = await _pending(session, principal, alert_id)
    if alert.created_by == principal.actor:
        raise Forbidden("an alert must be approved by someone other than its author")
    alert.approved_by = principal.actor
    return await _release(session, principal, alert, stored_area(alert.area), now, channels,
                          "alert.approve")


async def reject(session: AsyncSession, principal: Principal, alert_id: str, now: datetime,
                 note: str) -> Alert:
    alert = await _pending(session, principal, alert_id)
    alert.status, alert.approved_by = AlertStatus.REJECTED, principal.actor
    session.add(alert)
    await audit.record(session, principal.actor, "alert.reject", alert.id, {"note": note})
    await session.commit()
    return alert


async def withdraw(session: AsyncSession, principal: Principal, alert_id: str) -> Alert:
    """The author takes back an alert still waiting for approval: it is kept, sent to
    nobody, and no approver may release it any more."""
    alert = await _pending(session, principal, alert_id)
    if alert.created_by != principal.actor:
        raise Forbidden("only the person or token that wrote this alert may withdraw it")
    alert.status = AlertStatus.WITHDRAWN
    session.add(alert)
    await audit.record(session, principal.actor, "alert.withdraw", alert.id, {})
    await session.commit()
    return alert


async def _pending(session: AsyncSession, principal: Principal, alert_id: str) -> Alert:
    alert = await visible_alert(session, principal, alert_id)
    if alert.sender_org_id != principal.organisation_id:
        raise Forbidden("only an approver of the sending service may decide on this alert")
    if alert.status != AlertStatus.PENDING:
        raise Conflict("not_pending", f"this alert is {alert.status}, not waiting for approval")
    return alert


async def _release(session: AsyncSession, principal: Principal, alert: Alert, area: Area,
                   now: datetime, channels: Registry, action: str) -> Published:
    # Everything but the seq first: its row lock is held until commit, so whatever is done
    # after taking it makes every other publish wait (on PostgreSQL; SQLite has one writer).
    reach = await plan(session, area, alert.tlp, channels)
    await write_deliveries(session, alert.id, reach.recipients, now, "publish")
    if alert.ack_within_s:
        await write_escalations(session, alert.id, reach.organisations,
                                now + timedelta(seconds=alert.ack_within_s))
    await commit_released(session, alert, now, principal.actor, action,
                          {"tlp": alert.tlp, "headline": alert.headline, **reach.counts()})
    return Published(alert, reach)
