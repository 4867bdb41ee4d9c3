"""Alerts over the API: publish, list, read, and each alert's acks and deliveries."""

from __future__ import annotations

import re

from aiohttp import web
from sqlmodel import col, select

from hub import fanout
from hub.access import SIGNED_IN, allow, roles
from hub.acks import ack_json, acks_of, read_ack, record_ack
from hub.alerts import alert_json, read_alert
from hub.errors import Forbidden
from hub.http import (
    BUS,
    CLOCK,
    PUBLISHING,
    SESSIONS,
    SETTINGS,
    created,
    principal_of,
    read_json,
)
from hub.incidents import delivery_json, incident_json
from hub.models import Alert, Delivery, MsgType
from hub.publish import Published, approve, publish, reject, withdraw
from hub.revisions import revise
from hub.visibility import visible, visible_alert
from partners.models import Role
from partners.validation import Checker

routes = web.RouteTableDef()
MAX_PAGE, DEFAULT_PAGE = 500, 100  # alerts in one answer of `GET /api/v1/alerts`
MAX_SINCE = 2**62  # the largest `since`: well inside every database's 64-bit integer
_DIGITS = re.compile(r"^[0-9]{1,19}$")  # MAX_SINCE has 19
MAX_REJECT_NOTE = 2000


@routes.post("/api/v1/alerts")
@allow(roles(Role.PUBLISHER))
async def alert_create(request: web.Request) -> web.Response:
    principal = principal_of(request)
    if principal.organisation_id is None:
        raise Forbidden("a publisher token must belong to an organisation")
    draft = read_alert(await read_json(request), request.app[CLOCK]())
    publishing = request.app[PUBLISHING]
    async with request.app[SESSIONS]() as session:
        result = await publish(session, principal, draft, request.app[CLOCK](),
                               publishing.channels, hold=publishing.needs_approval(draft))
    return await _released(request, result)


async def _released(request: web.Request, result: Published) -> web.Response:
    if result.alert.seq is not None:
        await request.app[BUS].notify(result.alert.seq)
    return created({"id": result.alert.id, "seq": result.alert.seq,
                    "status": result.alert.status, "targets": result.reach.counts()})


@routes.post("/api/v1/alerts/{id}/approve")
@allow(roles(Role.APPROVER))
async def alert_approve(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        result = await approve(session, principal, request.match_info["id"],
                               request.app[CLOCK](),
                               request.app[PUBLISHING].channels)
    response = await _released(request, result)
    response.set_status(200)
    return response


@routes.post("/api/v1/alerts/{id}/reject")
@allow(roles(Role.APPROVER))
async def alert_reject(request: web.Request) -> web.Response:
    principal = principal_of(request)
    body = await read_json(request) if request.body_exists else {}
    check = Checker(body)
    check.only({"note"})
    note = check.text("note", required=False, max_len=MAX_REJECT_NOTE, default="")
    check.done()
    async with request.app[SESSIONS]() as session:
        alert = await reject(session, principal, request.match_info["id"],
                             request.app[CLOCK](), note or "")
    return web.json_response(alert_json(alert))


@routes.post("/api/v1/alerts/{id}/withdraw")
@allow(roles(Role.PUBLISHER))
async def alert_withdraw(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        alert = await withdraw(session, principal, request.match_info["id"])
    return web.json_response(alert_json(alert))


@routes.post("/api/v1/alerts/{id}/update")
@allow(roles(Role.PUBLISHER))
async def alert_update(request: web.Request) -> web.Response:
    return await _revise(request, MsgType.UPDATE, await read_json(request))


@routes.post("/api/v1/alerts/{id}/cancel")
@allow(roles(Role.PUBLISHER))
async def alert_cancel(request: web.Request) -> web.Response:
    body = await read_json(request) if request.body_exists else {}  # the note is optional
    return await _revise(request, MsgType.CANCEL, body)


async def _revise(request: web.Request, kind: MsgType, body: object) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        result = await revise(session, principal, request.match_info["id"], kind, body,
                              request.app[CLOCK](), request.app[PUBLISHING].channels,
                              request.app[SETTINGS].data_dir)
    if result.alert.seq is not None:
        await request.app[BUS].notify(result.alert.seq)
    return created({"id": result.alert.id, "seq": result.alert.seq,
                    "status": result.alert.status, "msg_type": result.alert.msg_type,
                    "references": result.alert.references_id,
                    "targets": result.reach.counts()})


@routes.get("/api/v1/alerts")
@allow(SIGNED_IN)
async def alert_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    check = Checker(dict(request.query))
    since = _query_int(check, "since", 0, MAX_SINCE)
    limit = _query_int(check, "limit", 1, MAX_PAGE) or DEFAULT_PAGE
    check.done()
    async with request.app[SESSIONS]() as session:
        query = select(Alert).where(visible(principal))
        if since is None:
            query = query.order_by(col(Alert.seq).desc())  # the newest first
        else:
            # Paging forward: the oldest after `since` first, so no alert is ever skipped.
            query = query.where(col(Alert.seq) > since).order_by(col(Alert.seq))
        alerts = (await session.exec(query.limit(limit))).all()
    return web.json_response([alert_json(alert) for alert in alerts])


def _query_int(check: Checker, name: str, low: int, high: int) -> int | None:
    raw = check.body.get(name)
    if raw is None:
        return None
    if not _DIGITS.match(raw):
        check.fail(name, "must be a whole number")
        return None
    check.body[name] = int(raw)
    return check.integer(name, low=low, high=high)


# Ids are 32 hex digits (partners.models.new_id): so `/api/v1/alerts/preview` is not an
# alert to GET, and its 405 says `Allow: POST` only.
@routes.get("/api/v1/alerts/{id:[0-9a-f]{32}}")
@allow(SIGNED_IN)
async def alert_show(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        alert = await visible_alert(session, principal, request.match_info["id"])
    return web.json_response(alert_json(alert))


@routes.get("/api/v1/alerts/{id:[0-9a-f]{32}}/chain")
@allow(SIGNED_IN)
async def alert_chain(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        incident = await incident_json(session, principal, request.match_info["id"],
                                       request.app[CLOCK]())
    return web.json_response(incident)


@routes.post("/api/v1/alerts/{id}/acks")
@allow(roles(Role.PARTNER))
async def ack_create(request: web.Request) -> web.Response:
    principal = principal_of(request)
    status, note = read_ack(await read_json(request))
    async with request.app[SESSIONS]() as session:
        ack = await record_ack(session, principal, request.match_info["id"], status, note,
                               "api", request.app[CLOCK]())
    return created(ack_json(ack))


@routes.get("/api/v1/alerts/{id}/acks")
@allow(SIGNED_IN)
async def ack_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        alert = await visible_alert(session, principal, request.match_info["id"])
        acks = await acks_of(session, principal, alert)
    return web.json_response([ack_json(ack) for ack in acks])


@routes.get("/api/v1/alerts/{id}/deliveries")
@allow(SIGNED_IN)
async def delivery_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        alert = await visible_alert(session, principal, request.match_info["id"])
        if await fanout.settle(session, [alert.id]):
            await session.commit()  # written now rather than by the worker's next claim
        query = select(Delivery).where(Delivery.alert_id == alert.id).order_by(
            col(Delivery.organisation_id), col(Delivery.channel), col(Delivery.recipient))
        if not principal.sees_everything_of(alert):
            query = query.where(Delivery.organisation_id == principal.organisation_id)
        deliveries = (await session.exec(query)).all()
    return web.json_response([delivery_json(d) for d in deliveries])
