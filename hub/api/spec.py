"""The OpenAPI 3.1 document of the API as built, served at /api/v1/openapi.json."""

from __future__ import annotations

import enum
import functools
import json
from typing import Any

from aiohttp import web

from hub.alerts import LANGUAGE_TAG, MAX_ACK_WITHIN_S, Category, Certainty, Severity, Urgency
from hub.geo import MAX_RADIUS_M, MAX_VERTICES
from hub.models import AckStatus, AlertStatus, DeliveryStatus, MsgType
from hub.tlp import Tlp
from partners.enrolment import MAX_SITES
from partners.models import OrgKind, Role, Tier

routes = web.RouteTableDef()
Schema = dict[str, Any]
VERSION = "0.1.0"
# Mirrors of hub.api.alerts.MAX_PAGE and hub.api.feed's limits, which tests/hub/test_openapi.py
# pins to the code. Importing those modules would make `mypy hub/api/spec.py` report the type
# errors of everything they import (hub.access, hub.feed, hub.http).
MAX_PAGE = 500
FEED_AUTH_TIMEOUT_S = 10.0
FEED_RESUME_GRACE_S = 0.25
FEED_MAX_MESSAGE = 64 * 1024
# Every enumeration the API speaks, published under its class name so it cannot drift.
ENUMS: tuple[type[enum.StrEnum], ...] = (
    Category, Severity, Urgency, Certainty, Tlp, OrgKind, Tier, Role,
    AlertStatus, MsgType, AckStatus, DeliveryStatus,
)
ERRORS: dict[int, str] = {
    400: "The request is malformed (for the feed: not a WebSocket handshake, or a token "
         "in the URL).",
    401: "No `Authorization: Bearer <token>` header, or a token that is not valid.",
    403: "The token is valid but its role or organisation may not do this.",
    404: "No such resource, or one this token may not know exists.",
    409: "The alert is already cancelled: it takes no further update or cancel.",
    422: "The body or query is invalid; `fields` names every offending field.",
}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
ID: Schema = {"type": "string", "maxLength": 32}
LAT: Schema = {"type": "number", "minimum": -90, "maximum": 90}
LON: Schema = {"type": "number", "minimum": -180, "maximum": 180}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def text(max_len: int = 200, min_len: int = 0, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", "maxLength": max_len, **extra}
    return {**schema, "minLength": min_len} if min_len else schema


def obj(properties: dict[str, Schema], required: tuple[str, ...] = (),
        **extra: Any) -> Schema:
    """A closed object: the API refuses unknown fields and sends none it does not document."""
    schema: Schema = {"type": "object", "properties": properties,
                      "additionalProperties": False, **extra}
    return {**schema, "required": list(required)} if required else schema


def closed(properties: dict[str, Schema], **extra: Any) -> Schema:
    """A closed object whose every property is always present (the shape of an answer)."""
    return obj(properties, tuple(properties), **extra)


def enum_schema(kind: type[enum.StrEnum]) -> Schema:
    return {"type": "string", "enum": [member.value for member in kind]}


def error_schemas() -> dict[str, Schema]:
    return {"Error": closed({
        "error": {"type": "string", "description": "machine code, e.g. `invalid`, "
                  "`unauthenticated`, `forbidden`, `not_found`, `token_in_url`"},
        "detail": {"type": "string", "description": "a human sentence"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "offending field path -> what is wrong with it"},
    })}


def area_schemas() -> dict[str, Schema]:
    position = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"},
                "prefixItems": [LON, LAT],
                "description": "[lon, lat] as GeoJSON says; an altitude is ignored"}
    ring = {"type": "array", "items": position, "minItems": 4, "maxItems": MAX_VERTICES + 1,
            "description": "a closed linear ring: the last position equals the first"}
    polygon = {"type": "array", "items": ring, "minItems": 1}
    circle = {"lat": LAT, "lon": LON,
              "radius_m": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_M}}
    return {
        "Polygon": {"type": "object", "required": ["type", "coordinates"],
                    "properties": {"type": {"const": "Polygon"}, "coordinates": polygon}},
        "MultiPolygon": {"type": "object", "required": ["type", "coordinates"],
                         "properties": {"type": {"const": "MultiPolygon"},
                                        "coordinates": {"type": "array", "items": polygon,
                                                        "minItems": 1}}},
        "Circle": {"type": "object", "required": ["circle"],
                   "properties": {"circle": {"type": "object", "properties": circle,
                                             "required": list(circle)}}},
        "Area": {"oneOf": [ref("Polygon"), ref("MultiPolygon"), ref("Circle")],
                 "description": f"at most {MAX_VERTICES} vertices; rings must not "
                                "self-intersect"},
    }


