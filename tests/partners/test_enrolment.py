"""Enrolling organisations and contacts: good input stored, bad input 422 and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN_TOKEN, INSIDE, Hub


async def test_organisation_with_sites_is_enrolled(hub: Hub) -> None:
    created = await hub.call("POST", "/api/v1/organisations", expect=201, json={
        "name": "Bay Tower Security", "kind": "corporate",
        "sites": [INSIDE, {"name": "Loading dock", "lat": 43.6478, "lon": -79.3801}]})
    assert created["kind"] == "corporate" and len(created["sites"]) == 2
    shown = await hub.call("GET", f"/api/v1/organisations/{created['id']}", expect=200)
    assert shown == created


BAD_ORGANISATIONS: list[tuple[dict[str, Any], str]] = [
    ({"kind": "corporate"}, "name"),
    ({"name": "X", "kind": "bank"}, "kind"),
    ({"name": "X", "kind": "bia", "sites": "downtown"}, "sites"),
    ({"name": "X", "kind": "bia", "sites": [{"name": "A", "lat": 91, "lon": 0}]}, "sites[0].lat"),
    ({"name": "X", "kind": "bia", "sites": [{"name": "A", "lat": 0, "lon": -181}]},
     "sites[0].lon"),
    ({"name": "X", "kind": "bia", "sites": [{"lat": 0, "lon": 0}]}, "sites[0].name"),
    ({"name": "X", "kind": "bia", "sites": [5]}, "sites[0]"),
    ({"name": "X", "kind": "bia", "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), BAD_ORGANISATIONS,
                         ids=[f for _, f in BAD_ORGANISATIONS])
async def test_bad_organisation_is_422_and_nothing_stored(hub: Hub, body: dict[str, Any],
                                                          field: str) -> None:
    response = await hub.client.post("/api/v1/organisations", headers=hub.auth(ADMIN_TOKEN),
                                     json=body)
    assert response.status == 422
    assert field in (await response.json())["fields"]
    assert await hub.call("GET", "/api/v1/organisations") == []


async def test_duplicate_organisation_name_is_refused(hub: Hub) -> None:
    await hub.organisation("Bay Tower Security")
    response = await hub.client.post("/api/v1/organisations", headers=hub.auth(ADMIN_TOKEN),
                                     json={"name": "Bay Tower Security", "kind": "venue"})
    assert response.status == 409 and "name" in (await response.json())["fields"]


BAD_CONTACTS: list[tuple[dict[str, Any], str]] = [
    ({"name": "Ana"}, "email"),
    ({"name": "Ana", "email": "not-an-address"}, "email"),
    ({"name": "Ana", "chat_url": "https://example.org/not-apprise-scheme-x"}, "chat_url"),
    ({"name": "Ana", "chat_url": "nonsense"}, "chat_url"),
    ({"name": "Ana", "email": "ana@example.org", "tier": "tertiary"}, "tier"),
    ({"email": "ana@example.org"}, "name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CONTACTS, ids=[str(b) for b, _ in BAD_CONTACTS])
async def test_bad_contact_is_422_and_nothing_stored(hub: Hub, body: dict[str, Any],
                                                     field: str) -> None:
    org = await hub.organisation("Bay Tower Security")
    response = await hub.client.post(f"/api/v1/organisations/{org}/contacts",
                                     headers=hub.auth(ADMIN_TOKEN), json=body)
    assert response.status == 422, await response.text()
    assert field in (await response.json())["fields"]
    assert await hub.call("GET", f"/api/v1/organisations/{org}/contacts") == []


async def test_contacts_in_both_tiers(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.contact(org, "Ana Lima", email="ana@example.org",
                      chat_url="json://127.0.0.1:9/hooks/bay")
    await hub.contact(org, "Bob Backup", tier="secondary", email="bob@example.org")
    listed = await hub.call("GET", f"/api/v1/organisations/{org}/contacts", expect=200)
    assert [(c["name"], c["tier"]) for c in listed] == [("Ana Lima", "primary"),
                                                        ("Bob Backup", "secondary")]


async def test_partner_admin_manages_only_its_own_organisation(hub: Hub) -> None:
    own = await hub.organisation("Bay Tower Security")
    other = await hub.organisation("Annex Security")
    admin = await hub.token(own, "admin")
    body = {"name": "Cara", "email": "cara@example.org"}
    await hub.call("POST", f"/api/v1/organisations/{own}/contacts", admin, expect=201, json=body)
    refused = await hub.client.post(f"/api/v1/organisations/{other}/contacts",
                                    headers=hub.auth(admin), json=body)
    assert refused.status == 404
    partner = await hub.token(own, "partner")
    refused = await hub.client.post(f"/api/v1/organisations/{own}/contacts",
                                    headers=hub.auth(partner), json=body)
    assert refused.status == 403


async def test_chat_url_secret_is_never_echoed(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    secret_url = "json://127.0.0.1:9/hooks/s3cr3t-webhook-token-value"
    created = await hub.call("POST", f"/api/v1/organisations/{org}/contacts", expect=201,
                             json={"name": "Ops room", "chat_url": secret_url})
    listed = await hub.call("GET", f"/api/v1/organisations/{org}/contacts")
    for shown in (created["chat_url"], listed[0]["chat_url"]):
        assert shown.startswith("json://127.0.0.1:9/hooks/")
        assert "s3cr3t-webhook-token-value" not in shown


async def test_concurrent_enrolment_of_one_name_is_one_201_and_409s(hub: Hub) -> None:
    import asyncio
    body = {"name": "Racing Security", "kind": "venue"}
    responses = await asyncio.gather(*(
        hub.client.post("/api/v1/organisations", headers=hub.auth(ADMIN_TOKEN), json=body)
        for _ in range(6)))
    statuses = sorted(r.status for r in responses)
    assert statuses[0] == 201 and statuses.count(201) == 1
    assert set(statuses[1:]) == {409}
