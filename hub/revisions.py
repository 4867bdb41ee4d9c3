"""Updates and cancellations: CAP Update/Cancel messages that reach everyone reached before."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.registry import Registry
from hub import fanout, reports
from hub.access import Principal
from hub.alerts import (
    FIELDS,
    NULLABLE,
    AlertDraft,
    read_alert,
)
from hub.errors import Conflict, Forbidden
from hub.fanout import write_deliveries
from hub.geo import NOWHERE
from hub.incidents import in_chain
from hub.models import Alert, AlertStatus, Delivery, Escalation, EscalationStatus, MsgType
from hub.publish import Published, commit_released, keep_origin
from hub.targeting import FEED, Reach, Recipient, plan
from hub.tlp import Tlp
from hub.visibility import visible_alert
from partners.models import MAX_ID
from partners.validation import Checker, Conflicting, InvalidInput

# From most to least restrictive: a revision may keep its label or make it stricter, never
# looser, or it would leak the original's content to people it was never meant for.
STRICTNESS = [Tlp.RED, Tlp.AMBER_STRICT, Tlp.AMBER, Tlp.GREEN, Tlp.CLEAR]
MAX_NOTE = 10_000  # a cancel's note, shown as its description
MAX_ATTACH = 10  # report files one update attaches


async def revise(session: AsyncSession, principal: Principal, alert_id: str, kind: MsgType,
                 body: object, now: datetime, channels: Registry,
                 data_dir: Path | None = None) -> Published:
    """Write an Update or Cancel of the alert (or of its latest revision) and commit it.
    An update's `attach` names field report files to carry to the alert's audience."""
    root, latest = await chain(session, principal, alert_id)
    attach = None
    if kind is MsgType.UPDATE and isinstance(body, dict) and "attach" in body:
        body = dict(body)
        attach = _attach_ids(body.pop("attach"))
    draft = AlertDraft.of_alert(latest) if kind is MsgType.CANCEL else _changed(latest, body, now)
    if kind is MsgType.CANCEL:
        draft = _with_note(draft, body)
    added: list[dict[str, Any]] = []
    if attach:
        assert data_dir is not None
        added = await reports.attachable(session, principal, attach, data_dir)
    # Files attached earlier stay with the alert's later messages.
    draft = replace(draft, attachments=(*(latest.attachments or ()), *added))
    return await write_revision(session, principal, root, kind, draft, now, channels)


async def write_revision(session: AsyncSession, principal: Principal, root: Alert,
                         kind: MsgType, draft: AlertDraft, now: datetime,
                         channels: Registry) -> Published:
    """Write the revision `draft` of `root` with its deliveries, and commit."""
    revision = Alert(status=AlertStatus.PENDING, msg_type=kind,
                     references_id=root.id, sender_org_id=root.sender_org_id,
                     sender_name=draft.origin.sender_name if draft.origin
                     else root.sender_name,
                     created_by=principal.actor, created_at=now,
                     **draft.columns())
    session.add(revision)
    await session.flush()
    keep_origin(session, revision, draft)
    withheld = draft.origin is not None and draft.origin.withheld is not None
    reach = Reach() if withheld else await _reach(session, root, draft, channels)
    await write_deliveries(session, revision.id, reach.recipients, now, "publish")
    if kind is MsgType.CANCEL:
        await stop_escalations(session, root.id, now, "cancel")
    await commit_released(session, revision, now, principal.actor,
                          f"alert.{kind.value.lower()}", {"references": root.id, **reach.counts()})
    return Published(revision, reach)


async def chain(session: AsyncSession, principal: Principal, alert_id: str
                ) -> tuple[Alert, Alert]:
    """The original alert and its newest revision, checked for who may revise them."""
    alert = await visible_alert(session, principal, alert_id)
    if alert.sender_org_id != principal.organisation_id:
        raise Forbidden("only the sending organisation may update or cancel an alert")
    root = alert if alert.references_id is None else await session.get(Alert, alert.references_id)
    assert root is not None
    if root.status != AlertStatus.PUBLISHED:
        raise Conflict("not_published", f"this alert is {root.status}; only a published alert "
                       "can be updated or cancelled")
    revisions = (await session.exec(select(Alert).where(Alert.references_id == root.id)
                                    .order_by(col(Alert.seq)))).all()
    if any(r.msg_type == MsgType.CANCEL for r in revisions):
        raise Conflict("cancelled", "this alert is already cancelled")
    return root, (revisions[-1] if revisions else root)


def _attach_ids(raw: object) -> list[str]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ATTACH or not all(
            isinstance(item, str) and 0 < len(item) <= MAX_ID for item in raw):
        raise InvalidInput({"attach": f"must be a list of 1 to {MAX_ATTACH} report file ids"})
    return list(dict.fromkeys(raw))


def _changed(latest: Alert, body: object, now: datetime) -> AlertDraft:
    if not isinstance(body, dict):
        raise InvalidInput({"body": "must be a JSON object of the fields to change"})
    Checker(body, nullable=NULLABLE).done()  # null for a field that has no null meaning
    merged: dict[str, Any] = {name: getattr(latest, name) for name in FIELDS}
    merged["expires"] = latest.expires.isoformat() if latest.expires else None
    # A CAP alert that only names places keeps doing so unless the update draws an area.
    only_named = latest.area is None and "area" not in body
    if only_named:
        merged["area"] = {"circle": {"lat": 0, "lon": 0, "radius_m": 1}}  # checked, then dropped
    if "area" in body and "area_name" not in body:
        merged["area_name"] = ""  # a redrawn area no longer has the old one's name
    merged.update(body)
    draft = read_alert({k: v for k, v in merged.items() if v is not None}, now)
    if only_named:
        draft = replace(draft, area=NOWHERE)
    if STRICTNESS.index(draft.tlp) > STRICTNESS.index(latest.tlp):
        raise Conflicting({"tlp": f"may only stay {latest.tlp} or become stricter"})
    return draft


def _with_note(draft: AlertDraft, body: object) -> AlertDraft:
    """A cancel's body: `{}` or `{"note": ...}`, the note shown as the cancel's description."""
    check = Checker(body)
    check.only({"note"})
    note = check.text("note", required=False, max_len=MAX_NOTE)
    check.done()
    return replace(draft, description=note) if note else draft


async def _reach(session: AsyncSession, root: Alert, draft: AlertDraft,
                 channels: Registry) -> Reach:
    """Everyone any message of this alert reached, on the same channels, plus whoever the
    (possibly new) area now covers; all filtered by the revision's TLP label."""
    reach = await plan(session, draft.area, draft.tlp, channels)
    await fanout.settle(session, (await session.exec(
        select(Alert.id).where(in_chain(root.id)))).all())
    earlier = (await session.exec(
        select(Delivery).join(Alert, col(Alert.id) == col(Delivery.alert_id))
        .where(in_chain(root.id)))).all()
    seen = {(r.channel, r.organisation_id, r.contact_id, r.subscription_id)
            for r in reach.recipients}
    for row in earlier:
        key = (row.channel, row.organisation_id, row.contact_id, row.subscription_id)
        if key in seen or not _allowed(draft.tlp, channels, row.channel, row.contact_id,
                                       row.subscription_id):
            continue
        seen.add(key)
        reach.recipients.append(Recipient(row.organisation_id, row.contact_id, row.channel,
                                          row.recipient, row.subscription_id))
    reach.organisations = sorted({r.organisation_id for r in reach.recipients
                                  if r.organisation_id})
    reach.contacts = {r.contact_id for r in reach.recipients if r.contact_id}
    reach.residents = len({r.subscription_id for r in reach.recipients if r.subscription_id})
    return reach


def _allowed(tlp: Tlp, channels: Registry, channel: str, contact: str | None,
             resident: str | None) -> bool:
    if resident is not None:
        return tlp is Tlp.CLEAR  # a revision that raises the label stops reaching residents
    if not tlp.individuals_only:
        return True
    # TLP:RED: named people only; no shared desk feed, no chat room.
    return contact is not None and (channel == FEED or channels.individual(channel))


async def stop_escalations(session: AsyncSession, root_id: str, now: datetime,
                           why: str) -> None:
    await session.exec(
        update(Escalation).where(col(Escalation.alert_id) == root_id,
                                 col(Escalation.status) == EscalationStatus.PENDING)
        .values(status=EscalationStatus.CANCELLED, settled_at=now, settled_by=why))
