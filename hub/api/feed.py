"""The live feed endpoint: handshake checks, authentication, resume, acks over the socket."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSMsgType, web

from hub.access import PUBLIC, Principal, allow
from hub.acks import read_ack, record_ack
from hub.auth import allowed_origins, secret_principal
from hub.desk import TOO_MANY, Desk
from hub.errors import Forbidden, NotFound, Unauthenticated
from hub.http import CLOCK, FEED, LOGIN, PRINCIPAL, SESSIONS, error_response
from partners.models import STAFF_ROLES
from partners.validation import InvalidInput

routes = web.RouteTableDef()
AUTH_TIMEOUT_S = 10.0
# A desk that means to resume says so in its first message; waiting this long for it keeps
# replayed and live alerts in order without delaying a desk that never resumes.
RESUME_GRACE_S = 0.25
# Names a token might be smuggled under; URLs end up in logs and browser history.
URL_SECRETS = {"token", "access_token", "auth", "authorization", "bearer", "api_key", "key"}
MAX_MESSAGE = 64 * 1024


@routes.get("/api/v1/feed")
@allow(PUBLIC)  # the feed authenticates in its handshake: header, first message or cookie
async def feed_connect(request: web.Request) -> web.StreamResponse:
    if URL_SECRETS & {key.lower() for key in request.query}:
        return error_response(400, "token_in_url",
                              "never put a token in the URL; use the Authorization header "
                              "or a first {\"type\": \"auth\"} message")
    origin = request.headers.get("Origin")
    if origin is not None and origin not in allowed_origins(request):
        return error_response(403, "bad_origin", f"origin {origin} may not open the feed")
    # The guard already read the Authorization header or the session cookie.
    principal = request.get(PRINCIPAL)
    if request.get(LOGIN) is not None and origin is None:
        # A cookie rides along on any cross-site WebSocket; only our own pages may use it.
        return error_response(403, "bad_origin", "a browser session must send its Origin")
    if principal is not None and principal.role not in STAFF_ROLES:
        return error_response(403, "forbidden", "the live feed is for partner and police staff")
    # Pings, deadlines and buffers are the feed's own (hub.feed), the same for every desk;
    # frames are written uncompressed so one encoded frame serves every socket.
    ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    if principal is None:
        principal = await _first_message_auth(request, ws)
        if principal is None:
            return ws
    await _serve_desk(request, ws, principal)
    return ws


async def _first_message_auth(request: web.Request,
                              ws: web.WebSocketResponse) -> Principal | None:
    try:
        message = await ws.receive(timeout=AUTH_TIMEOUT_S)
        data = json.loads(message.data) if message.type == WSMsgType.TEXT else None
        if not isinstance(data, dict) or data.get("type") != "auth" or not isinstance(
                data.get("token"), str):
            raise Unauthenticated('the first message must be {"type": "auth", "token": "..."}')
        principal = await secret_principal(request, data["token"])
        if principal.role not in STAFF_ROLES:
            raise Unauthenticated("the live feed is for partner and police staff")
        return principal
    except (TimeoutError, ValueError, RecursionError, Unauthenticated) as error:
        detail = str(error) if isinstance(error, Unauthenticated) else "authenticate first"
        await ws.send_json({"type": "error", "error": "unauthenticated", "detail": detail})
        await ws.close(code=4401, message=b"unauthenticated")
        return None


async def _serve_desk(request: web.Request, ws: web.WebSocketResponse,
                      principal: Principal) -> None:
    hub = request.app[FEED]
    login = request.get(LOGIN)
    transport = request.transport
    if transport is None:
        return
    # The browser session is the credential only when the principal came from the cookie
    # (a session still before its second factor may carry a first-message token instead).
    session_id = login.row.id if login is not None and request.get(PRINCIPAL) else None
    desk = hub.connect(ws, transport, principal, session_id)
    try:
        try:
            first = await ws.receive(timeout=RESUME_GRACE_S)
        except TimeoutError:
            first = None
        if _resume_since(first) is None:
            # Without a resume the desk hears what is published from the moment it connected.
            hub.resume(desk, desk.pending_from, announce=False)
        if first is not None and not await _handle(request, desk, first):
            return
        async for message in ws:
            if not await _handle(request, desk, message):
                return
    except ConnectionError:
        return  # the desk went away, or was closed, while we answered it
    finally:
        hub.disconnect(desk)


def _resume_since(message: Any) -> int | None:
    if message is None or message.type != WSMsgType.TEXT:
        return None
    try:
        data = json.loads(message.data)
    except (ValueError, RecursionError):
        return None
    return _since(data) if isinstance(data, dict) and data.get("type") == "resume" else None


def _since(data: dict[str, Any]) -> int | None:
    """A resume's `since`, when it is a whole number >= 0."""
    since = data.get("since")
    if isinstance(since, int) and not isinstance(since, bool) and since >= 0:
        return since
    return None


