"""The OpenAPI document: served, complete against the router, and in step with the code."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from aiohttp import FormData, web
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from channels.chat import MAX_URL
from channels.email import MAX_ADDRESS
from channels.registry import Registry
from hub import acks, evidence, reports, revisions, tips
from hub.alerts import FIELDS
from hub.api import spec, spec_schemas
from hub.api.alerts import MAX_PAGE, MAX_REJECT_NOTE, MAX_SINCE
from hub.api.tokens import MAX_LABEL
from hub.cap import Category, Certainty, Severity, Urgency
from hub.directory import Need
from hub.feed import FRAME_TYPES
from hub.http import PUBLISHING, SESSIONS
from hub.login import MAX_CODE, Step
from hub.media import MediaKind
from hub.models import (
    AckStatus,
    AlertStatus,
    DeliveryStatus,
    EvidenceStatus,
    MsgType,
    TipStatus,
)
from hub.services_import import import_path
from hub.settings import Settings
from hub.tlp import Tlp
from partners.accounts import MAX_EMAIL, MAX_SECRET
from partners.models import MAX_ID, STAFF_ROLES, OrgKind, Role, SubscriptionStatus, Tier
from partners.validation import LANGUAGE_TAG, MAX_LANGUAGE_TAG, MAX_LAT, MAX_LON, MAX_NAME
from tests.conftest import ADMIN_TOKEN, INSIDE, PASSWORD, Clock, Hub, alert_body
from tests.hub.conftest import Sink

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
STAFF = [role for role in Role if role in STAFF_ROLES]
# (schema, property, the code's enum): what each documented field must accept, exactly.
ENUM_FIELDS: list[tuple[str, str, Iterable[enum.StrEnum]]] = [
    ("AlertCreate", "category", Category), ("AlertCreate", "severity", Severity),
    ("AlertCreate", "urgency", Urgency), ("AlertCreate", "certainty", Certainty),
    ("AlertCreate", "tlp", Tlp), ("Alert", "tlp", Tlp), ("Alert", "status", AlertStatus),
    ("Alert", "msg_type", MsgType), ("AlertCreated", "status", AlertStatus),
    ("OrganisationCreate", "kind", OrgKind), ("Organisation", "kind", OrgKind),
    ("ContactCreate", "tier", Tier), ("Contact", "tier", Tier),
    ("TokenCreate", "role", STAFF), ("TokenIssued", "role", STAFF),
    ("AckCreate", "status", AckStatus), ("Ack", "status", AckStatus),
    ("Delivery", "status", DeliveryStatus), ("User", "role", STAFF),
    ("UserChanged", "role", STAFF), ("InvitationCreate", "role", STAFF),
    ("Invitation", "role", STAFF), ("SignedIn", "step", Step), ("Session", "step", Step),
    ("MfaConfirmed", "step", Step), ("ReportFile", "kind", MediaKind),
    ("Subscription", "status", SubscriptionStatus), ("ServicePlace", "need", Need),
    ("NearbyPlace", "need", Need),
    ("Subscription", "status", SubscriptionStatus), ("Tip", "status", TipStatus),
    ("TipFile", "kind", MediaKind),
    ("EvidenceRequest", "status", EvidenceStatus),
]
# A valid 1x1 PNG: signature, IHDR, one IDAT row, IEND.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082")
NEAR_INSIDE = {"name": "Bay St annex", "lat": 43.6482, "lon": -79.3804}
HOME = {"email": "sam@resident.example", "lat": 43.6481, "lon": -79.3805, "radius_m": 500}


@functools.cache
def default_document() -> dict[str, Any]:
    """The document of a hub with the default settings' channels (the built-in ones)."""
    return spec.openapi_document(Registry.of(Settings()))


