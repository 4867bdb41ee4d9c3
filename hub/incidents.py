"""Incidents: an alert and its updates as one thing with one current state, as the console's
list, the dashboard and `GET /api/v1/alerts/{id}/chain` show it."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import fanout, reports
from hub.access import Principal
from hub.acks import ack_json
from hub.alerts import alert_json
from hub.cap import Urgency
from hub.errors import NotFound
from hub.models import (
    Ack,
    Alert,
    AlertStatus,
    Delivery,
    DeliveryStatus,
    Escalation,
    EscalationStatus,
    MsgType,
    Report,
)
from hub.visibility import visible, visible_alert
from partners.models import Organisation


class State(enum.StrEnum):
    PENDING = "pending"  # waiting for a second person's approval
    LIVE = "live"
    UPDATED = "updated"
    ALL_CLEAR = "all_clear"  # its newest message is an update of urgency Past
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    WITHHELD = "withheld"  # kept, sent to nobody on purpose (rejected, a CAP Test, ...)
    REACHED_NOBODY = "reached_nobody"  # sent, but nobody was inside its area


LABELS = {State.PENDING: "Pending approval", State.LIVE: "Live", State.UPDATED: "Updated",
          State.ALL_CLEAR: "All clear", State.CANCELLED: "Cancelled",
          State.EXPIRED: "Expired", State.WITHHELD: "Withheld",
          State.REACHED_NOBODY: "Reached nobody"}
_FAILED = (DeliveryStatus.FAILED, DeliveryStatus.DEAD)


def describe(state: State, why: str | None) -> str:
    """The state in words, with why where it is not plain (as dashboard.js words it)."""
    explained = why and state in (State.WITHHELD, State.REACHED_NOBODY)
    return f"{LABELS[state]}: {why}" if explained else LABELS[state]
_OUT = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)


def in_chain(root_id: str) -> ColumnElement[bool]:
    """The original and every message referencing it."""
    return or_(col(Alert.id) == root_id, col(Alert.references_id) == root_id)


def state_of(messages: Sequence[Alert], reached: int, now: datetime) -> tuple[State, str | None]:
    """The incident's state and, for withheld or reached nobody, why; `messages` is the
    chain oldest first, `reached` how many deliveries it made in all."""
    root, latest = messages[0], messages[-1]
    if root.status == AlertStatus.PENDING:
        return State.PENDING, "waiting for a second person's approval"
    if root.status == AlertStatus.REJECTED:
        return State.WITHHELD, "the approver rejected it"
    if root.status == AlertStatus.WITHDRAWN:
        return State.WITHHELD, "its author withdrew it before approval"
    if latest.msg_type == MsgType.CANCEL:
        return State.CANCELLED, None
    if latest.msg_type == MsgType.UPDATE and latest.urgency == Urgency.PAST:
        return State.ALL_CLEAR, None
    withheld = (latest.cap or {}).get("withheld")
    if withheld:
        return State.WITHHELD, str(withheld)
    if latest.expires is not None and latest.expires <= now:
        return State.EXPIRED, None
    if reached == 0:
        return State.REACHED_NOBODY, "no enrolled partner, contact or resident was in its area"
    return (State.UPDATED if len(messages) > 1 else State.LIVE), None


async def state_now(session: AsyncSession, messages: Sequence[Alert],
                    now: datetime) -> tuple[State, str | None]:
    """`state_of` the chain, counting every delivery it made (pending fanouts written now)."""
    ids = [m.id for m in messages]
    if await fanout.settle(session, ids):
        await session.commit()  # written now rather than by the worker's next claim
    reached = (await session.exec(select(func.count()).select_from(Delivery)
                                  .where(col(Delivery.alert_id).in_(ids)))).one()
    return state_of(messages, reached, now)


def message_label(message: Alert) -> str:
    return f"{message.msg_type} #{message.seq}" if message.seq else str(message.msg_type)


@dataclass(frozen=True)
class Row:
    """One incident of the console's list."""

    root: Alert
    latest: Alert
    messages: int
    state: State
    why: str | None
    organisations: int  # reached
    residents: int
    answered: int  # organisations that answered

    @property
    def label(self) -> str:
        return LABELS[self.state]


