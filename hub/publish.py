"""The publish transaction: alert, seq, outbox rows and audit event in one commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.access import Principal
from hub.alerts import AlertDraft
from hub.models import Alert, AlertStatus, Counter, Delivery, DeliveryStatus, Escalation, MsgType
from hub.targeting import Reach, Recipient, plan
from partners.models import new_id


async def write_deliveries(session: AsyncSession, alert_id: str, recipients: list[Recipient],
                           now: datetime, reason: str) -> None:
    """Add outbox rows in the caller's transaction; the worker picks them up after commit."""
    if recipients:
        await session.exec(insert(Delivery), params=[
            {"id": new_id(), "alert_id": alert_id, "organisation_id": r.organisation_id,
             "contact_id": r.contact_id, "channel": r.channel, "recipient": r.recipient,
             "idempotency_key": r.idempotency_key(alert_id), "status": DeliveryStatus.PENDING,
             "attempts": 0, "next_attempt_at": now, "created_at": now, "reason": reason}
            for r in recipients
        ])


@dataclass(frozen=True)
class Published:
    alert: Alert
    reach: Reach


async def next_seq(session: AsyncSession) -> int:
    """Take the next alert seq. The row lock it takes is held until commit (see Counter)."""
    result = await session.exec(
        update(Counter).where(col(Counter.name) == "alert_seq")
        .values(value=Counter.value + 1).returning(col(Counter.value))
    )
    return int(result.scalar_one())


async def publish(session: AsyncSession, principal: Principal, draft: AlertDraft,
                  now: datetime, channels: frozenset[str]) -> Published:
    """Write and commit the alert with its deliveries; the caller then wakes the bus."""
    seq = await next_seq(session)
    alert = Alert(
        seq=seq, status=AlertStatus.PUBLISHED, msg_type=MsgType.ALERT,
        sender_org_id=principal.organisation_id, created_by=principal.actor,
        headline=draft.headline, event=draft.event, category=draft.category,
        severity=draft.severity, urgency=draft.urgency, certainty=draft.certainty,
        tlp=draft.tlp, description=draft.description, instruction=draft.instruction,
        language=draft.language, area=draft.area.json, expires=draft.expires,
        ack_within_s=draft.ack_within_s, created_at=now, sent_at=now,
    )
    session.add(alert)
    await session.flush()
    reach = await plan(session, draft.area, draft.tlp, channels)
    await write_deliveries(session, alert.id, reach.recipients, now, "publish")
    if draft.ack_within_s:
        due = now + timedelta(seconds=draft.ack_within_s)
        session.add_all(Escalation(alert_id=alert.id, organisation_id=org, due_at=due)
                        for org in reach.organisations)
    await audit.record(session, principal.actor, "alert.publish", alert.id,
                       {"seq": seq, "tlp": draft.tlp, "headline": draft.headline,
                        **reach.counts()})
    await session.commit()
    return Published(alert, reach)