async def served(hub: Hub) -> dict[str, Any]:
    response = await hub.client.get("/api/v1/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    document: dict[str, Any] = await response.json()
    return document


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): op for path, item in document["paths"].items()
            for method, op in item.items() if method in HTTP_METHODS}


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (and any chain of them) to what it names."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """Validate against a schema of the document, its `#/components/...` refs resolvable."""
    Draft202012Validator({**schema, "components": document["components"]}).validate(instance)


async def test_document_is_served_to_anyone(hub: Hub) -> None:
    document = await served(hub)
    assert document["openapi"].startswith("3.")
    assert document == spec.openapi_document(hub.client.app[PUBLISHING].channels)


def declared_routes(app: web.Application) -> list[web.AbstractRoute]:
    """Every route the hub declares: all but the HEAD aiohttp adds beside each GET (with
    the GET's own handler); a HEAD of its own (tus) counts."""
    routes = [route for route in app.router.routes() if route.resource is not None]
    gets = {(route.resource.canonical, route.handler) for route in routes
            if route.method == "GET" and route.resource is not None}
    return [route for route in routes if route.method != "HEAD" or route.resource is None
            or (route.resource.canonical, route.handler) not in gets]


def in_api(path: str) -> bool:
    """The JSON API the document covers; the HTML pages are not part of it."""
    return path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics")


async def test_every_route_is_documented_and_nothing_else(hub: Hub) -> None:
    handlers = {(route.method, route.resource.canonical): route.handler
                for route in declared_routes(hub.client.app)}
    documented = {key: op["operationId"] for key, op in operations(await served(hub)).items()}
    assert documented == {key: handler.__name__ for key, handler in handlers.items()
                          if in_api(key[1])}


def test_path_parameters_match_the_path_templates() -> None:
    document = default_document()
    for path, item in document["paths"].items():
        declared = [resolve(document, p) for p in item.get("parameters", [])]
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            params = declared + [resolve(document, p) for p in op.get("parameters", [])]
            names = {p["name"] for p in params if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_enums_equal_the_code_enums() -> None:
    document = default_document()
    schemas = document["components"]["schemas"]
    for name, field, kind in ENUM_FIELDS:
        documented = resolve(document, schemas[name]["properties"][field])
        assert documented["enum"] == [member.value for member in kind], (name, field)


def test_moderation_takes_every_tip_status() -> None:
    document = default_document()
    branches = document["components"]["schemas"]["TipModerate"]["oneOf"]
    statuses = [branch["properties"]["status"] for branch in branches]
    assert statuses[0]["enum"] + [statuses[1]["const"]] == [s.value for s in TipStatus]


def test_alert_fields_and_frames_match_the_code() -> None:
    schemas = default_document()["components"]["schemas"]
    assert set(schemas["AlertCreate"]["properties"]) == set(FIELDS)
    assert {kind.value: kind.value.lower() for kind in MsgType} == FRAME_TYPES


def test_document_is_valid_openapi() -> None:
    validate(default_document())


def form_type(fields: dict[str, str | bytes]) -> str:
    """How the fields are sent: multipart with a file, urlencoded without."""
    if any(isinstance(value, bytes) for value in fields.values()):
        return "multipart/form-data"
    return "application/x-www-form-urlencoded"


def form_data(fields: dict[str, str | bytes]) -> FormData:
    form = FormData(default_to_multipart=form_type(fields) == "multipart/form-data")
    for name, value in fields.items():
        if isinstance(value, bytes):
            form.add_field(name, value, filename="photo", content_type="application/octet-stream")
        else:
            form.add_field(name, value)
    return form


class Caller:
    """Calls the API and checks each request and answer against what the document says.

    It shares the test client's cookie jar, so after a sign-in it is also a browser: with
    `browser=True` it sends no token but the session cookie, the CSRF token and our Origin.
    """

    def __init__(self, hub: Hub, document: dict[str, Any]) -> None:
        self.hub, self.document = hub, document
        self.csrf = ""

    def sent(self, op: dict[str, Any], status: int, body: Any,
             form: dict[str, str | bytes] | None) -> dict[str, Any]:
        """The request's body arguments, checked against the documented body when it is
        meant to be accepted (refusals are tested with bad bodies on purpose)."""
        if form is not None:
            if status < 400:
                # A file part may repeat: the document declares `file` as a list of them.
                fields = {k: v if isinstance(v, str) else ["<bytes>"] for k, v in form.items()}
                content = op["requestBody"]["content"][form_type(form)]
                check(self.document, content["schema"], fields)
            return {"data": form_data(form)}
        if body is not None and status < 400:
            check(self.document,
                  op["requestBody"]["content"]["application/json"]["schema"], body)
        return {"json": body}

    def headers(self, token: str | None, browser: bool) -> dict[str, str]:
        if browser:
            origin = str(self.hub.client.make_url("/")).rstrip("/")
            return {"X-CSRF-Token": self.csrf, "Origin": origin}
        return self.hub.auth(token) if token else {}

    async def __call__(self, method: str, template: str, status: int, *, path: str = "",
                       token: str | None = ADMIN_TOKEN, body: Any = None,
                       form: dict[str, str | bytes] | None = None, browser: bool = False,
                       headers: dict[str, str] | None = None) -> Any:
        op = self.document["paths"][template][method.lower()]
        response = await self.hub.client.request(
            method, path or template, **self.sent(op, status, body, form),
            headers={**(headers or {}), **self.headers(token, browser)})
        raw = await response.read()
        assert response.status == status, (method, path or template, raw[:500])
        assert str(status) in op["responses"], (method, template, status)
        answer = resolve(self.document, op["responses"][str(status)])
        for header in answer.get("headers", {}):
            assert header in response.headers, (method, template, header)
        assert response.content_type in answer["content"], (method, template)
        if response.content_type != "application/json":
            return raw
        data = await response.json()
        check(self.document, answer["content"]["application/json"]["schema"], data)
        if isinstance(data, dict) and "csrf_token" in data:
            self.csrf = data["csrf_token"]
        return data


async def test_answers_match_the_documented_schemas(hub: Hub) -> None:
    call = Caller(hub, await served(hub))
    police = await call("POST", "/api/v1/organisations", 201,
                        body={"name": "Toronto Police Service", "kind": "police"})
    tower = await call("POST", "/api/v1/organisations", 201,
                       body={"name": "Bay Tower", "kind": "corporate", "sites": [INSIDE]})
    orgs = "/api/v1/organisations/{id}"
    await call("GET", "/api/v1/organisations", 200)
    await call("GET", orgs, 200, path=f"/api/v1/organisations/{tower['id']}")
    contacts = f"/api/v1/organisations/{tower['id']}/contacts"
    contact = await call("POST", orgs + "/contacts", 201, path=contacts,
                         body={"name": "Desk", "email": "desk@example.org"})
    await call("GET", orgs + "/contacts", 200, path=contacts)
    publisher = (await call("POST", "/api/v1/tokens", 201,
                            body={"organisation_id": police["id"], "role": "publisher"}))["token"]
    partner = (await call("POST", "/api/v1/tokens", 201,
                          body={"organisation_id": tower["id"], "role": "partner",
                                "contact_id": contact["id"], "label": "desk"}))["token"]
    alert = await call("POST", "/api/v1/alerts", 201, token=publisher, body=alert_body())
    one = f"/api/v1/alerts/{alert['id']}"
    await call("GET", "/api/v1/alerts", 200, path="/api/v1/alerts?since=0&limit=10")
    await call("GET", "/api/v1/alerts/{id}", 200, path=one, token=partner)
    await call("POST", "/api/v1/alerts/{id}/acks", 201, path=one + "/acks", token=partner,
               body={"status": "acknowledged", "note": "on it"})
    await call("GET", "/api/v1/alerts/{id}/acks", 200, path=one + "/acks", token=publisher)
    await call("GET", "/api/v1/alerts/{id}/deliveries", 200, path=one + "/deliveries")
    await call("GET", "/healthz", 200, token=None)
    spare = await call("POST", "/api/v1/tokens", 201,
                       body={"organisation_id": tower["id"], "role": "partner"})
    await call("POST", "/api/v1/tokens/{id}/revoke", 200,
               path=f"/api/v1/tokens/{spare['id']}/revoke")


async def join(call: Caller, organisation_id: str, email: str) -> dict[str, Any]:
    """Invite a partner person as the hub admin and accept; returns the new user."""
    invitation = await call("POST", "/api/v1/invitations", 201,
                            body={"organisation_id": organisation_id, "email": email,
                                  "role": "partner"})
    user: dict[str, Any] = await call(
        "POST", "/api/v1/invitations/accept", 201, token=None,
        body={"token": invitation["token"], "name": "Desk", "password": PASSWORD})
    return user


async def test_session_answers_match_the_documented_schemas(hub: Hub) -> None:
    call = Caller(hub, await served(hub))
    org, _ = await hub.partner("Bay Tower", INSIDE)
    await join(call, org, "desk@baytower.example")
    credentials = {"email": "desk@baytower.example", "password": PASSWORD}
    signed = await call("POST", "/api/v1/session", 201, token=None, body=credentials)
    assert signed["step"] == Step.DONE  # partners need no second factor
    await call("GET", "/api/v1/session", 200, token=None)
    await call("GET", "/api/v1/alerts", 200, token=None)  # the cookie works on the API too
    await call("DELETE", "/api/v1/session", 403, token=None)  # no CSRF token, no Origin
    enrolment = await call("POST", "/api/v1/session/mfa/enrol", 200, browser=True)
    code = pyotp.TOTP(enrolment["secret"]).at(hub.clock())
    confirmed = await call("POST", "/api/v1/session/mfa/confirm", 200, browser=True,
                           body={"code": code})
    await call("DELETE", "/api/v1/session", 200, browser=True)
    await call("POST", "/api/v1/session", 201, token=None, body=credentials)
    await call("POST", "/api/v1/session/mfa", 200, browser=True,
               body={"recovery_code": confirmed["recovery_codes"][0]})


async def test_user_answers_match_the_documented_schemas(hub: Hub) -> None:
    call = Caller(hub, await served(hub))
    org, _ = await hub.partner("Bay Tower", INSIDE)
    user = await join(call, org, "desk@baytower.example")
    listed = await call("GET", "/api/v1/users", 200)
    assert [u["id"] for u in listed] == [user["id"]]
    path = f"/api/v1/users/{user['id']}"
    await call("POST", "/api/v1/users/{id}/disable", 200, path=path + "/disable")
    await call("POST", "/api/v1/users/{id}/enable", 200, path=path + "/enable")


async def test_report_answers_match_the_documented_schemas(hub: Hub) -> None:
    call = Caller(hub, await served(hub))
    publisher = await hub.publisher()
    _, partner = await hub.partner("Bay Tower", INSIDE)
    _, neighbour = await hub.partner("Bay Annex", NEAR_INSIDE)
    alert = await hub.publish(publisher)
    reports = f"/api/v1/alerts/{alert['id']}/reports"
    report = await call("POST", "/api/v1/alerts/{id}/reports", 201, path=reports,
                        token=partner, form={"text": "Bag by the north doors", "lat": "43.6481",
                                             "lon": "-79.3805", "file": PNG})
    assert report["file"]["kind"] == MediaKind.PNG and "reporter" in report
    await call("GET", "/api/v1/alerts/{id}/reports", 200, path=reports, token=partner)
    await call("GET", "/api/v1/alerts/{id}/reports", 200, path=reports, token=publisher)
    one = f"/api/v1/reports/{report['id']}"
    await call("POST", "/api/v1/reports/{id}/share", 200, path=one + "/share", token=publisher)
    shared = await call("GET", "/api/v1/alerts/{id}/reports", 200, path=reports,
                        token=neighbour)
    assert [r["id"] for r in shared] == [report["id"]] and "reporter" not in shared[0]
    copy = await call("GET", "/api/v1/reports/{id}/file", 200, path=one + "/file",
                      token=neighbour)
    assert copy.startswith(b"\x89PNG")
    bare = await call("POST", "/api/v1/alerts/{id}/reports", 201, path=reports, token=partner,
                      form={"lat": "43.6481", "lon": "-79.3805"})
    assert bare["file"] is None and bare["text"] == ""


async def test_approval_answers_match_the_documented_schemas(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock) -> None:
    hub = Hub(await aiohttp_client(make_app(approval_for="TLP:RED")), clock)
    call = Caller(hub, await served(hub))
    police = await hub.organisation("Toronto Police Service", "police")
    publisher = await hub.token(police, "publisher")
    approver = await hub.token(police, "approver")
    held = await call("POST", "/api/v1/alerts", 201, token=publisher,
                      body=alert_body(tlp="TLP:RED"))
    assert (held["status"], held["seq"]) == (AlertStatus.PENDING, None)
    approve = f"/api/v1/alerts/{held['id']}/approve"
    sent = await call("POST", "/api/v1/alerts/{id}/approve", 200, path=approve, token=approver)
    assert sent["status"] == AlertStatus.PUBLISHED and sent["seq"] is not None
    await call("POST", "/api/v1/alerts/{id}/approve", 409, path=approve, token=approver)
    other = await call("POST", "/api/v1/alerts", 201, token=publisher,
                       body=alert_body(tlp="TLP:RED"))
    rejected = await call("POST", "/api/v1/alerts/{id}/reject", 200, token=approver,
                          path=f"/api/v1/alerts/{other['id']}/reject",
                          body={"note": "wrong intersection"})
    assert rejected["status"] == AlertStatus.REJECTED


async def test_subscription_answers_match_the_documented_schemas(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock,
        sink: Sink) -> None:
    hub = Hub(await aiohttp_client(make_app(smtp_url=f"smtp://127.0.0.1:{sink.port}")), clock)
    call = Caller(hub, await served(hub))
    await call("POST", "/api/v1/subscriptions", 202, token=None, body=HOME)
    secret = await sink.subscription_secret()
    await call("GET", "/api/v1/subscription", 401, token=secret)  # not confirmed yet
    await call("POST", "/api/v1/subscriptions/confirm", 200, token=None,
               body={"token": secret})
    await call("GET", "/api/v1/subscription", 200, token=secret)
    await call("GET", "/api/v1/alerts", 403, token=secret)  # a resident is not staff
    await call("DELETE", "/api/v1/subscription", 200, token=secret)


async def test_subscription_refusals_match_the_documented_schema(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock) -> None:
    hub = Hub(await aiohttp_client(make_app(smtp_url=None)), clock)
    call = Caller(hub, await served(hub))
    await call("POST", "/api/v1/subscriptions", 409, token=None, body=HOME)
    await call("POST", "/api/v1/subscriptions", 422, token=None, body={**HOME, "radius_m": 1})
    await call("POST", "/api/v1/subscriptions/confirm", 404, token=None,
               body={"token": "vgs_not-a-link"})


async def test_errors_match_the_documented_schema(hub: Hub) -> None:
    call = Caller(hub, await served(hub))
    org, partner = await hub.partner("Bay Tower", INSIDE)
    other = await hub.organisation("Yorkville Office")
    await call("GET", "/api/v1/alerts", 401, token=None)
    await call("GET", "/api/v1/alerts", 401, token="not-a-token")
    await call("GET", "/api/v1/alerts", 422, path="/api/v1/alerts?limit=0")
    await call("GET", "/api/v1/alerts/{id}", 404, path="/api/v1/alerts/nope")
    await call("POST", "/api/v1/alerts", 403, token=partner, body=alert_body())
    await call("POST", "/api/v1/alerts", 422, token=await hub.publisher(),
               body=alert_body(severity="Serious", severty="Severe"))
    await call("POST", "/api/v1/organisations", 403, token=partner,
               body={"name": "Mine", "kind": "corporate"})
    await call("POST", "/api/v1/organisations", 422, body={"name": "", "kind": "shop"})
    await call("GET", "/api/v1/organisations/{id}", 404, token=partner,
               path=f"/api/v1/organisations/{other}")
    await call("GET", "/api/v1/organisations/{id}/contacts", 403, token=partner,
               path=f"/api/v1/organisations/{org}/contacts")
    await call("POST", "/api/v1/tokens", 403, token=partner,
               body={"organisation_id": org, "role": "partner"})
    await call("POST", "/api/v1/tokens", 422, body={"organisation_id": org, "role": "root"})


async def test_upload_refusals_match_the_documented_schema(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock) -> None:
    hub = Hub(await aiohttp_client(make_app(upload_max_bytes=len(PNG) - 1)), clock)
    call = Caller(hub, await served(hub))
    publisher = await hub.publisher()
    _, partner = await hub.partner("Bay Tower", INSIDE)
    alert = await hub.publish(publisher)
    reports = f"/api/v1/alerts/{alert['id']}/reports"
    place = {"lat": "43.6481", "lon": "-79.3805"}
    for status, file in ((413, PNG), (415, b"GIF89a, not one of ours")):
        await call("POST", "/api/v1/alerts/{id}/reports", status, path=reports, token=partner,
                   form={**place, "file": file})
    await call("POST", "/api/v1/alerts/{id}/reports", 422, path=reports, token=partner,
               form={**place, "lat": "north", "file": PNG[:8]})
    assert await hub.call("GET", reports) == []


async def test_sign_in_refusals_match_the_documented_schema(hub: Hub) -> None:
    call = Caller(hub, await served(hub))
    email = "nobody@example.org"
    too_long = "p" * (spec_schemas.SIGN_IN_MAX_PASSWORD + 1)
    await call("POST", "/api/v1/session", 422, token=None,
               body={"email": email, "password": too_long})
    for _ in range(4):  # the account's free failures, then one that starts slowing it
        await call("POST", "/api/v1/session", 401, token=None,
                   body={"email": email, "password": too_long[1:]})
    await call("POST", "/api/v1/session", 429, token=None,
               body={"email": email, "password": PASSWORD})


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/api/v1/feed", {}, 400),
    ("/api/v1/feed?token=secret", {}, 400),
    ("/api/v1/feed", {"Origin": "https://evil.example"}, 403),
    ("/api/v1/feed", {"Authorization": "Bearer not-a-token"}, 401),
])
async def test_feed_refusals_match_the_documented_schema(
        hub: Hub, path: str, headers: dict[str, str], status: int) -> None:
    call = Caller(hub, await served(hub))
    await call("GET", "/api/v1/feed", status, path=path, token=None, headers=headers)



