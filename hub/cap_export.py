"""CAP export: an alert as a CAP 1.2 document, signed when the hub has a signing key.

An imported alert is given back exactly as it came, signature and all; an alert written in
Vigil is rendered afresh, referencing the earlier messages of its chain.
"""

from __future__ import annotations

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.cap.signature import sign
from hub.cap.write import dump
from hub.cap_alerts import Identity, Sent, cap_time, message_of
from hub.models import Alert, CapMessage
from hub.settings import Settings
from partners.models import Organisation

CAP_CONTENT_TYPE = "application/cap+xml"

async def cap_document(session: AsyncSession, alert: Alert, settings: Settings,
                       identity: Identity) -> bytes:
    record = await session.get(CapMessage, alert.id)
    if record is not None:
        return record.document
    earlier = await _earlier(session, alert, identity)
    organisation = await session.get(Organisation, alert.sender_org_id) \
        if alert.sender_org_id else None
    data = dump(message_of(alert, identity, earlier,
                           organisation.name if organisation else None, settings.public_url))
    if settings.cap_signing_key and settings.cap_signing_cert:
        data = sign(data, settings.cap_signing_key.read_bytes(),
                    settings.cap_signing_cert.read_bytes())
    return data


async def _earlier(session: AsyncSession, alert: Alert, identity: Identity) -> list[Sent]:
    """The messages of the alert's chain before it, oldest first, as CAP references."""
    if alert.references_id is None:
        return []
    root = alert.references_id
    rows = (await session.exec(
        select(Alert).where((col(Alert.id) == root) | (col(Alert.references_id) == root),
                            col(Alert.seq) < (alert.seq or 0))
        .order_by(col(Alert.seq)))).all()
    out = []
    for row in rows:
        record = await session.get(CapMessage, row.id)
        if record is not None:
            out.append(Sent(record.sender, record.identifier, record.sent_text))
        else:
            out.append(Sent(identity.sender, identity.identifier(row.id),
                            cap_time(row.sent_at or row.created_at)))
    return out


def cap_response(document: bytes, alert_id: str) -> web.Response:
    response = web.Response(body=document, content_type=CAP_CONTENT_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="vigil-{alert_id}.cap"'
    return response