def organisation_schemas() -> dict[str, Schema]:
    site = {"name": text(min_len=1), "lat": LAT, "lon": LON}
    return {
        "SiteCreate": obj(site, ("name", "lat", "lon")),
        "Site": closed({"id": ID, **site}),
        "OrganisationCreate": obj(
            {"name": text(min_len=1), "kind": ref("OrgKind"),
             "sites": {"type": "array", "items": ref("SiteCreate"), "maxItems": MAX_SITES,
                       "default": []}},
            ("name", "kind"), description="Organisation names are unique."),
        "Organisation": closed({"id": ID, "name": {"type": "string"}, "kind": ref("OrgKind"),
                                "sites": {"type": "array", "items": ref("Site")}}),
    }


def contact_token_schemas() -> dict[str, Schema]:
    return {
        "ContactCreate": obj(
            {"name": text(min_len=1), "email": text(320, format="email"),
             "chat_url": text(2000, description="an apprise URL, e.g. json://host/path"),
             "tier": {**ref("Tier"), "default": Tier.PRIMARY.value}},
            ("name",), anyOf=[{"required": ["email"]}, {"required": ["chat_url"]}],
            description="A contact needs an email or a chat_url (or both)."),
        "Contact": closed({"id": ID, "organisation_id": ID, "name": {"type": "string"},
                           "email": {"type": ["string", "null"]},
                           "chat_url": {"type": ["string", "null"]}, "tier": ref("Tier")}),
        "TokenCreate": obj({"organisation_id": text(32, 1), "role": ref("Role"),
                            "contact_id": text(32), "label": text(200)},
                           ("organisation_id", "role")),
        "TokenIssued": closed({"id": ID, "token": {"type": "string",
                                                   "description": "shown this once only"},
                               "role": ref("Role"), "organisation_id": ID,
                               "contact_id": nullable(ID)}),
    }


def alert_create_schema() -> Schema:
    return obj({
        "headline": text(min_len=1), "event": text(min_len=1),
        "category": {**ref("Category"), "default": Category.SECURITY.value},
        "severity": ref("Severity"), "urgency": ref("Urgency"),
        "certainty": ref("Certainty"), "tlp": ref("Tlp"),
        "description": text(20_000), "instruction": text(10_000),
        "area": ref("Area"),
        "expires": nullable({**DATE_TIME, "description": "with a UTC offset; in the future, "
                             "at most a year away"}),
        "ack_within_s": {"type": ["integer", "null"], "minimum": 1,
                         "maximum": MAX_ACK_WITHIN_S},
        "language": text(35, pattern=LANGUAGE_TAG.pattern, default="en-CA"),
    }, ("headline", "event", "severity", "urgency", "certainty", "tlp", "area"))