@dataclass(frozen=True)
class World:
    """What the limit checks send their requests about, and with whose credentials."""

    org: str
    alert: str
    partner: str
    publisher: str
    approver: str


@dataclass(frozen=True)
class Request:
    """A request without the field under test; `kind` is how its fields are sent (`json`,
    `data` for a urlencoded form, `params` for the query)."""

    method: str
    path: str
    token: str | None
    fields: dict[str, Any]
    kind: str = "json"


@dataclass(frozen=True)
class Limit:
    """A limit the document states (`schema`'s `field`, or a query parameter of the path
    `schema`) and the constant both it and the validator are meant to take."""

    schema: str
    field: str
    bound: int
    kind: str  # text, email, url, tag (a language tag) or number
    request: Callable[[World], Request]


def sized(kind: str, size: int) -> Any:
    """A value of `kind` that is valid in every way but its length (or, for a number, is
    `size` itself): so nothing but the limit can refuse it."""
    if kind == "number":
        return size
    if kind == "email":
        local = "a" * 64
        return f"{local}@{'d' * (size - len(local) - 5)}.org"
    if kind == "url":
        head = "json://127.0.0.1:9/"
        return head + "h" * (size - len(head))
    if kind == "tag":
        tag = "en"
        while len(tag) < size:
            tag += "-" + "a" * min(8, size - len(tag) - 1)
        assert LANGUAGE_TAG.fullmatch(tag) and len(tag) == size
        return tag
    return "x" * size


