"""The OpenAPI 3.1 document of the API as built, served at /api/v1/openapi.json."""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

from channels.registry import Registry
from hub import access
from hub.api.feed import AUTH_TIMEOUT_S, MAX_MESSAGE, RESUME_GRACE_S
from hub.api.spec_operations import (
    PUBLIC,
    account_paths,
    ack_delivery_paths,
    alert_paths,
    answer,
    cap_paths,
    operation,
    organisation_paths,
    report_paths,
    subscription_paths,
    token_paths,
)
from hub.api.spec_schemas import ref, schemas
from hub.api.spec_services import service_paths, service_schemas
from hub.api.spec_tips import tip_paths, tip_schemas
from hub.http import PUBLISHING
from hub.models import AckStatus, MsgType

routes = web.RouteTableDef()
VERSION = "0.1.0"
BEARER_OR_COOKIE: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"cookieAuth": []}]
ERRORS: dict[int, str] = {
    400: "The request is malformed (for the feed: not a WebSocket handshake, or a token "
         "in the URL).",
    401: "No credential (an `Authorization: Bearer <token>` header or a session cookie), one "
         "that is not valid (or a subscription link not yet confirmed), or a wrong password "
         "or code.",
    403: "The credential is valid but its role or organisation may not do this (a "
         "resident's subscription link opens only its own subscription; a session endpoint "
         "needs the session cookie, not a token); or a cross-site request: a foreign "
         "`Origin`, or a change sent with the session cookie without the right "
         "`X-CSRF-Token` header and the hub's own `Origin`.",
    404: "No such resource, or one this credential may not know exists; or `not_found` with "
         "`fields` naming what the body refers to that the hub does not hold (an "
         "organisation or contact, an invitation or subscription link that expired or was "
         "used).",
    409: "Not possible in the present state: the alert is `cancelled` (it takes no further "
         "update or cancel), `not_published` (pending or rejected: nothing to update or "
         "cancel) or `not_pending` (already approved or rejected); `email_off`: the hub "
         "has no email server, so residents cannot subscribe; or `conflict` with `fields` "
         "naming what clashes with what the hub holds (a name or address already taken, a "
         "TLP made less strict, disabling one's own account).",
    413: "The upload is larger than `VIGIL_UPLOAD_MAX_BYTES` allows (judged from "
         "Content-Length when it is sent, else while the file streams in).",
    415: "The uploaded file's bytes are not JPEG, PNG, WebP, HEIC or MP4.",
    422: "The body or query is invalid; `fields` names every offending field.",
    429: "Too many tries: too many requests from this address to a public endpoint, or too "
         "many failed sign-ins for this account or address. Wait `Retry-After` seconds.",
}
CSRF_NOTE = (
    "A browser signs in with `POST /api/v1/session` and is then known by its session cookie, "
    "named `vigil_session`, or `__Host-vigil_session` when the hub is served over HTTPS "
    "(`VIGIL_PUBLIC_URL` starts with `https:`). Every state-changing request that carries the "
    "cookie must also send the `X-CSRF-Token` header (the `csrf_token` of the last sign-in "
    "answer or of `GET /api/v1/session`) and the hub's own `Origin`; otherwise 403. A request "
    "with an `Authorization` header is judged by its token alone.")


def error_responses() -> dict[str, Any]:
    responses = {str(status): answer(says, ref("Error")) for status, says in ERRORS.items()}
    responses["401"]["headers"] = {"WWW-Authenticate": {
        "schema": {"type": "string"}, "description": 'always `Bearer realm="vigil"`'}}
    responses["429"]["headers"] = {"Retry-After": {
        "schema": {"type": "integer", "minimum": 1}, "description": "seconds to wait"}}
    return responses


def components(channels: Registry) -> dict[str, Any]:
    return {
        "schemas": {**schemas(channels), **service_schemas(), **tip_schemas()},
        "responses": error_responses(),
        "parameters": {"id": {"name": "id", "in": "path", "required": True,
                              "schema": {"type": "string"}}},
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "An API token issued by `POST /api/v1/tokens`."},
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "vigil_session",
                           "description": CSRF_NOTE},
            "subscriptionLink": {"type": "http", "scheme": "bearer",
                                 "description": "The secret (`vgs_...`) of a resident's "
                                 "confirmed subscription link, emailed at sign-up."}},
    }


