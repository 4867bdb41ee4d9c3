"""The access-control matrix: every endpoint and the feed, for every kind of caller.

A forbidden cell must be answered 401, 403 or 404, and nothing else; an allowed cell must
succeed. A route with no row here fails the test, so a new endpoint cannot skip the matrix.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hub.access import rule_of
from hub.directory import Need, ServicePlace, ServiceSchedule
from hub.http import SESSIONS
from partners.models import SubscriptionStatus
from partners.residents import SubscriptionDraft, subscribe
from tests.capdoc import cap_alert
from tests.conftest import ADMIN_TOKEN, INSIDE, PASSWORD, Clock, Hub, alert_body
from tests.hub.test_openapi import declared_routes

ADMIN, PUB, APR, A, B, RES, ANON = ("admin", "publisher", "approver", "partner_a",
                                    "partner_b", "resident", "anonymous")
EVERYONE = frozenset({ADMIN, PUB, APR, A, B, RES, ANON})
POLICE = frozenset({ADMIN, PUB, APR})
STAFF = POLICE | {A, B}
NOBODY: frozenset[str] = frozenset()
B_SITE = {"name": "King St Mall", "lat": 43.6470, "lon": -79.3820}  # inside, 170 m from A
_serial = itertools.count()


def unique_email() -> dict[str, str]:
    return {"email": f"person{next(_serial)}@bay.example"}


@dataclass
class Cell:
    """One endpoint called one way; `allowed` callers must succeed, all others be refused."""

    path: str  # with {placeholders} filled from the scene
    allowed: frozenset[str]
    json: Callable[[dict[str, str]], Any] | None = None
    form: dict[str, str] | None = None
    cap: bytes | None = None  # a CAP document to send as application/cap+xml
    public: bool = False  # anyone may call it: only "no 5xx" is checked
    label: str = ""


@dataclass
class Scene:
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str | None] = field(default_factory=dict)


def matrix() -> dict[tuple[str, str], list[Cell]]:
    org_body = {"name": "Matrix Org", "kind": "corporate", "sites": []}
    return {
        ("GET", "/api/v1/openapi.json"): [Cell("/api/v1/openapi.json", EVERYONE, public=True)],
        ("GET", "/healthz"): [Cell("/healthz", EVERYONE, public=True)],
        ("GET", "/readyz"): [Cell("/readyz", EVERYONE, public=True)],
        ("GET", "/metrics"): [Cell("/metrics", EVERYONE, public=True)],
        ("POST", "/api/v1/organisations"): [Cell(
            "/api/v1/organisations", frozenset({ADMIN}),
            json=lambda s: {**org_body, "name": f"Matrix Org {next(_serial)}"})],
        ("GET", "/api/v1/organisations"): [Cell("/api/v1/organisations", STAFF)],
        ("GET", "/api/v1/organisations/{id}"): [
            Cell("/api/v1/organisations/{org_a}", frozenset({ADMIN, A}))],
        ("POST", "/api/v1/organisations/{id}/contacts"): [Cell(
            "/api/v1/organisations/{org_a}/contacts", frozenset({ADMIN}),
            json=lambda s: {"name": "New Contact", **unique_email()})],
        ("GET", "/api/v1/organisations/{id}/contacts"): [
            Cell("/api/v1/organisations/{org_a}/contacts", frozenset({ADMIN}))],
        ("POST", "/api/v1/tokens"): [Cell("/api/v1/tokens", frozenset({ADMIN}), json=lambda s: {
            "organisation_id": s["org_a"], "role": "partner"})],
        ("POST", "/api/v1/tokens/{id}/revoke"): [
            Cell("/api/v1/tokens/{spare_token}/revoke", frozenset({ADMIN}))],
        ("POST", "/api/v1/invitations"): [Cell(
            "/api/v1/invitations", frozenset({ADMIN}),
            json=lambda s: {"organisation_id": s["org_a"], "role": "partner", **unique_email()})],
        ("POST", "/api/v1/invitations/accept"): [Cell(
            "/api/v1/invitations/accept", EVERYONE, public=True,
            json=lambda s: {"token": "no-such-invitation", "name": "X", "password": PASSWORD})],
        ("GET", "/api/v1/users"): [Cell("/api/v1/users", frozenset({ADMIN}))],
        ("POST", "/api/v1/users/{id}/disable"): [
            Cell("/api/v1/users/{user_a}/disable", frozenset({ADMIN}))],
        ("POST", "/api/v1/users/{id}/enable"): [
            Cell("/api/v1/users/{user_a}/enable", frozenset({ADMIN}))],
        ("POST", "/api/v1/session"): [Cell("/api/v1/session", EVERYONE, public=True,
                                           json=lambda s: {"email": "x@y.example",
                                                           "password": "wrong"})],
        ("GET", "/api/v1/session"): [Cell("/api/v1/session", NOBODY)],
        ("DELETE", "/api/v1/session"): [Cell("/api/v1/session", NOBODY)],
        ("POST", "/api/v1/session/mfa"): [Cell("/api/v1/session/mfa", NOBODY,
                                               json=lambda s: {"code": "123456"})],
        ("POST", "/api/v1/session/mfa/enrol"): [Cell("/api/v1/session/mfa/enrol", NOBODY)],
        ("POST", "/api/v1/session/mfa/confirm"): [Cell("/api/v1/session/mfa/confirm", NOBODY,
                                                       json=lambda s: {"code": "123456"})],
        ("POST", "/api/v1/alerts"): [Cell("/api/v1/alerts", frozenset({PUB}),
                                          json=lambda s: alert_body())],
        ("GET", "/api/v1/alerts"): [Cell("/api/v1/alerts", STAFF)],
        ("GET", "/api/v1/alerts/{id}"): [
            Cell("/api/v1/alerts/{alert}", STAFF, label="TLP:GREEN to A and B"),
            Cell("/api/v1/alerts/{strict}", POLICE | {A}, label="TLP:AMBER+STRICT to A"),
            Cell("/api/v1/alerts/{red}", POLICE, label="TLP:RED to one of A's people"),
            Cell("/api/v1/alerts/{pending}", POLICE, label="waiting for approval")],
        ("GET", "/api/v1/alerts/{id}/cap"): [
            Cell("/api/v1/alerts/{alert}/cap", STAFF, label="TLP:GREEN to A and B"),
            Cell("/api/v1/alerts/{strict}/cap", POLICE | {A}, label="TLP:AMBER+STRICT to A"),
            Cell("/api/v1/alerts/{red}/cap", POLICE, label="TLP:RED to one of A's people"),
            Cell("/api/v1/alerts/{pending}/cap", POLICE, label="waiting for approval")],
        ("POST", "/api/v1/cap"): [Cell("/api/v1/cap", frozenset({PUB}), cap=cap_alert())],
        ("POST", "/api/v1/alerts/{id}/update"): [Cell(
            "/api/v1/alerts/{spare}/update", frozenset({PUB}),
            json=lambda s: {"headline": "Updated"})],
        ("POST", "/api/v1/alerts/{id}/cancel"): [
            Cell("/api/v1/alerts/{spare}/cancel", frozenset({PUB}), json=lambda s: {})],
        ("POST", "/api/v1/alerts/{id}/approve"): [
            Cell("/api/v1/alerts/{pending}/approve", frozenset({APR}))],
        ("POST", "/api/v1/alerts/{id}/reject"): [
            Cell("/api/v1/alerts/{pending2}/reject", frozenset({APR}), json=lambda s: {})],
        ("POST", "/api/v1/alerts/{id}/withdraw"): [
            Cell("/api/v1/alerts/{pending3}/withdraw", frozenset({PUB}))],
        ("POST", "/api/v1/alerts/{id}/acks"): [
            Cell("/api/v1/alerts/{alert}/acks", frozenset({A, B}),
                 json=lambda s: {"status": "acknowledged"}),
            Cell("/api/v1/alerts/{red}/acks", NOBODY, json=lambda s: {"status": "received"})],
        ("GET", "/api/v1/alerts/{id}/acks"): [Cell("/api/v1/alerts/{alert}/acks", STAFF),
                                              Cell("/api/v1/alerts/{red}/acks", POLICE)],
        ("GET", "/api/v1/alerts/{id}/chain"): [
            Cell("/api/v1/alerts/{alert}/chain", STAFF),
            Cell("/api/v1/alerts/{strict}/chain", POLICE | {A})],
        ("GET", "/api/v1/alerts/{id}/deliveries"): [
            Cell("/api/v1/alerts/{alert}/deliveries", STAFF),
            Cell("/api/v1/alerts/{strict}/deliveries", POLICE | {A})],
        ("POST", "/api/v1/alerts/{id}/reports"): [
            Cell("/api/v1/alerts/{alert}/reports", frozenset({A, B}),
                 form={"text": "Seen", "lat": "43.648", "lon": "-79.38"}),
            Cell("/api/v1/alerts/{strict}/reports", frozenset({A}),
                 form={"text": "Seen", "lat": "43.648", "lon": "-79.38"})],
        ("GET", "/api/v1/alerts/{id}/reports"): [
            Cell("/api/v1/alerts/{alert}/reports", STAFF)],
        ("GET", "/api/v1/alerts/{id}/attachments/{n}"): [
            Cell("/api/v1/alerts/{attached}/attachments/0", STAFF)],
        ("GET", "/api/v1/reports/{id}/file"): [
            Cell("/api/v1/reports/{report_a}/file", POLICE | {A}, label="before sharing")],
        ("GET", "/api/v1/reports/{id}/files/{file}"): [
            Cell("/api/v1/reports/{report_a}/files/{report_a_file}", POLICE | {A},
                 label="before sharing")],
        ("POST", "/api/v1/reports/{id}/share"): [
            Cell("/api/v1/reports/{report_a}/share", frozenset({PUB}))],
        ("POST", "/api/v1/reports"): [
            Cell("/api/v1/reports", frozenset({A, B}),
                 form={"text": "Seen", "lat": "43.648", "lon": "-79.38"})],
        ("GET", "/api/v1/reports"): [Cell("/api/v1/reports", STAFF)],
        ("PATCH", "/api/v1/reports/{id}"): [
            Cell("/api/v1/reports/{report_a}", POLICE,
                 json=lambda ids: {"status": "reviewed"}),
            Cell("/api/v1/reports/{report_alone}", POLICE,
                 json=lambda ids: {"status": "reviewed"}, label="on no alert")],
        ("POST", "/api/v1/reports/{id}/forward"): [
            Cell("/api/v1/reports/{report_a}/forward", frozenset({PUB}),
                 json=lambda ids: {"organisation_ids": [ids["org_b"]]})],
        ("POST", "/api/v1/subscriptions"): [Cell(
            "/api/v1/subscriptions", EVERYONE, public=True,
            json=lambda s: {**unique_email(), "lat": 43.65, "lon": -79.38, "radius_m": 500})],
        ("POST", "/api/v1/subscriptions/confirm"): [Cell(
            "/api/v1/subscriptions/confirm", EVERYONE, public=True,
            json=lambda s: {"token": "vgs_no-such-link"})],
        ("GET", "/api/v1/subscription"): [Cell("/api/v1/subscription", frozenset({RES}))],
        ("DELETE", "/api/v1/subscription"): [Cell("/api/v1/subscription", frozenset({RES}))],
        ("GET", "/login"): [Cell("/login", EVERYONE, public=True)],
        ("POST", "/login"): [Cell("/login", EVERYONE, public=True,
                                  form={"email": "x@y.example", "password": "wrong"})],
        ("GET", "/login/mfa"): [Cell("/login/mfa", NOBODY)],
        ("POST", "/login/mfa"): [Cell("/login/mfa", NOBODY, form={"code": "123456"})],
        ("GET", "/account/mfa"): [Cell("/account/mfa", NOBODY)],
        ("POST", "/account/mfa"): [Cell("/account/mfa", NOBODY, form={"code": "123456"})],
        ("POST", "/logout"): [Cell("/logout", NOBODY, form={})],
        ("GET", "/account"): [Cell("/account", NOBODY)],
        ("GET", "/subscribe/confirm/{token}"): [
            Cell("/subscribe/confirm/vgs_no-such-link", EVERYONE, public=True)],
        ("POST", "/subscribe/confirm/{token}"): [
            Cell("/subscribe/confirm/vgs_no-such-link", EVERYONE, public=True, form={})],
        ("GET", "/invite/{token}"): [Cell("/invite/no-such-invitation", EVERYONE, public=True)],
        ("POST", "/invite/{token}"): [Cell("/invite/no-such-invitation", EVERYONE, public=True,
                                           form={"name": "X", "password": PASSWORD})],
        ("GET", "/static/{path}"): [Cell("/static/vigil.css", EVERYONE, public=True)],
        ("POST", "/api/v1/alerts/preview"): [
            Cell("/api/v1/alerts/preview", frozenset({PUB}), json=lambda s: alert_body())],
        ("GET", "/api/v1/areas"): [Cell("/api/v1/areas", STAFF)],
        ("GET", "/api/v1/sites"): [Cell("/api/v1/sites", frozenset({PUB}))],
        # Pages need a signed-in browser: every API token is refused (test_*_page tests
        # cover each role's browser).
        ("GET", "/"): [Cell("/", NOBODY)],
        ("GET", "/alerts/{id}"): [Cell("/alerts/{alert}", NOBODY)],
        ("GET", "/approvals"): [Cell("/approvals", NOBODY)],
        ("GET", "/reports"): [Cell("/reports", NOBODY)],
        ("GET", "/desk"): [Cell("/desk", NOBODY)],
        ("GET", "/organisation"): [Cell("/organisation", NOBODY)],
        ("GET", "/organisations/{id}"): [Cell("/organisations/{org_a}", NOBODY)],
        ("POST", "/api/v1/organisations/{id}/sites"): [Cell(
            "/api/v1/organisations/{org_a}/sites", frozenset({ADMIN}),
            json=lambda s: {"name": "Matrix site", "lat": 43.70, "lon": -79.40})],
        ("DELETE", "/api/v1/sites/{id}"): [Cell("/api/v1/sites/{spare_site}", frozenset({ADMIN}))],
        ("PATCH", "/api/v1/contacts/{id}"): [Cell(
            "/api/v1/contacts/{spare_contact}", frozenset({ADMIN}),
            json=lambda s: {"tier": "primary"})],
        ("DELETE", "/api/v1/contacts/{id}"): [
            Cell("/api/v1/contacts/{unused_contact}", frozenset({ADMIN}))],
        ("GET", "/api/v1/organisations/{id}/tokens"): [
            Cell("/api/v1/organisations/{org_a}/tokens", frozenset({ADMIN}))],
        ("GET", "/subscribe"): [Cell("/subscribe", EVERYONE, public=True)],
        ("POST", "/subscribe"): [Cell("/subscribe", EVERYONE, public=True, form={
            "email": "x@y.example", "lat": "43.648", "lon": "-79.38", "radius_m": "500"})],
        ("GET", "/subscribe/manage/{token}"): [
            Cell("/subscribe/manage/vgs_no-such-link", EVERYONE, public=True)],
        ("POST", "/subscribe/manage/{token}"): [Cell(
            "/subscribe/manage/vgs_no-such-link", EVERYONE, public=True,
            form={"action": "cancel"})],
        ("GET", "/unsubscribe/{token}"): [
            Cell("/unsubscribe/u_nothing.00", EVERYONE, public=True)],
        ("POST", "/unsubscribe/{token}"): [Cell("/unsubscribe/u_nothing.00", EVERYONE,
                                                public=True,
                                                form={"List-Unsubscribe": "One-Click"})],
        ("GET", "/public"): [Cell("/public", EVERYONE, public=True)],
        ("GET", "/feeds/alerts.atom"): [Cell("/feeds/alerts.atom", EVERYONE, public=True)],
        # The services directory: staff find places; the agency that runs one (A's
        # organisation here) and hub admins update its count.
        ("GET", "/api/v1/services/nearby"): [
            Cell("/api/v1/services/nearby?lat=43.6481&lon=-79.3805&need=shelter", STAFF)],
        ("GET", "/api/v1/services/{id}"): [Cell("/api/v1/services/{place}", STAFF)],
        ("POST", "/api/v1/services/{id}/capacity"): [Cell(
            "/api/v1/services/{place}/capacity", frozenset({ADMIN, A}),
            json=lambda s: {"available": 4})],
        ("GET", "/api/v1/hsds/services"): [Cell("/api/v1/hsds/services", STAFF)],
        ("GET", "/api/v1/hsds/services/{id}"): [
            Cell("/api/v1/hsds/services/{place_hsds}", STAFF)],
        ("GET", "/services"): [Cell("/services", NOBODY)],
        ("GET", "/services/capacity"): [Cell("/services/capacity", NOBODY)],
        ("POST", "/services/capacity/{id}"): [
            Cell("/services/capacity/{place}", NOBODY, form={"available": "3"})],
        ("POST", "/api/v1/tips"): [Cell("/api/v1/tips", EVERYONE, public=True,
                                        form={"text": "A van idling by the school"})],
        ("POST", "/api/v1/tips/{receipt}/files"): [
            Cell("/api/v1/tips/{receipt}/files", EVERYONE, public=True, form={})],
        ("OPTIONS", "/api/v1/tips/uploads"): [
            Cell("/api/v1/tips/uploads", EVERYONE, public=True)],
        ("POST", "/api/v1/tips/uploads"): [Cell("/api/v1/tips/uploads", EVERYONE, public=True)],
        ("HEAD", "/api/v1/tips/uploads/{id}"): [
            Cell("/api/v1/tips/uploads/{upload}", EVERYONE, public=True)],
        ("PATCH", "/api/v1/tips/uploads/{id}"): [
            Cell("/api/v1/tips/uploads/{upload}", EVERYONE, public=True, form={})],
        # Tips are for police only: hub admins, police publishers and approvers.
        ("GET", "/api/v1/tips"): [Cell("/api/v1/tips", POLICE)],
        ("GET", "/api/v1/tips/{id}"): [Cell("/api/v1/tips/{tip}", POLICE)],
        ("PATCH", "/api/v1/tips/{id}"): [Cell("/api/v1/tips/{tip}", POLICE,
                                              json=lambda s: {"status": "relevant"})],
        ("GET", "/api/v1/tips/{id}/files/{file}"): [
            Cell("/api/v1/tips/{tip}/files/{tip_file}", POLICE)],
        ("POST", "/api/v1/evidence-requests"): [Cell(
            "/api/v1/evidence-requests", frozenset({PUB}),
            json=lambda s: {"title": "Matrix appeal", "description": "Seen anything?"})],
        ("GET", "/api/v1/evidence-requests"): [Cell("/api/v1/evidence-requests", POLICE)],
        ("POST", "/api/v1/evidence-requests/{id}/close"): [
            Cell("/api/v1/evidence-requests/{appeal}/close", frozenset({ADMIN, PUB}))],
        ("GET", "/api/v1/evidence-requests/{id}/bundle"): [
            Cell("/api/v1/evidence-requests/{appeal}/bundle", POLICE)],
        ("GET", "/tips"): [Cell("/tips", EVERYONE, public=True)],
        ("GET", "/tips/{slug}"): [Cell("/tips/{appeal_slug}", EVERYONE, public=True)],
        ("GET", "/evidence"): [Cell("/evidence", NOBODY)],
        ("GET", "/evidence/{id}"): [Cell("/evidence/{appeal}", NOBODY)],
        ("GET", "/feeds/alerts/{id}.cap"): [
            Cell("/feeds/alerts/{clear}.cap", EVERYONE, public=True, label="TLP:CLEAR"),
            Cell("/feeds/alerts/{alert}.cap", NOBODY, label="TLP:GREEN is not public")],
    }


@pytest.fixture
async def hub(aiohttp_client: Any, make_app: Callable[..., web.Application],
              clock: Clock) -> Hub:
    return Hub(await aiohttp_client(make_app(approval_for="Extreme")), clock)


async def build(hub: Hub) -> Scene:
    scene = Scene()
    police = await hub.organisation("Toronto Police Service", "police")
    org_a, partner_a = await hub.partner("Bay Tower Security", INSIDE)
    org_b, partner_b = await hub.partner("King Street Mall", B_SITE)
    named = await hub.contact(org_a, "Ana Lima", email="ana@bay.example")
    publisher = await hub.token(police, "publisher")
    scene.tokens = {ADMIN: ADMIN_TOKEN, PUB: publisher,
                    APR: await hub.token(police, "approver"), A: partner_a, B: partner_b,
                    RES: await resident(hub), ANON: None}
    near_a = {"circle": {"lat": INSIDE["lat"], "lon": INSIDE["lon"], "radius_m": 50}}
    ids = scene.ids
    spare = await hub.call("POST", "/api/v1/tokens", expect=201,
                           json={"organisation_id": org_a, "role": "partner"})
    ids.update(org_a=org_a, org_b=org_b, spare_token=spare["id"],
               user_a=await hub.person(org_a, "partner", "desk@bay.example", named))
    ids["alert"] = (await hub.publish(publisher))["id"]
    ids["spare"] = (await hub.publish(publisher))["id"]
    ids["strict"] = (await hub.publish(publisher, tlp="TLP:AMBER+STRICT", area=near_a))["id"]
    ids["red"] = (await hub.publish(publisher, tlp="TLP:RED"))["id"]
    ids["clear"] = (await hub.publish(publisher, tlp="TLP:CLEAR"))["id"]
    ids["pending"] = (await hub.publish(publisher, severity="Extreme"))["id"]
    ids["pending2"] = (await hub.publish(publisher, severity="Extreme"))["id"]
    ids["pending3"] = (await hub.publish(publisher, severity="Extreme"))["id"]
    data = aiohttp.FormData()
    for name, value in (("text", "Bag"), ("lat", "43.6481"), ("lon", "-79.3805")):
        data.add_field(name, value)
    data.add_field("file", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="p.png")
    report = await hub.call("POST", f"/api/v1/alerts/{ids['alert']}/reports", partner_a,
                            expect=201, data=data)
    ids["report_a"] = report["id"]
    ids["report_a_file"] = report["files"][0]["id"]
    alone = await hub.call("POST", "/api/v1/reports", partner_a, expect=201,
                           data={"text": "Van", "lat": "43.6481", "lon": "-79.3805"})
    ids["report_alone"] = alone["id"]
    ids["attached"] = (await hub.call(
        "POST", f"/api/v1/alerts/{ids['alert']}/update", publisher, expect=201,
        json={"attach": [ids["report_a_file"]]}))["id"]
    ids["spare_site"] = (await hub.call("POST", f"/api/v1/organisations/{org_a}/sites",
                                        expect=201, json={"name": "Spare site", "lat": 43.70,
                                                          "lon": -79.40}))["id"]
    await tips_of(hub, publisher, ids)
    ids["spare_contact"] = await hub.contact(org_a, "Spare Contact", tier="secondary")
    ids["unused_contact"] = await hub.contact(org_a, "Unused Contact", tier="secondary")
    ids["place"] = await shelter(hub, org_a)
    ids["place_hsds"] = str(uuid.UUID(hex=ids["place"]))
    return scene


async def shelter(hub: Hub, organisation_id: str) -> str:
    """A shelter the organisation runs, with beds free, near the other sites."""
    async with hub.client.app[SESSIONS]() as session:
        place = ServicePlace(name="Bay St Shelter", need=Need.SHELTER, lat=43.6483,
                             lon=-79.3807, hours="24/7", capacity=10, available=5,
                             capacity_updated_at=hub.clock(), organisation_id=organisation_id)
        session.add(place)
        session.add(ServiceSchedule(place_id=place.id, byday="MO,TU,WE,TH,FR,SA,SU",
                                    opens_at=0, closes_at=24 * 60))
        await session.commit()
        return place.id


async def tips_of(hub: Hub, publisher: str, ids: dict[str, str]) -> None:
    """An open evidence request with a tip and its photo, and an upload under way."""
    appeal = await hub.call("POST", "/api/v1/evidence-requests", publisher, expect=201,
                            json={"title": "Matrix collision", "description": "Seen it?"})
    form = aiohttp.FormData()
    form.add_field("text", "Saw the collision")
    form.add_field("evidence_request", appeal["slug"])
    form.add_field("file", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="p.png")
    sent = await hub.client.post("/api/v1/tips", data=form)
    assert sent.status == 201, await sent.text()
    tip = (await hub.call("GET", "/api/v1/tips", publisher, expect=200))[0]
    made = await hub.client.post("/api/v1/tips/uploads", headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": "100"})
    ids.update(appeal=appeal["id"], appeal_slug=appeal["slug"], tip=tip["id"],
               tip_file=tip["files"][0]["id"], receipt=(await sent.json())["receipt"],
               upload=made.headers["Location"].rsplit("/", 1)[-1])


async def resident(hub: Hub) -> str:
    """A resident's confirmed subscription link (the email round trip has its own test)."""
    async with hub.client.app[SESSIONS]() as session:
        row, secret = await subscribe(session, SubscriptionDraft(
            "sam@resident.example", 43.648, -79.38, 500), hub.clock())
        row.status = SubscriptionStatus.ACTIVE
        await session.commit()
    return secret