def admin(method: str, path: str, **fields: Any) -> Callable[[World], Request]:
    return lambda world: Request(method, path.format(**vars(world)), ADMIN_TOKEN, fields)


def anyone(path: str, **fields: Any) -> Callable[[World], Request]:
    return lambda world: Request("POST", path, None, fields)


CONTACTS = "/api/v1/organisations/{org}/contacts"
SITES = "/api/v1/organisations/{org}/sites"
# Each limit the document takes from a validator's constant.
LIMITS: dict[str, Limit] = {
    "organisation name": Limit("OrganisationCreate", "name", MAX_NAME, "text", admin(
        "POST", "/api/v1/organisations", kind="corporate")),
    "site latitude": Limit("SiteCreate", "lat", MAX_LAT, "number", admin(
        "POST", SITES, name="Dock", lon=0)),
    "site longitude": Limit("SiteCreate", "lon", MAX_LON, "number", admin(
        "POST", SITES, name="Dock", lat=0)),
    "contact email": Limit("ContactCreate", "email", MAX_ADDRESS, "email", admin(
        "POST", CONTACTS, name="Desk")),
    "contact chat URL": Limit("ContactCreate", "chat_url", MAX_URL, "url", admin(
        "POST", CONTACTS, name="Desk")),
    "contact language": Limit("ContactCreate", "language", MAX_LANGUAGE_TAG, "tag", admin(
        "POST", CONTACTS, name="Desk", email="desk@example.org")),
    "token organisation": Limit("TokenCreate", "organisation_id", MAX_ID, "text", admin(
        "POST", "/api/v1/tokens", role="partner")),
    "token label": Limit("TokenCreate", "label", MAX_LABEL, "text", lambda world: Request(
        "POST", "/api/v1/tokens", ADMIN_TOKEN, {"organisation_id": world.org,
                                                "role": "partner"})),
    "ack note": Limit("AckCreate", "note", acks.MAX_NOTE, "text", lambda world: Request(
        "POST", f"/api/v1/alerts/{world.alert}/acks", world.partner,
        {"status": "acknowledged"})),
    "cancel note": Limit("AlertCancel", "note", revisions.MAX_NOTE, "text", lambda world: Request(
        "POST", f"/api/v1/alerts/{world.alert}/cancel", world.publisher, {})),
    "reject note": Limit("AlertReject", "note", MAX_REJECT_NOTE, "text", lambda world: Request(
        "POST", f"/api/v1/alerts/{world.alert}/reject", world.approver, {})),
    "report text": Limit("ReportFields", "text", reports.MAX_TEXT, "text", lambda world: Request(
        "POST", f"/api/v1/alerts/{world.alert}/reports", world.partner,
        {"lat": "43.6481", "lon": "-79.3805"}, "data")),
    "invitation email": Limit("InvitationCreate", "email", MAX_EMAIL, "email", lambda world: (
        Request("POST", "/api/v1/invitations", ADMIN_TOKEN,
                {"organisation_id": world.org, "role": "partner"}))),
    "invitation secret": Limit("InvitationAccept", "token", MAX_SECRET, "text", anyone(
        "/api/v1/invitations/accept", name="Desk", password=PASSWORD)),
    "invited name": Limit("InvitationAccept", "name", MAX_NAME, "text", anyone(
        "/api/v1/invitations/accept", token="vgi_none", password=PASSWORD)),
    "sign-in email": Limit("SessionCreate", "email", MAX_EMAIL, "email", anyone(
        "/api/v1/session", password=PASSWORD)),
    "sign-in code": Limit("SessionCreate", "code", MAX_CODE, "text", anyone(
        "/api/v1/session", email="desk@example.org", password=PASSWORD)),
    "subscription email": Limit("SubscriptionCreate", "email", MAX_EMAIL, "email", anyone(
        "/api/v1/subscriptions", **HOME)),
    "subscription language": Limit("SubscriptionCreate", "language", MAX_LANGUAGE_TAG, "tag",
                                   anyone("/api/v1/subscriptions", **HOME)),
    "subscription secret": Limit("SubscriptionConfirm", "token", MAX_SECRET, "text", anyone(
        "/api/v1/subscriptions/confirm")),
    "tip text": Limit("TipFields", "text", tips.MAX_TEXT, "text", lambda world: Request(
        "POST", "/api/v1/tips", None, {}, "data")),
    "tip contact": Limit("TipFields", "contact", tips.MAX_CONTACT, "text", lambda world: Request(
        "POST", "/api/v1/tips", None, {"text": "A van with no plates"}, "data")),
    "evidence request title": Limit(
        "EvidenceRequestCreate", "title", evidence.MAX_TITLE, "text", lambda world: Request(
            "POST", "/api/v1/evidence-requests", world.publisher, {"description": "Seen?"})),
    "evidence request description": Limit(
        "EvidenceRequestCreate", "description", evidence.MAX_DESCRIPTION, "text",
        lambda world: Request("POST", "/api/v1/evidence-requests", world.publisher,
                              {"title": "Collision"})),
    "page size": Limit("/api/v1/alerts", "limit", MAX_PAGE, "number", lambda world: Request(
        "GET", "/api/v1/alerts", ADMIN_TOKEN, {}, "params")),
    "page start": Limit("/api/v1/alerts", "since", MAX_SINCE, "number", lambda world: Request(
        "GET", "/api/v1/alerts", ADMIN_TOKEN, {}, "params")),
}