def alert_schemas() -> dict[str, Schema]:
    cap = {name: ref(name.title()) for name in ("category", "severity", "urgency", "certainty")}
    return {
        "AlertCreate": alert_create_schema(),
        "AlertUpdate": {**alert_create_schema(), "required": [],
                        "description": "only the fields to change; the rest are kept from "
                        "the newest message of the alert. The TLP label may only stay or "
                        "become stricter."},
        "AlertCancel": obj({"note": {**text(10_000), "description": "shown as the "
                                     "cancellation's description, e.g. the all-clear"}}),
        "AlertRevised": closed({
            "id": ID, "seq": {"type": ["integer", "null"]}, "status": ref("AlertStatus"),
            "msg_type": ref("MsgType"), "references": ID,
            "targets": closed({name: {"type": "integer", "minimum": 0}
                               for name in ("organisations", "contacts", "residents")})}),
        "AlertCreated": closed({
            "id": ID, "seq": {"type": ["integer", "null"]}, "status": ref("AlertStatus"),
            "targets": closed({name: {"type": "integer", "minimum": 0}
                               for name in ("organisations", "contacts", "residents")})}),
        "Alert": closed({
            "id": ID, "seq": {"type": ["integer", "null"]}, "status": ref("AlertStatus"),
            "msg_type": ref("MsgType"), "references": nullable(ID),
            "sender_organisation_id": nullable(ID), "headline": {"type": "string"},
            "event": {"type": "string"}, **cap,
            "tlp": ref("Tlp"), "description": {"type": "string"},
            "instruction": {"type": "string"}, "language": {"type": "string"},
            "area": ref("Area"), "expires": nullable(DATE_TIME),
            "ack_within_s": {"type": ["integer", "null"]}, "sent": nullable(DATE_TIME),
            "created": DATE_TIME}),
    }


def ack_delivery_schemas() -> dict[str, Schema]:
    return {
        "AckCreate": obj({"status": ref("AckStatus"), "note": text(2000)}, ("status",)),
        "Ack": closed({"id": ID, "alert_id": ID, "organisation_id": ID,
                       "responder": {"type": "string",
                                     "description": "`contact:<id>` or `token:<id>`"},
                       "status": ref("AckStatus"), "note": {"type": "string"},
                       "via": {"type": "string", "description": "`api` or `feed`"},
                       "created": DATE_TIME, "updated": DATE_TIME}),
        "Delivery": closed({"id": ID, "organisation_id": ID,
                            "recipient": {"type": "string", "description": "masked address"},
                            "channel": {"type": "string", "description": "e.g. feed, email, "
                                        "chat"},
                            "status": ref("DeliveryStatus"),
                            "attempts": {"type": "integer", "minimum": 0},
                            "reason": {"enum": ["publish", "escalation"],
                                       "description": "why the delivery was made: at publish, "
                                       "or escalating to the secondary tier after a missed "
                                       "ack deadline"},
                            "last_error": {"type": ["string", "null"]},
                            "delivered_at": nullable(DATE_TIME)}),
        "Health": closed({"status": {"enum": ["ok", "unavailable"]},
                          "database": {"type": "string"}}),
    }


def schemas() -> dict[str, Schema]:
    return {**{kind.__name__: enum_schema(kind) for kind in ENUMS}, **error_schemas(),
            **area_schemas(), **organisation_schemas(), **contact_token_schemas(),
            **alert_schemas(), **ack_delivery_schemas()}


def json_content(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def answer(description: str, schema: Schema | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    return {**response, "content": json_content(schema)} if schema else response


def error_responses() -> dict[str, Any]:
    responses = {str(status): answer(says, ref("Error")) for status, says in ERRORS.items()}
    responses["401"]["headers"] = {"WWW-Authenticate": {
        "schema": {"type": "string"}, "description": 'always `Bearer realm="vigil"`'}}
    return responses


def components() -> dict[str, Any]:
    return {
        "schemas": schemas(),
        "responses": error_responses(),
        "parameters": {"id": {"name": "id", "in": "path", "required": True,
                              "schema": {"type": "string"}}},
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "An API token issued by `POST /api/v1/tokens`."}},
    }


def operation(handler: str, tag: str, summary: str, ok: dict[str, Any],
              *errors: int, body: str | None = None, **extra: Any) -> dict[str, Any]:
    """One operation; `handler` is the aiohttp handler's name, used as its operationId."""
    responses = {**ok, **{str(s): {"$ref": f"#/components/responses/{s}"} for s in errors}}
    op: dict[str, Any] = {"operationId": handler, "tags": [tag], "summary": summary,
                          "responses": responses, **extra}
    if body is not None:
        op["requestBody"] = {"required": True, "content": json_content(ref(body))}
    return op


def by_id(**operations: dict[str, Any]) -> dict[str, Any]:
    """A path item whose path ends in or contains `{id}`."""
    return {"parameters": [{"$ref": "#/components/parameters/id"}], **operations}