async def recent(session: AsyncSession, principal: Principal, now: datetime,
                 limit: int) -> list[Row]:
    """The newest incidents the principal may see, one row each, in a few queries."""
    roots = list((await session.exec(
        select(Alert).where(visible(principal), col(Alert.references_id).is_(None))
        .order_by(col(Alert.created_at).desc(), col(Alert.seq).desc()).limit(limit))).all())
    if not roots:
        return []
    ids = [root.id for root in roots]
    revisions = (await session.exec(
        select(Alert).where(col(Alert.references_id).in_(ids), visible(principal))
        .order_by(col(Alert.created_at), col(Alert.seq)))).all()
    chains: dict[str, list[Alert]] = {root.id: [root] for root in roots}
    for revision in revisions:
        chains[revision.references_id or ""].append(revision)
    await fanout.settle(session, [m.id for chain in chains.values() for m in chain])
    root_of = func.coalesce(Alert.references_id, Alert.id)
    reach = {root: (orgs, residents, total) for root, orgs, residents, total in (await session.exec(
        select(root_of, func.count(func.distinct(Delivery.organisation_id)),
               func.count(func.distinct(Delivery.subscription_id)), func.count())
        .join(Alert, col(Alert.id) == Delivery.alert_id)
        .where(root_of.in_(ids)).group_by(root_of))).all()}
    answered = dict((await session.exec(
        select(root_of, func.count(func.distinct(Ack.organisation_id)))
        .join(Alert, col(Alert.id) == Ack.alert_id)
        .where(root_of.in_(ids)).group_by(root_of))).all())
    rows = []
    for root in roots:
        chain = chains[root.id]
        orgs, residents, total = reach.get(root.id, (0, 0, 0))
        state, why = state_of(chain, total, now)
        rows.append(Row(root, chain[-1], len(chain), state, why, orgs, residents,
                        answered.get(root.id, 0)))
    return rows


async def chain_of(session: AsyncSession, principal: Principal, alert_id: str) -> list[Alert]:
    """Every message of the incident that `alert_id` (any of its messages) belongs to and
    the principal may see, oldest first. A partner first reached by an update sees from it."""
    opened = await visible_alert(session, principal, alert_id)
    root = opened
    if opened.references_id is not None:
        try:
            root = await visible_alert(session, principal, opened.references_id)
        except NotFound:
            pass
    found = (await session.exec(
        select(Alert).where(in_chain(root.id), visible(principal))
        .order_by(col(Alert.created_at), col(Alert.seq)))).all()
    return list(found) or [root]