def documented_bound(document: dict[str, Any], limit: Limit) -> Any:
    """The maxLength (or, for a number, maximum) the document gives the limit's field."""
    if limit.schema.startswith("/"):
        parameters = document["paths"][limit.schema]["get"]["parameters"]
        node = next(p["schema"] for p in parameters if p["name"] == limit.field)
    else:
        node = resolve(document, document["components"]["schemas"][limit.schema])
        node = node["properties"][limit.field]
    node = node["anyOf"][0] if "anyOf" in node else node
    return node["maximum" if limit.kind == "number" else "maxLength"]


async def refused(hub: Hub, world: World, limit: Limit, size: int) -> bool:
    """Whether the hub refuses the field at this size with a 422 naming it."""
    request = limit.request(world)
    value = sized(limit.kind, size)
    fields = {**request.fields, limit.field: str(value) if request.kind != "json" else value}
    response = await hub.client.request(
        request.method, request.path, headers=hub.auth(request.token) if request.token else {},
        **{request.kind: fields})
    answer = await response.json()
    return response.status == 422 and limit.field in answer["fields"]


@pytest.mark.parametrize("name", LIMITS)
async def test_each_documented_limit_is_the_validators(hub: Hub, name: str) -> None:
    # The document must state the constant, and the validator must refuse one past it and
    # take it: a validator that kept a literal of its own, or a document that did, fails.
    limit = LIMITS[name]
    assert documented_bound(await served(hub), limit) == limit.bound
    police = await hub.organisation("Toronto Police Service", "police")
    publisher = await hub.token(police, "publisher")
    org, partner = await hub.partner("Bay Tower", INSIDE)
    alert = (await hub.publish(publisher))["id"]
    world = World(org, alert, partner, publisher, await hub.token(police, "approver"))
    assert await refused(hub, world, limit, limit.bound + 1), f"{name}: one past is taken"
    assert not await refused(hub, world, limit, limit.bound), f"{name}: the limit is refused"


