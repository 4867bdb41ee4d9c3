"""CAP import: one document in; a new alert, or an update or cancel of a known one, out.

An Update or Cancel whose `<references>` name an alert this hub holds (imported, or one of
its own exports) becomes a revision of that alert and reaches everyone it reached. The
original bytes are kept with the alert, so exporting it gives back exactly what came in.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.access import Principal
from hub.alerts import AlertDraft, Origin
from hub.cap import CapInvalid, Message, Violation, parse
from hub.cap.signature import SignatureCheck, verify
from hub.cap_alerts import DELIVERED_STATUSES, Identity, draft_of, summary
from hub.errors import Conflict, Forbidden
from hub.geo import AreaError
from hub.models import Alert, CapMessage, MsgType
from hub.publish import Published, publish
from hub.publishing import Publishing
from hub.revisions import STRICTNESS, chain, write_revision

IMPORTED_TYPES = ("Alert", "Update", "Cancel")


async def import_cap(session: AsyncSession, principal: Principal, data: bytes, now: datetime,
                     publishing: Publishing) -> Published:
    """Check, store and (unless withheld) deliver one CAP document; commit."""
    if principal.organisation_id is None:
        raise Forbidden("a publisher token must belong to an organisation")
    channels, identity = publishing.channels, publishing.identity
    message = parse(data)
    if message.msg_type not in IMPORTED_TYPES:
        raise CapInvalid([Violation("/alert/msgType", f"{message.msg_type} messages answer "
                                    "other messages; Vigil imports Alert, Update and Cancel")])
    await _refuse_duplicate(session, message, identity)
    signature = verify(data)
    try:
        draft = draft_of(message)
    except AreaError as error:
        raise CapInvalid([Violation("/alert/info/area", error.message)]) from None
    root = await _referenced(session, message, identity)
    withheld = _withheld(message, draft, now)
    if withheld is None and root is None and message.msg_type == "Cancel":
        withheld = "it cancels a message this hub never received"
    origin = Origin(_record(message, data, signature),
                    {**summary(message, _signature(signature)), "withheld": withheld},
                    withheld)
    draft = replace(draft, origin=origin)
    await audit.record(session, principal.actor, "cap.import", message.identifier[:64],
                       {"sender": message.sender, "msg_type": message.msg_type,
                        "status": message.status, "signature": signature.status,
                        "withheld": withheld})
    if root is None:
        hold = withheld is None and publishing.needs_approval(draft)
        return await publish(session, principal, draft, now, channels, hold=hold)
    root, latest = await chain(session, principal, root.id)
    if STRICTNESS.index(draft.tlp) > STRICTNESS.index(latest.tlp):
        raise CapInvalid([Violation("/alert/scope", f"the alert it updates is {latest.tlp}; "
                                    "an update may keep that label or make it stricter")])
    if message.msg_type == "Cancel" and not message.infos:
        # A bare Cancel carries no words of its own: repeat the alert it withdraws.
        draft = replace(AlertDraft.of_alert(latest), origin=draft.origin,
                        description=message.note or latest.description)
    kind = MsgType.CANCEL if message.msg_type == "Cancel" else MsgType.UPDATE
    return await write_revision(session, principal, root, kind, draft, now, channels)


async def _refuse_duplicate(session: AsyncSession, message: Message, identity: Identity) -> None:
    known: str | None = (await session.exec(select(CapMessage.alert_id).where(
        CapMessage.sender == message.sender,
        CapMessage.identifier == message.identifier))).first()
    own = identity.alert_id_of(message.sender, message.identifier)
    if known is None and own is not None:
        mine = await session.get(Alert, own)
        known = mine.id if mine is not None else None
    if known is not None:
        raise Conflict("duplicate", f"this CAP message ({message.sender}, "
                       f"{message.identifier}) is already here as alert {known}")


async def _referenced(session: AsyncSession, message: Message,
                      identity: Identity) -> Alert | None:
    """The newest alert named in `<references>` that this hub holds."""
    for reference in reversed(message.references):
        alert_id = identity.alert_id_of(reference.sender, reference.identifier)
        if alert_id is None:
            alert_id = (await session.exec(select(CapMessage.alert_id).where(
                CapMessage.sender == reference.sender,
                CapMessage.identifier == reference.identifier))).first()
        alert = await session.get(Alert, alert_id) if alert_id else None
        if alert is not None:
            return alert
    return None


def _withheld(message: Message, draft: AlertDraft, now: datetime) -> str | None:
    if message.status not in DELIVERED_STATUSES:
        return f"its CAP status is {message.status}, which is not meant to be acted on"
    if draft.expires is not None and draft.expires <= now:
        return "it had expired when it arrived"
    return None


def _record(message: Message, data: bytes, signature: SignatureCheck) -> CapMessage:
    return CapMessage(alert_id="", sender=message.sender, identifier=message.identifier,
                      sent=message.sent, sent_text=message.sent.isoformat(),
                      status=message.status, document=data, signature=signature.status,
                      signer=signature.signer[:400] if signature.signer else None)


def _signature(check: SignatureCheck) -> dict[str, str | None]:
    return {"status": check.status, "signer": check.signer, "detail": check.detail}