async def names_reached(session: AsyncSession, principal: Principal,
                        root: Alert) -> dict[str, str]:
    """Names of the organisations the incident reached or heard from. Only the sender sees
    them all; anyone else sees their own and the sender's."""
    chain = select(Alert.id).where(in_chain(root.id))
    wanted = {root.sender_org_id, principal.organisation_id}
    if principal.sees_everything_of(root):
        for org_column, alert_column in ((Delivery.organisation_id, Delivery.alert_id),
                                         (Ack.organisation_id, Ack.alert_id),
                                         (Report.organisation_id, Report.alert_id)):
            found = await session.exec(select(org_column).where(col(alert_column).in_(chain))
                                       .distinct())
            wanted.update(found.all())
    rows = await session.exec(select(Organisation.id, Organisation.name)
                              .where(col(Organisation.id).in_(wanted - {None})))
    return {org_id: name for org_id, name in rows.all()}


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {"id": delivery.id, "alert_id": delivery.alert_id,
            "organisation_id": delivery.organisation_id, "recipient": delivery.recipient,
            "channel": delivery.channel, "reason": delivery.reason, "status": delivery.status,
            "attempts": delivery.attempts, "last_error": delivery.last_error,
            "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None}


async def incident_json(session: AsyncSession, principal: Principal, alert_id: str,
                        now: datetime) -> dict[str, Any]:
    """The whole incident for the dashboard: state, messages, names, deliveries, answers,
    reports, escalations and the CAP details, each as the principal may see it."""
    messages = await chain_of(session, principal, alert_id)
    root, ids = messages[0], [m.id for m in messages]
    state, why = await state_now(session, messages, now)
    everything = principal.sees_everything_of(root)
    own = principal.organisation_id

    deliveries_query = select(Delivery).where(col(Delivery.alert_id).in_(ids)).order_by(
        col(Delivery.organisation_id), col(Delivery.channel), col(Delivery.recipient))
    acks_query = select(Ack).where(col(Ack.alert_id).in_(ids)).order_by(col(Ack.created_at))
    timers_query = select(Escalation).where(col(Escalation.alert_id).in_(ids)).order_by(
        col(Escalation.due_at))
    if not everything:
        deliveries_query = deliveries_query.where(Delivery.organisation_id == own)
        acks_query = acks_query.where(Ack.organisation_id == own)
        timers_query = timers_query.where(Escalation.organisation_id == own)
    deliveries = (await session.exec(deliveries_query)).all()
    acks = (await session.exec(acks_query)).all()
    found_reports = [shown for message in messages
                     for shown in await reports.on_alert(session, principal, message)]
    timers = (await session.exec(timers_query)).all()

    answered_orgs = {ack.organisation_id for ack in acks}
    escalations = [_escalation(timer, deliveries, answered_orgs, now) for timer in timers]
    reached_orgs = {d.organisation_id for d in deliveries if d.organisation_id}
    from_cap = next((m for m in reversed(messages) if m.cap), None)
    deadline = (root.sent_at + timedelta(seconds=root.ack_within_s)
                if root.sent_at and root.ack_within_s else None)
    return {
        "id": root.id, "state": state, "state_label": LABELS[state], "why": why,
        "sender_organisation_id": root.sender_org_id,
        "messages": [{**alert_json(m), "label": message_label(m)} for m in messages],
        "organisations": await names_reached(session, principal, root),
        "deliveries": [delivery_json(d) for d in deliveries],
        "acks": [ack_json(a) for a in acks],
        "reports": found_reports,
        "escalations": escalations,
        "deadline": deadline.isoformat() if deadline else None,
        "overdue": sorted(reached_orgs - answered_orgs)
        if deadline is not None and deadline <= now and state in (State.LIVE, State.UPDATED)
        else [],
        "reach": {"organisations": len(reached_orgs),
                  "residents": len({d.subscription_id for d in deliveries
                                    if d.subscription_id}),
                  "deliveries": len(deliveries),
                  "sent": sum(d.status in _OUT for d in deliveries),
                  "failed": sum(d.status in _FAILED for d in deliveries)},
        "answers": {"answered": len(answered_orgs),
                    "need_help": len({a.organisation_id for a in acks
                                      if a.status == "need_help"})},
        "cap": from_cap.cap if from_cap else None,
        "cap_message_id": from_cap.id if from_cap else None,
    }


def _escalation(timer: Escalation, deliveries: Sequence[Delivery], answered: set[str],
                now: datetime) -> dict[str, Any]:
    """One organisation's deadline: when, what became of it, and the secondary deliveries."""
    sent = [d for d in deliveries if d.reason == "escalation"
            and d.alert_id == timer.alert_id and d.organisation_id == timer.organisation_id]
    fired = timer.status == EscalationStatus.FIRED
    return {
        "alert_id": timer.alert_id, "organisation_id": timer.organisation_id,
        "due": timer.due_at.isoformat(), "status": timer.status,
        "settled": timer.settled_at.isoformat() if timer.settled_at else None,
        "settled_by": timer.settled_by,
        "overdue": timer.organisation_id not in answered and timer.due_at <= now
        and timer.status != EscalationStatus.CANCELLED,
        "deliveries": [{"channel": d.channel, "recipient": d.recipient, "status": d.status,
                        "last_error": d.last_error} for d in sent],
        # Fired, and the secondary list had no contact any channel could reach.
        "no_working_channel": fired and not sent,
    }