async def test_service_answers_match_the_documented_schemas(hub: Hub, tmp_path: Path) -> None:
    call = Caller(hub, await served(hub))
    agency = await hub.organisation("Peel Shelters", "agency")
    partner = await hub.token(agency, "partner")
    rows = tmp_path / "places.csv"
    rows.write_text("name,need,address,lat,lon,phone,hours,capacity,available,serves\n"
                    "Peel Shelter,shelter,1 Queen St,43.59,-79.64,905-555-0100,24/7,9,2,men\n"
                    "Peel Line,crisis_line,2 King St,43.60,-79.64,211,,,,\n")
    assert await import_path(hub.client.app[SESSIONS], rows, None, agency, hub.clock()) == 0
    found = await call("GET", "/api/v1/services/nearby", 200, token=partner,
                       path="/api/v1/services/nearby?lat=43.59&lon=-79.64&open_now=false")
    assert [place["name"] for place in found["places"]] == ["Peel Shelter", "Peel Line"]
    one = f"/api/v1/services/{found['places'][0]['id']}"
    await call("GET", "/api/v1/services/{id}", 200, path=one, token=partner)
    await call("POST", "/api/v1/services/{id}/capacity", 200, path=one + "/capacity",
               token=partner, body={"available": 3})
    await call("POST", "/api/v1/services/{id}/capacity", 422, path=one + "/capacity",
               token=partner, body={"available": 30})
    await call("GET", "/api/v1/services/nearby", 422, path="/api/v1/services/nearby?lat=x")
    listed = await call("GET", "/api/v1/hsds/services", 200, path="/api/v1/hsds/services"
                        "?page=1&per_page=1")
    await call("GET", "/api/v1/hsds/services/{id}", 200,
               path=f"/api/v1/hsds/services/{listed['contents'][0]['id']}")
    await call("GET", "/api/v1/hsds/services/{id}", 404, path="/api/v1/hsds/services/nope")