def feed_description() -> str:
    frames = " | ".join(f'"{kind.value.lower()}"' for kind in MsgType)
    acks = ", ".join(f"`{status.value}`" for status in AckStatus)
    return f"""A WebSocket. Never put a token in the URL (400 `token_in_url`).

For staff only: a resident's subscription link gets 403 (on the handshake) or 4401.

**Authentication**: an `Authorization: Bearer` header on the handshake, the session cookie
of a signed-in browser (which must send its `Origin`: 403 `bad_origin` without it), or a first
message `{{"type": "auth", "token": "..."}}` within {AUTH_TIMEOUT_S:g} s; otherwise the
server sends `{{"type": "error", "error": "unauthenticated", "detail": "..."}}` and closes with
code 4401.

**Desk -> server** (JSON text frames of at most {MAX_MESSAGE} bytes):
- `{{"type": "resume", "since": <seq>}}`: replay, in seq order, every alert the desk may see
  with a higher seq (at most `VIGIL_FEED_REPLAY_MAX` a page), then go live. Sent within
  {RESUME_GRACE_S:g} s of connecting (after any auth message) it is guaranteed to come
  before live alerts; without it the desk gets only alerts published after it connected.
  Sent later, it replays again from that seq; a newer resume replaces one still running.
  5 at once, then one every 2 s; more are answered with a `rate_limited` error.
- `{{"type": "ack", "alert_id": "...", "status": "...", "note": "..."}}` with status one of
  {acks} (partners only).
- `{{"type": "ping"}}`.

**Server -> desk**:
- `{{"type": {frames}, "seq": n, "alert": {{...}}}}`: an Alert, Update or Cancel (the
  `alert` is the `Alert` schema).
- `{{"type": "replayed", "count": n, "last_seq": s, "more": false}}` ends each resume's
  replay; with `"more": true`, resume again from `last_seq` for the next page (live alerts
  wait, in order, until the last page).
- `{{"type": "acked", "alert_id": "...", "ack_id": "...", "status": "..."}}`.
- `{{"type": "pong"}}`.
- `{{"type": "error", "error": "invalid" | "unknown_type" | "not_found" | "forbidden"
  | "unauthenticated" | "rate_limited", "detail": "...", "fields": {{...}},
  "alert_id": "...", "retry_after_s": x}}` (`detail`, `fields`, `alert_id` and
  `retry_after_s` when they apply).

The server closes with 1001 when it shuts down, 4401 when the credential is not valid or
was revoked, 4408 when the desk is too slow (its unsent frames over
`VIGIL_FEED_BUFFER_BYTES`, a frame waiting past `VIGIL_FEED_WRITE_TIMEOUT_S`, or no answer
to the heartbeat), 4429 after more than 100 messages at once or 20 a second, and 1011
when a replay failed in the hub; after 1001, 1011, 4408 and 4429 reconnect and resume."""


def feed_paths() -> dict[str, Any]:
    origin = {"name": "Origin", "in": "header", "required": False,
              "description": "when sent (browsers do), must be the hub's public origin "
                             "(`VIGIL_PUBLIC_URL`); a hub reached at an IP address or "
                             "localhost also takes that origin",
              "schema": {"type": "string"}}
    # The opening handshake of RFC 6455: without it the feed answers 400.
    handshake = [
        {"name": name, "in": "header", "required": True, "schema": schema}
        for name, schema in (
            ("Upgrade", {"type": "string", "enum": ["websocket"]}),
            ("Connection", {"type": "string", "enum": ["Upgrade"]}),
            ("Sec-WebSocket-Version", {"type": "string", "enum": ["13"]}),
            ("Sec-WebSocket-Key", {"type": "string", "pattern": "^[A-Za-z0-9+/]{21}[AQgw]==$",
                                   "description": "16 random bytes, base64"}))]
    return {"/api/v1/feed": {"get": operation(
        "feed_connect", "feed", "The live feed of alerts (WebSocket).",
        {"101": answer("Switching Protocols: the socket is open.")}, 400, 401, 403,
        description=feed_description(), parameters=[*handshake, origin],
        security=[*BEARER_OR_COOKIE, {}])}}


def meta_paths() -> dict[str, Any]:
    return {
        "/healthz": {"get": operation(
            "health_show", "meta", "Liveness: 200 while the database answers, with how "
            "the live feed keeps up.",
            {"200": answer("Healthy.", ref("Health")),
             "503": answer("The database does not answer.", ref("Health"))},
            security=PUBLIC)},
        "/readyz": {"get": operation(
            "ready_show", "meta", "Readiness: database, broker, relays (each with its "
            "circuit breaker) and outbox lag, each with its status.",
            {"200": answer("Ready; `status` is `degraded` when a relay is down or the outbox "
                           "or the feed is behind.", ref("Readiness")),
             "503": answer("The database or the broker does not answer.", ref("Readiness"))},
            security=PUBLIC)},
        "/metrics": {"get": operation(
            "metrics_show", "meta", "Prometheus metrics of this process (text format 0.0.4).",
            {"200": {"description": "The metrics.",
                     "content": {"text/plain": {"schema": {"type": "string"}}}}},
            security=PUBLIC)},
        "/api/v1/openapi.json": {"get": operation(
            "openapi_show", "meta", "This document.",
            {"200": answer("The OpenAPI 3.1 document.", {"type": "object"})},
            security=PUBLIC)},
    }


# Keyed on the registry object (compared by identity): a hub builds its registry once, so
# its document is built once, on the first request for it. Do not mutate what it returns.
@functools.lru_cache(maxsize=8)
def openapi_document(channels: Registry) -> dict[str, Any]:
    """The whole document of a hub with these channels: the rest is fixed by the code."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Vigil", "version": VERSION,
                 "description": "Geofenced police alerts to partner desks. Errors are "
                                "`{error, detail, fields}` with a 4xx status. The HTML pages "
                                "(`/login`, `/account`, ...) are not part of this API.\n\n"
                                + CSRF_NOTE},
        "security": BEARER_OR_COOKIE,
        "tags": [{"name": name} for name in (
            "organisations", "contacts", "tokens", "sessions", "users", "alerts", "acks",
            "deliveries", "reports", "subscriptions", "cap", "services", "hsds", "tips",
            "evidence", "feed", "meta")],
        "paths": {**organisation_paths(), **token_paths(), **account_paths(),
                  **alert_paths(), **cap_paths(), **ack_delivery_paths(), **report_paths(),
                  **subscription_paths(), **service_paths(), **tip_paths(), **feed_paths(),
                  **meta_paths()},
        "components": components(channels),
    }


@functools.lru_cache(maxsize=8)
def document_text(channels: Registry) -> str:
    return json.dumps(openapi_document(channels), separators=(",", ":"))


@routes.get("/api/v1/openapi.json")
@access.allow(access.PUBLIC)
async def openapi_show(request: web.Request) -> web.Response:
    text = document_text(request.app[PUBLISHING].channels)
    return web.Response(text=text, content_type="application/json")
