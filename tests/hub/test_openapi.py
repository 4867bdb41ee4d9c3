"""The OpenAPI document: served, complete against the router, and in step with the code."""

from __future__ import annotations

import enum
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from hub.alerts import FIELDS, Category, Certainty, Severity, Urgency
from hub.api import alerts as alerts_api
from hub.api import feed as feed_api
from hub.api import spec
from hub.feed import FRAME_TYPES
from hub.models import AckStatus, AlertStatus, DeliveryStatus, MsgType
from hub.tlp import Tlp
from partners.models import OrgKind, Role, Tier
from tests.conftest import ADMIN_TOKEN, INSIDE, Hub, alert_body

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
# (schema, property, the code's enum): what each documented field must accept, exactly.
ENUM_FIELDS: list[tuple[str, str, type[enum.StrEnum]]] = [
    ("AlertCreate", "category", Category), ("AlertCreate", "severity", Severity),
    ("AlertCreate", "urgency", Urgency), ("AlertCreate", "certainty", Certainty),
    ("AlertCreate", "tlp", Tlp), ("Alert", "tlp", Tlp), ("Alert", "status", AlertStatus),
    ("Alert", "msg_type", MsgType), ("AlertCreated", "status", AlertStatus),
    ("OrganisationCreate", "kind", OrgKind), ("Organisation", "kind", OrgKind),
    ("ContactCreate", "tier", Tier), ("Contact", "tier", Tier),
    ("TokenCreate", "role", Role), ("TokenIssued", "role", Role),
    ("AckCreate", "status", AckStatus), ("Ack", "status", AckStatus),
    ("Delivery", "status", DeliveryStatus),
]


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


async def test_every_route_is_documented_and_nothing_else(hub: Hub) -> None:
    routes = {(route.method, route.resource.canonical): route.handler.__name__
              for route in hub.client.app.router.routes()
              if route.method != "HEAD" and route.resource is not None}
    documented = {key: op["operationId"] for key, op in operations(await served(hub)).items()}
    assert documented == routes


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
    assert spec.MAX_PAGE == alerts_api.MAX_PAGE
    assert spec.FEED_AUTH_TIMEOUT_S == feed_api.AUTH_TIMEOUT_S
    assert spec.FEED_RESUME_GRACE_S == feed_api.RESUME_GRACE_S
    assert spec.FEED_MAX_MESSAGE == feed_api.MAX_MESSAGE
    assert {kind.value: kind.value.lower() for kind in MsgType} == FRAME_TYPES


def test_document_is_valid_openapi() -> None:
    validate(spec.openapi_document())


class Caller:
    """Calls the API and checks each request and answer against what the document says."""

    def __init__(self, hub: Hub, document: dict[str, Any]) -> None:
        self.hub, self.document = hub, document

    async def __call__(self, method: str, template: str, status: int, *, path: str = "",
                       token: str | None = ADMIN_TOKEN, body: Any = None,
                       headers: dict[str, str] | None = None) -> Any:
        op = self.document["paths"][template][method.lower()]
        if body is not None and status < 400:  # refusals are tested with bad bodies on purpose
            check(self.document, op["requestBody"]["content"]["application/json"]["schema"],
                  body)
        sent = {**(headers or {}), **(self.hub.auth(token) if token else {})}
        response = await self.hub.client.request(method, path or template, json=body,
                                                 headers=sent)
        data = await response.json()
        assert response.status == status, (method, path or template, data)
        assert str(status) in op["responses"], (method, template, status)
        answer = resolve(self.document, op["responses"][str(status)])
        check(self.document, answer["content"]["application/json"]["schema"], data)
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