async def test_tip_answers_match_the_documented_schemas(hub: Hub) -> None:
    from tests.hub.tips_scene import OCTETS, TUS, police, video
    document = await served(hub)
    call = Caller(hub, document)
    scene = await police(hub)
    check(document, resolve(document, document["components"]["schemas"]["EvidenceRequest"]),
          scene.request)

    async def tip(template: str, path: str, status: int, fields: dict[str, str],
                  files: int = 0) -> Any:
        """A multipart tip: its `file` parts repeat, which the Caller's forms cannot say."""
        form = FormData(default_to_multipart=True)
        for name, value in fields.items():
            form.add_field(name, value)
        for _ in range(files):
            form.add_field("file", PNG, filename="photo.png")
        op = document["paths"][template]["post"]
        if status < 400:
            check(document, op["requestBody"]["content"]["multipart/form-data"]["schema"],
                  {**fields, "file": ["<bytes>"] * files} if files else fields)
        response = await hub.client.post(path, data=form)
        assert response.status == status, await response.text()
        answer = resolve(document, op["responses"][str(status)])
        data = await response.json()
        check(document, answer["content"]["application/json"]["schema"], data)
        return data

    receipt = await tip("/api/v1/tips", "/api/v1/tips", 201,
                        {"text": "Saw it", "evidence_request": scene.request["slug"]}, 2)
    await tip("/api/v1/tips/{receipt}/files", f"/api/v1/tips/{receipt['receipt']}/files", 201,
              {}, 1)
    await tip("/api/v1/tips", "/api/v1/tips", 201, {"text": "general"})
    await tip("/api/v1/tips", "/api/v1/tips", 422, {"colour": "red"})
    listed = await call("GET", "/api/v1/tips", 200, token=scene.publisher)
    one = f"/api/v1/tips/{listed[-1]['id']}"
    await call("GET", "/api/v1/tips/{id}", 200, path=one, token=scene.approver)
    await call("PATCH", "/api/v1/tips/{id}", 200, path=one, token=scene.publisher,
               body={"status": "relevant"})
    await call("GET", "/api/v1/tips/{id}/files/{file}", 200, token=scene.publisher,
               path=listed[-1]["files"][0]["url"])
    await call("GET", "/api/v1/evidence-requests", 200, token=scene.publisher)
    request = f"/api/v1/evidence-requests/{scene.request['id']}"
    await call("GET", "/api/v1/evidence-requests/{id}/bundle", 200, path=request + "/bundle",
               token=scene.publisher)
    await call("POST", "/api/v1/evidence-requests/{id}/close", 200, path=request + "/close",
               token=scene.publisher)
    await call("POST", "/api/v1/evidence-requests", 201, token=scene.publisher,
               body={"title": "Another", "description": "Seen anything?"})
    made = await call("POST", "/api/v1/tips/uploads", 201, token=None,
                      headers={**TUS, "Upload-Length": "5000"})
    # tus answers without a body: their status and headers, as documented.
    uploads = document["paths"]["/api/v1/tips/uploads/{id}"]
    clip = video(5000)
    for method, headers, status in (
            ("HEAD", TUS, 200), ("PATCH", {**OCTETS, "Upload-Offset": "0"}, 204),
            ("HEAD", {}, 412)):
        response = await hub.client.request(method, made["url"], headers=headers,
                                            data=clip if method == "PATCH" else None)
        assert response.status == status
        documented = uploads[method.lower()]["responses"][str(status)]
        for header in resolve(document, documented).get("headers", {}):
            assert header in response.headers, (method, header)
    options = await hub.client.options("/api/v1/tips/uploads")
    documented = document["paths"]["/api/v1/tips/uploads"]["options"]["responses"]["204"]
    assert options.status == 204 and set(documented["headers"]) <= set(options.headers)
