"""The OpenAPI document: served, complete against the router, and in step with the code."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from aiohttp import FormData, web
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from hub.alerts import FIELDS
from hub.api import alerts as alerts_api
from hub.api import feed as feed_api
from hub.api import reports as reports_api
from hub.api import spec, spec_operations, spec_schemas
from hub.cap import Category, Certainty, Severity, Urgency
from hub.directory import Need
from hub.feed import FRAME_TYPES
from hub.http import SESSIONS
from hub.login import Step
from hub.media import MediaKind
from hub.models import AckStatus, AlertStatus, DeliveryStatus, MsgType
from hub.services_import import import_path
from hub.tlp import Tlp
from partners.models import STAFF_ROLES, OrgKind, Role, SubscriptionStatus, Tier
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
]
# A valid 1x1 PNG: signature, IHDR, one IDAT row, IEND.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082")
NEAR_INSIDE = {"name": "Bay St annex", "lat": 43.6482, "lon": -79.3804}
HOME = {"email": "sam@resident.example", "lat": 43.6481, "lon": -79.3805, "radius_m": 500}


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
    assert document == spec.openapi_document()


def in_api(path: str) -> bool:
    """The JSON API the document covers; the HTML pages are not part of it."""
    return path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics")


async def test_every_route_is_documented_and_nothing_else(hub: Hub) -> None:
    handlers = {(route.method, route.resource.canonical): route.handler
                for route in hub.client.app.router.routes()
                if route.method != "HEAD" and route.resource is not None}
    documented = {key: op["operationId"] for key, op in operations(await served(hub)).items()}
    assert documented == {key: handler.__name__ for key, handler in handlers.items()
                          if in_api(key[1])}


def test_path_parameters_match_the_path_templates() -> None:
    document = spec.openapi_document()
    for path, item in document["paths"].items():
        declared = [resolve(document, p) for p in item.get("parameters", [])]
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            params = declared + [resolve(document, p) for p in op.get("parameters", [])]
            names = {p["name"] for p in params if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_enums_equal_the_code_enums() -> None:
    document = spec.openapi_document()
    schemas = document["components"]["schemas"]
    for name, field, kind in ENUM_FIELDS:
        documented = resolve(document, schemas[name]["properties"][field])
        assert documented["enum"] == [member.value for member in kind], (name, field)


def test_alert_fields_and_limits_match_the_code() -> None:
    schemas = spec.openapi_document()["components"]["schemas"]
    assert set(schemas["AlertCreate"]["properties"]) == set(FIELDS)
    assert spec_operations.MAX_PAGE == alerts_api.MAX_PAGE
    assert spec_schemas.REPORT_MAX_TEXT == reports_api.MAX_TEXT
    assert spec.FEED_AUTH_TIMEOUT_S == feed_api.AUTH_TIMEOUT_S
    assert spec.FEED_RESUME_GRACE_S == feed_api.RESUME_GRACE_S
    assert spec.FEED_MAX_MESSAGE == feed_api.MAX_MESSAGE
    assert {kind.value: kind.value.lower() for kind in MsgType} == FRAME_TYPES


def test_document_is_valid_openapi() -> None:
    validate(spec.openapi_document())


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
                fields = {k: v if isinstance(v, str) else "<bytes>" for k, v in form.items()}
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