async def call(hub: Hub, method: str, cell: Cell, scene: Scene, who: str) -> int:
    token = scene.tokens[who]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {}
    if cell.json is not None:
        kwargs["json"] = cell.json(scene.ids)
    elif cell.form is not None:
        kwargs["data"] = cell.form
    elif cell.cap is not None:
        kwargs["data"] = cell.cap
        headers["Content-Type"] = "application/cap+xml"
    response = await hub.client.request(method, cell.path.format(**scene.ids),
                                        headers=headers, allow_redirects=False, **kwargs)
    await response.read()
    hub.client.session.cookie_jar.clear()
    if response.status == 303 and response.headers["Location"].split("?")[0] == "/login":
        return 401  # a page sends a stranger to sign in: refused until they do
    return response.status


async def test_every_route_has_a_row(hub: Hub) -> None:
    routes = {(route.method, route.resource.canonical)
              for route in declared_routes(hub.client.app)}
    assert routes - {("GET", "/api/v1/feed")} == set(matrix())


async def test_every_route_declares_its_rule_beside_it(hub: Hub) -> None:
    # Deny by default: a handler without `@allow` is refused by the guard, whatever its name.
    undeclared = [route.resource.canonical for route in hub.client.app.router.routes()
                  if route.resource is not None and rule_of(route.handler) is None]
    assert undeclared == []