def listing(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


def organisation_paths() -> dict[str, Any]:
    return {
        "/api/v1/organisations": {
            "post": operation("organisation_create", "organisations",
                              "Enrol an organisation with its sites (hub admin).",
                              {"201": answer("Enrolled.", ref("Organisation"))},
                              401, 403, 422, body="OrganisationCreate"),
            "get": operation("organisation_list", "organisations",
                             "Organisations by name: all for a hub admin, else the caller's.",
                             {"200": answer("The organisations.", listing("Organisation"))},
                             401),
        },
        "/api/v1/organisations/{id}": by_id(get=operation(
            "organisation_show", "organisations", "One organisation (hub admin or a member).",
            {"200": answer("The organisation.", ref("Organisation"))}, 401, 404)),
        "/api/v1/organisations/{id}/contacts": by_id(
            post=operation("contact_create", "contacts",
                           "Add a contact (hub admin or this organisation's admin).",
                           {"201": answer("Added.", ref("Contact"))}, 401, 403, 404, 422,
                           body="ContactCreate"),
            get=operation("contact_list", "contacts",
                          "The organisation's contacts by tier and name (hub admin or this "
                          "organisation's admin).",
                          {"200": answer("The contacts.", listing("Contact"))}, 401, 403, 404)),
        "/api/v1/tokens": {"post": operation(
            "token_create", "tokens",
            "Issue an API token (admin). An organisation's own admin may issue only partner "
            "and admin tokens for its organisation.",
            {"201": answer("Issued; the secret is shown this once.", ref("TokenIssued"))},
            401, 403, 422, body="TokenCreate")},
    }


def alert_list_parameters() -> list[dict[str, Any]]:
    return [
        {"name": "since", "in": "query", "required": False,
         "description": "page forward: only alerts with a higher seq, the oldest first",
         "schema": {"type": "integer", "minimum": 0, "maximum": 2**62}},
        {"name": "limit", "in": "query", "required": False,
         "description": "at most this many alerts",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100}},
    ]


def alert_paths() -> dict[str, Any]:
    return {
        "/api/v1/alerts": {
            "post": operation("alert_create", "alerts",
                              "Publish an alert (publisher with an organisation).",
                              {"201": answer("Published.", ref("AlertCreated"))},
                              401, 403, 422, body="AlertCreate"),
            "get": operation("alert_list", "alerts",
                             "Alerts the caller may see: newest first, or with `since` the "
                             "oldest above it first, so paging forward skips none.",
                             {"200": answer("The alerts.", listing("Alert"))}, 401, 422,
                             parameters=alert_list_parameters()),
        },
        "/api/v1/alerts/{id}": by_id(get=operation(
            "alert_show", "alerts", "One alert the caller may see.",
            {"200": answer("The alert.", ref("Alert"))}, 401, 404)),
        "/api/v1/alerts/{id}/update": by_id(post=operation(
            "alert_update", "alerts",
            "Send a CAP Update of the alert (its sending organisation's publisher): it reaches "
            "everyone the alert reached, on the same channels, plus anyone a new area covers.",
            {"201": answer("Sent.", ref("AlertRevised"))}, 401, 403, 404, 409, 422,
            body="AlertUpdate")),
        "/api/v1/alerts/{id}/cancel": by_id(post=operation(
            "alert_cancel", "alerts",
            "Send a CAP Cancel (all-clear) of the alert: it reaches everyone the alert reached "
            "and stops its pending escalations. The body is optional.",
            {"201": answer("Sent.", ref("AlertRevised"))}, 401, 403, 404, 409, 422,
            requestBody={"required": False, "content": json_content(ref("AlertCancel"))})),
    }


def ack_delivery_paths() -> dict[str, Any]:
    return {
        "/api/v1/alerts/{id}/acks": by_id(
            post=operation("ack_create", "acks",
                           "Acknowledge an alert (partner). Repeating an answer changes "
                           "nothing; a new status replaces the responder's previous one.",
                           {"201": answer("Recorded.", ref("Ack"))}, 401, 403, 404, 422,
                           body="AckCreate"),
            get=operation("ack_list", "acks",
                          "The alert's acks: all for the sender and hub admins, otherwise "
                          "the caller's organisation's own.",
                          {"200": answer("The acks, oldest first.", listing("Ack"))},
                          401, 404)),
        "/api/v1/alerts/{id}/deliveries": by_id(get=operation(
            "delivery_list", "deliveries",
            "The alert's deliveries: all for the sender and hub admins, otherwise the "
            "caller's organisation's own.",
            {"200": answer("The deliveries.", listing("Delivery"))}, 401, 404)),
    }