async def _handle(request: web.Request, desk: Desk, message: Any) -> bool:
    """Answer one desk message; False when the socket is done."""
    if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                        WSMsgType.ERROR):
        return False
    if desk.closed:
        return True  # closed by the hub: drop what was still coming until the peer's close
    desk.last_heard = desk.now()
    if message.type == WSMsgType.PONG:
        return True
    if desk.messages.take(desk.now()):
        desk.shed(TOO_MANY, "too many messages", "rate", linger=True)
        return True
    if message.type == WSMsgType.PING:
        await desk.ws.pong(message.data)
        return True
    if message.type != WSMsgType.TEXT:
        return True
    try:
        data = json.loads(message.data)
    except (ValueError, RecursionError):  # nesting deep enough to exhaust the stack, too
        await desk.ws.send_json({"type": "error", "error": "invalid", "detail": "not JSON"})
        return True
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "resume":
        await _resume(request, desk, data)
    elif kind == "ack":
        await _ack(request, desk, data)
    elif kind == "ping":
        await desk.ws.send_json({"type": "pong"})
    else:
        await desk.ws.send_json({"type": "error", "error": "unknown_type",
                                 "detail": "expected resume, ack or ping"})
    return True


async def _resume(request: web.Request, desk: Desk, data: dict[str, Any]) -> None:
    since = _since(data)
    if since is None:
        await desk.ws.send_json({"type": "error", "error": "invalid",
                                 "detail": "resume needs since: a whole number >= 0",
                                 "fields": {"since": "must be a whole number >= 0"}})
        return
    wait = desk.resumes.take(desk.now())
    if wait:
        await desk.ws.send_json({"type": "error", "error": "rate_limited",
                                 "detail": "too many resumes on this socket; try again later",
                                 "retry_after_s": round(wait, 1)})
        return
    request.app[FEED].resume(desk, since)


async def _ack(request: web.Request, desk: Desk, data: dict[str, Any]) -> None:
    alert_id = data.get("alert_id")
    try:
        if not isinstance(alert_id, str):
            raise InvalidInput({"alert_id": "is required"})
        status, note = read_ack({k: v for k, v in data.items() if k in ("status", "note")})
        async with request.app[SESSIONS]() as session:
            ack = await record_ack(session, desk.principal, alert_id, status, note, "feed",
                                   request.app[CLOCK]())
        await desk.ws.send_json({"type": "acked", "alert_id": alert_id, "ack_id": ack.id,
                                 "status": ack.status})
    except InvalidInput as error:
        await desk.ws.send_json({"type": "error", "error": "invalid", "detail": error.detail,
                                 "fields": error.fields, "alert_id": alert_id})
    except (NotFound, Forbidden) as error:
        await desk.ws.send_json({"type": "error", "error": "not_found"
                                 if isinstance(error, NotFound) else "forbidden",
                                 "detail": str(error), "alert_id": alert_id})