async def test_a_route_without_a_rule_is_refused(aiohttp_client: Any, make_app: Any) -> None:
    app = make_app()
    extra = web.RouteTableDef()

    @extra.get("/api/v1/undeclared")
    async def undeclared(request: web.Request) -> web.Response:
        return web.json_response({"reached": True})

    app.router.add_routes(extra)
    client = await aiohttp_client(app)
    answer = await client.get("/api/v1/undeclared",
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status == 403
    assert (await answer.json())["detail"] == "no access rule covers this endpoint"


async def test_access_control_matrix(hub: Hub) -> None:
    scene = await build(hub)
    wrong: list[str] = []
    for (method, _), cells in matrix().items():
        for cell in cells:
            # The refused callers first, so state changes by allowed ones come last.
            for who in sorted(EVERYONE, key=lambda w: (w in cell.allowed, w)):
                status = await call(hub, method, cell, scene, who)
                allowed = who in cell.allowed
                if status >= 500 or (not cell.public and (
                        (allowed and status >= 400)
                        or (not allowed and status not in (401, 403, 404)))):
                    verdict = "allowed" if allowed else "forbidden"
                    wrong.append(f"{method} {cell.path} {cell.label} as {who}: {status} "
                                 f"({verdict})")
    assert wrong == []


async def frames(ws: aiohttp.ClientWebSocketResponse) -> set[str] | None:
    """The ids of every alert replayed, or None when the feed refused the caller."""
    ids: set[str] = set()
    while True:
        try:
            message = await ws.receive(timeout=0.5)
        except TimeoutError:
            return ids  # the replay is over
        if message.type != aiohttp.WSMsgType.TEXT:
            return None
        frame = message.json()
        if frame["type"] == "error":
            return None
        if frame["type"] == "replayed":
            continue
        ids.add(frame["alert"]["id"])


async def test_feed_matrix(hub: Hub) -> None:
    """Staff connect and see only what their TLP audience allows; residents and strangers
    are refused."""
    scene = await build(hub)
    url = str(hub.client.make_url("/api/v1/feed"))
    seen: dict[str, set[str]] = {}
    async with aiohttp.ClientSession() as http:
        for who, token in scene.tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            try:
                async with http.ws_connect(url, headers=headers) as ws:
                    await ws.send_json({"type": "resume", "since": 0})
                    replayed = await frames(ws)
            except aiohttp.WSServerHandshakeError as error:
                assert error.status in (401, 403), (who, error.status)
                continue
            if replayed is not None:
                seen[who] = replayed
    ids = scene.ids
    assert set(seen) == STAFF
    assert {ids["alert"], ids["strict"], ids["red"]} <= seen[PUB]
    assert ids["strict"] in seen[A] and ids["red"] not in seen[A]
    assert not {ids["strict"], ids["red"]} & seen[B]
    assert ids["pending"] not in seen[A] | seen[B]


async def test_objects_of_one_partner_stay_hidden_from_another(hub: Hub) -> None:
    scene = await build(hub)
    a, b, ids = scene.tokens[A], scene.tokens[B], scene.ids
    assert a and b
    await hub.call("POST", f"/api/v1/alerts/{ids['alert']}/acks", a, expect=201,
                   json={"status": "need_help", "note": "Our lobby is blocked"})
    assert await hub.call("GET", f"/api/v1/alerts/{ids['alert']}/acks", b, expect=200) == []
    rows = await hub.call("GET", f"/api/v1/alerts/{ids['alert']}/deliveries", b, expect=200)
    assert rows and {r["organisation_id"] for r in rows} == {
        r["organisation_id"] for r in rows if r["organisation_id"] != ids["org_a"]}
    assert await hub.call("GET", f"/api/v1/alerts/{ids['alert']}/reports", b, expect=200) == []
    await hub.call("GET", f"/api/v1/organisations/{ids['org_a']}/contacts", b, expect=403)
    mine = await hub.call("GET", "/api/v1/organisations", b, expect=200)
    assert ids["org_a"] not in {o["id"] for o in mine}
    police = await hub.call("GET", f"/api/v1/alerts/{ids['alert']}/acks", scene.tokens[PUB]
                            or "", expect=200)
    assert [ack["status"] for ack in police] == ["need_help"]
