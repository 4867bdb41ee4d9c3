"""Every JSON endpoint against the same hostile values (issue 14): deep nesting, integers of
400 digits, NaN, a lone surrogate, a control character and NUL, in each field in turn.
Each is a 4xx, on SQLite and PostgreSQL, and nothing is stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import SQLModel

from hub.http import LIMITS, SESSIONS
from hub.throttle import RateLimit
from tests.conftest import ADMIN_TOKEN, INSIDE, PASSWORD, Hub, alert_body

# Raw JSON, as a client would write it: Python's json writes none of these for us.
HOSTILE = {
    "nested 1,000 deep": "[" * 1000 + "]" * 1000,
    "10^400": "1" + "0" * 400,
    "NaN": "NaN",
    "a lone surrogate": '"Road \\ud800 closed"',
    "a control character": '"Road \\u0007 closed"',
    "NUL": '"Road \\u0000 closed"',
}
MARK = "\x1fHOSTILE\x1f"
# Rows a refused request may leave: its denial in the audit trail, a failed sign-in counted.
BOOKKEEPING = {"audit_event", "throttle"}


@dataclass
class Endpoint:
    path: str
    token: str | None  # None: public, sent with the hub's own Origin as a browser would
    body: dict[str, Any]
    method: str = "POST"


def with_value(body: dict[str, Any], field: str | None, raw: str) -> bytes:
    """`body` as JSON with `field` (or, for None, the whole body) written as `raw`."""
    if field is None:
        return raw.encode()
    return json.dumps({**body, field: MARK}).replace(json.dumps(MARK), raw).encode()


async def endpoints(hub: Hub) -> list[Endpoint]:
    """Each JSON endpoint with a body it accepts, aimed at real resources."""
    org, partner_token = await hub.partner("Bay St Tower", INSIDE)
    contact = await hub.contact(org, "Night Desk")
    publisher = await hub.publisher()
    alert = (await hub.publish(publisher))["id"]
    invitation = await hub.call("POST", "/api/v1/invitations", expect=201, json={
        "organisation_id": org, "email": "lead@tower.example", "role": "admin"})
    named = {"name": "Annex", "lat": 43.6481, "lon": -79.3805}
    sent = await hub.client.post("/api/v1/tips", data={"text": "A van with no plates"})
    assert sent.status == 201, await sent.text()
    tip = (await hub.call("GET", "/api/v1/tips", publisher, expect=200))[0]["id"]
    return [
        Endpoint("/api/v1/organisations", ADMIN_TOKEN,
                 {"name": "Union Station", "kind": "venue", "sites": [named]}),
        Endpoint(f"/api/v1/organisations/{org}/contacts", ADMIN_TOKEN,
                 {"name": "Lobby", "email": "lobby@tower.example", "tier": "secondary"}),
        Endpoint(f"/api/v1/organisations/{org}/sites", ADMIN_TOKEN, named),
        Endpoint(f"/api/v1/contacts/{contact}", ADMIN_TOKEN,
                 {"name": "Day Desk", "email": "day@tower.example"}, method="PATCH"),
        Endpoint("/api/v1/tokens", ADMIN_TOKEN,
                 {"organisation_id": org, "role": "partner", "label": "lobby screen"}),
        Endpoint("/api/v1/invitations", ADMIN_TOKEN,
                 {"organisation_id": org, "email": "relief@tower.example", "role": "partner"}),
        Endpoint("/api/v1/invitations/accept", None,
                 {"token": invitation["token"], "name": "Lead", "password": PASSWORD}),
        Endpoint("/api/v1/session", None, {"email": "lead@tower.example",
                                           "password": PASSWORD}),
        Endpoint("/api/v1/alerts", publisher, alert_body()),
        Endpoint("/api/v1/alerts/preview", publisher, alert_body()),
        Endpoint(f"/api/v1/alerts/{alert}/update", publisher, {"headline": "Road reopened"}),
        Endpoint(f"/api/v1/alerts/{alert}/cancel", publisher, {"note": "all clear"}),
        Endpoint(f"/api/v1/alerts/{alert}/acks", partner_token,
                 {"status": "received", "note": "on it"}),
        Endpoint("/api/v1/subscriptions", None, {"email": "sam@home.example", "lat": 43.6481,
                                                 "lon": -79.3805, "radius_m": 500}),
        Endpoint("/api/v1/subscriptions/confirm", None, {"token": "vgs_" + "x" * 43}),
        Endpoint("/api/v1/evidence-requests", publisher,
                 {"title": "Collision", "description": "Seen it?",
                  "starts": "2026-11-21T17:30:00-05:00"}),
        Endpoint(f"/api/v1/tips/{tip}", publisher, {"status": "duplicate"}, method="PATCH"),
    ]


async def row_counts(hub: Hub) -> dict[str, int]:
    async with hub.client.app[SESSIONS]() as session:
        connection = await session.connection()
        return {table.name: (await connection.execute(
            select(func.count()).select_from(table))).scalar_one()
            for table in SQLModel.metadata.sorted_tables if table.name not in BOOKKEEPING}


async def test_every_json_endpoint_refuses_hostile_values_and_stores_nothing(
        backend_hub: Hub) -> None:
    hub = backend_hub
    # The public endpoints' per-address limits would answer 429 before the body is read.
    hub.client.app[LIMITS].update({name: RateLimit(burst=100_000, per_minute=100_000)
                                   for name in hub.client.app[LIMITS]})
    targets = await endpoints(hub)
    before = await row_counts(hub)
    origin = str(hub.client.make_url("/")).rstrip("/")
    wrong: list[str] = []
    sent = 0
    for endpoint in targets:
        headers = {"Content-Type": "application/json", "Origin": origin,
                   **(hub.auth(endpoint.token) if endpoint.token else {})}
        for field in [None, *endpoint.body]:
            for kind, raw in HOSTILE.items():
                if field is None and kind != "nested 1,000 deep":
                    continue  # a whole body of NaN is just malformed; nesting is the case
                response = await hub.client.request(
                    endpoint.method, endpoint.path, headers=headers,
                    data=with_value(endpoint.body, field, raw))
                sent += 1
                answer = await response.text()
                where = f"{endpoint.method} {endpoint.path} {field or 'body'} = {kind}"
                if not 400 <= response.status < 500 or '"error"' not in answer:
                    wrong.append(f"{where}: {response.status} {answer[:300]}")
    after = await row_counts(hub)
    assert not wrong, "\n".join(wrong)
    assert after == before, {name: (before[name], after[name])
                             for name in before if before[name] != after[name]}
    assert sent > 200, sent