def feed_description() -> str:
    frames = " | ".join(f'"{kind.value.lower()}"' for kind in MsgType)
    acks = ", ".join(f"`{status.value}`" for status in AckStatus)
    return f"""A WebSocket. Never put a token in the URL (400 `token_in_url`).

**Authentication**: an `Authorization: Bearer` header on the handshake, or a first message
`{{"type": "auth", "token": "..."}}` within {FEED_AUTH_TIMEOUT_S:g} s; otherwise the server sends
`{{"type": "error", "error": "unauthenticated", "detail": "..."}}` and closes with code 4401.

**Desk -> server** (JSON text frames of at most {FEED_MAX_MESSAGE} bytes):
- `{{"type": "resume", "since": <seq>}}`: replay, in seq order, every alert the desk may see
  with a higher seq, then go live. Sent within {FEED_RESUME_GRACE_S:g} s of connecting (after any
  auth message) it is guaranteed to come before live alerts; without it the desk gets only
  alerts published after it connected. Sent later, it replays again from that seq.
- `{{"type": "ack", "alert_id": "...", "status": "...", "note": "..."}}` with status one of
  {acks} (partner tokens only).
- `{{"type": "ping"}}`.

**Server -> desk**:
- `{{"type": {frames}, "seq": n, "alert": {{...}}}}`: an Alert, Update or Cancel (the
  `alert` is the `Alert` schema).
- `{{"type": "acked", "alert_id": "...", "ack_id": "...", "status": "..."}}`.
- `{{"type": "pong"}}`.
- `{{"type": "error", "error": "invalid" | "unknown_type" | "not_found" | "forbidden"
  | "unauthenticated", "detail": "...", "fields": {{...}}, "alert_id": "..."}}`
  (`detail`, `fields` and `alert_id` when they apply).

The server closes with 1001 when it shuts down."""


def feed_paths() -> dict[str, Any]:
    origin = {"name": "Origin", "in": "header", "required": False,
              "description": "when sent (browsers do), must be the hub's public origin or "
                             "the origin the request was made to",
              "schema": {"type": "string"}}
    return {"/api/v1/feed": {"get": operation(
        "feed_connect", "feed", "The live feed of alerts (WebSocket).",
        {"101": answer("Switching Protocols: the socket is open.")}, 400, 401, 403,
        description=feed_description(), parameters=[origin],
        security=[{"bearerAuth": []}, {}])}}


def meta_paths() -> dict[str, Any]:
    return {
        "/healthz": {"get": operation(
            "health_show", "meta", "Liveness: 200 while the database answers.",
            {"200": answer("Healthy.", ref("Health")),
             "503": answer("The database does not answer.", ref("Health"))},
            security=[])},
        "/api/v1/openapi.json": {"get": operation(
            "openapi_show", "meta", "This document.",
            {"200": answer("The OpenAPI 3.1 document.", {"type": "object"})},
            security=[])},
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The whole document, built once: the API is fixed when the code is. Do not mutate it."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Vigil", "version": VERSION,
                 "description": "Geofenced police alerts to partner desks. Errors are "
                                "`{error, detail, fields}` with a 4xx status."},
        "security": [{"bearerAuth": []}],
        "tags": [{"name": name} for name in ("organisations", "contacts", "tokens", "alerts",
                                             "acks", "deliveries", "feed", "meta")],
        "paths": {**organisation_paths(), **alert_paths(), **ack_delivery_paths(),
                  **feed_paths(), **meta_paths()},
        "components": components(),
    }


@functools.cache
def document_text() -> str:
    return json.dumps(openapi_document(), separators=(",", ":"))


@routes.get("/api/v1/openapi.json")
async def openapi_show(request: web.Request) -> web.Response:
    return web.Response(text=document_text(), content_type="application/json")
