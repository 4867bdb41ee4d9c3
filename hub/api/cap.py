"""CAP over the API: import a CAP 1.2 document, export any alert as one."""

from __future__ import annotations

from aiohttp import web

from hub.access import SIGNED_IN, allow, roles
from hub.cap import MAX_DOCUMENT_BYTES
from hub.cap_export import cap_document, cap_response
from hub.cap_import import import_cap
from hub.http import (
    BUS,
    CLOCK,
    PUBLISHING,
    SESSIONS,
    SETTINGS,
    ApiError,
    created,
    principal_of,
    read_body,
)
from hub.visibility import visible_alert
from partners.models import Role

routes = web.RouteTableDef()
CAP_TYPES = ("application/cap+xml", "application/xml", "text/xml")


@routes.post("/api/v1/cap")
@allow(roles(Role.PUBLISHER))
async def cap_import(request: web.Request) -> web.Response:
    principal = principal_of(request)
    if request.content_type not in CAP_TYPES:
        raise ApiError(415, "unsupported_media_type", "send the CAP document as "
                       "application/cap+xml or application/xml",
                       {"body": "must be a CAP 1.2 XML document"})
    data = await _body(request)
    async with request.app[SESSIONS]() as session:
        result = await import_cap(session, principal, data, request.app[CLOCK](),
                                  request.app[PUBLISHING])
    alert = result.alert
    if alert.seq is not None:
        await request.app[BUS].notify(alert.seq)
    cap = alert.cap or {}
    return created({"id": alert.id, "seq": alert.seq, "status": alert.status,
                    "msg_type": alert.msg_type, "references": alert.references_id,
                    "targets": result.reach.counts(), "signature": cap.get("signature"),
                    "withheld": cap.get("withheld"), "warnings": cap.get("warnings", [])})


async def _body(request: web.Request) -> bytes:
    too_large = ApiError(413, "too_large", f"a CAP document may be at most "
                         f"{MAX_DOCUMENT_BYTES} bytes",
                         {"body": f"must be at most {MAX_DOCUMENT_BYTES} bytes"})
    data = await read_body(request, MAX_DOCUMENT_BYTES, too_large)
    if not data.strip():
        raise ApiError(422, "invalid_cap", "the body is empty", {"/": "a CAP document is needed"})
    return data


@routes.get("/api/v1/alerts/{id}/cap")
@allow(SIGNED_IN)
async def alert_cap(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        alert = await visible_alert(session, principal, request.match_info["id"])
        document = await cap_document(session, alert, request.app[SETTINGS],
                                       request.app[PUBLISHING].identity)
    return cap_response(document, alert.id)
