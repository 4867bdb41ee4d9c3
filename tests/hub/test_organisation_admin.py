"""Partner administration over the API: an organisation's own admin manages its sites,
contacts, tiers and tokens, and nothing of any other organisation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlmodel import col, select

from hub.http import SESSIONS
from hub.models import AuditEvent
from tests.conftest import INSIDE, OUTSIDE, Browser, Hub
from tests.hub.test_openapi import default_document

CHAT = "json://127.0.0.1:9/hook?token=s3cret"


async def two_partners(hub: Hub) -> tuple[str, str, str, str]:
    """Partner A and partner B, each with one primary contact; returns their ids and the
    admin token of each."""
    org_a = await hub.organisation("Bay Tower Security", "corporate", [INSIDE])
    org_b = await hub.organisation("Yorkville BIA", "bia", [OUTSIDE])
    await hub.contact(org_a, "Tower Desk")
    await hub.contact(org_b, "Yorkville Desk")
    return org_a, org_b, await hub.token(org_a, "admin"), await hub.token(org_b, "admin")


async def actions(hub: Hub) -> list[tuple[str, str]]:
    async with hub.client.app[SESSIONS]() as session:
        rows = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all()
    return [(row.action, row.subject) for row in rows]


def conforms(schema: str, instance: Any) -> None:
    """The answer has the shape the OpenAPI document promises."""
    document = default_document()
    Draft202012Validator({"$ref": f"#/components/schemas/{schema}",
                          "components": document["components"]}).validate(instance)


async def contacts_of(hub: Hub, org: str) -> list[dict[str, Any]]:
    return list(await hub.call("GET", f"/api/v1/organisations/{org}/contacts", expect=200))


async def sites_of(hub: Hub, org: str) -> list[dict[str, Any]]:
    return list((await hub.call("GET", f"/api/v1/organisations/{org}", expect=200))["sites"])


async def test_a_partner_admin_adds_and_removes_a_site(hub: Hub) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    site = await hub.call("POST", f"/api/v1/organisations/{org_a}/sites", admin_a, expect=201,
                          json={"name": "Loading dock", "lat": 43.6484, "lon": -79.3801})
    conforms("Site", site)
    assert site["name"] == "Loading dock" and site["lat"] == 43.6484
    assert {s["name"] for s in await sites_of(hub, org_a)} == {INSIDE["name"], "Loading dock"}
    removed = await hub.call("DELETE", f"/api/v1/sites/{site['id']}", admin_a, expect=200)
    conforms("Site", removed)
    assert [s["name"] for s in await sites_of(hub, org_a)] == [INSIDE["name"]]
    await hub.call("DELETE", f"/api/v1/sites/{site['id']}", admin_a, expect=404)
    assert ("site.create", site["id"]) in await actions(hub)
    assert ("site.delete", site["id"]) in await actions(hub)


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "Dock", "lat": 91, "lon": -79.38}, "lat"),
    ({"name": "Dock", "lat": 43.6, "lon": "west"}, "lon"),
    ({"name": "", "lat": 43.6, "lon": -79.38}, "name"),
    ({"lat": 43.6, "lon": -79.38}, "name"),
    ({"name": "Dock", "lat": True, "lon": -79.38}, "lat"),
    ({"name": "Dock", "lat": 43.6, "lon": -79.38, "radius": 5}, "radius"),
    (["Dock", 43.6, -79.38], "body"),
])
async def test_a_bad_site_is_refused_naming_the_field(hub: Hub, body: Any, field: str) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    error = await hub.call("POST", f"/api/v1/organisations/{org_a}/sites", admin_a,
                           expect=422, json=body)
    assert field in error["fields"], error
    assert [s["name"] for s in await sites_of(hub, org_a)] == [INSIDE["name"]]
    assert not [a for a, _ in await actions(hub) if a == "site.create"]


async def test_a_partner_admin_moves_a_contact_to_the_secondary_tier(hub: Hub) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    [desk] = await contacts_of(hub, org_a)
    changed = await hub.call("PATCH", f"/api/v1/contacts/{desk['id']}", admin_a, expect=200,
                             json={"tier": "secondary"})
    conforms("Contact", changed)
    assert changed == {**desk, "tier": "secondary"}
    assert (await contacts_of(hub, org_a))[0]["tier"] == "secondary"
    assert ("contact.update", desk["id"]) in await actions(hub)


async def test_a_contact_edit_masks_the_chat_url_and_may_clear_an_address(hub: Hub) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    [desk] = await contacts_of(hub, org_a)
    path = f"/api/v1/contacts/{desk['id']}"
    changed = await hub.call("PATCH", path, admin_a, expect=200,
                             json={"name": "Lobby desk", "chat_url": CHAT, "email": None})
    assert changed["name"] == "Lobby desk" and changed["email"] is None
    assert changed["chat_url"] and "s3cret" not in changed["chat_url"]
    # Renaming again keeps the stored (unmasked) chat URL as it was.
    await hub.call("PATCH", path, admin_a, expect=200, json={"name": "Lobby"})
    again = await hub.call("PATCH", path, admin_a, expect=200, json={"email": "lobby@bay.example"})
    assert again["chat_url"] == changed["chat_url"] and again["name"] == "Lobby"


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"email": "not-an-address"}, "email", 422),
    ({"chat_url": "https://example.org/hook"}, "chat_url", 422),
    ({"chat_url": "nothing"}, "chat_url", 422),
    ({"tier": "tertiary"}, "tier", 422),
    ({"tier": None}, "tier", 422),
    ({"name": ""}, "name", 422),
    ({"name": None}, "name", 422),
    ({"email": None}, "email", 409),  # the contact would have no address left
    ({"phone": "555-0100"}, "phone", 422),
    ("secondary", "body", 422),
])
async def test_a_bad_contact_change_is_refused_and_nothing_changes(
        hub: Hub, body: Any, field: str, status: int) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    before = await contacts_of(hub, org_a)
    error = await hub.call("PATCH", f"/api/v1/contacts/{before[0]['id']}", admin_a,
                           expect=status, json=body)
    assert field in error["fields"], error
    assert await contacts_of(hub, org_a) == before
    assert not [a for a, _ in await actions(hub) if a == "contact.update"]


async def test_a_contact_without_history_is_removed(hub: Hub) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    spare = await hub.contact(org_a, "Night Guard", tier="secondary")
    removed = await hub.call("DELETE", f"/api/v1/contacts/{spare}", admin_a, expect=200)
    conforms("Contact", removed)
    assert spare not in {c["id"] for c in await contacts_of(hub, org_a)}
    assert ("contact.delete", spare) in await actions(hub)
    await hub.call("DELETE", f"/api/v1/contacts/{spare}", admin_a, expect=404)


async def test_a_contact_with_history_is_kept(hub: Hub) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    [desk] = await contacts_of(hub, org_a)
    await hub.publish(await hub.publisher())  # reaches Tower Desk by email
    error = await hub.call("DELETE", f"/api/v1/contacts/{desk['id']}", admin_a, expect=409)
    assert error["error"] == "referenced" and "deliveries" in error["detail"]
    assert desk["id"] in {c["id"] for c in await contacts_of(hub, org_a)}
    assert not [a for a, _ in await actions(hub) if a == "contact.delete"]


async def test_a_contact_holding_a_token_or_an_account_is_kept(hub: Hub) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    with_token = await hub.contact(org_a, "Token Holder")
    with_account = await hub.contact(org_a, "Person")
    await hub.token(org_a, "partner", with_token)
    await hub.person(org_a, "partner", "person@bay.example", with_account)
    error = await hub.call("DELETE", f"/api/v1/contacts/{with_token}", admin_a, expect=409)
    assert "API tokens" in error["detail"]
    error = await hub.call("DELETE", f"/api/v1/contacts/{with_account}", admin_a, expect=409)
    assert "accounts" in error["detail"]


async def test_a_partner_admin_issues_lists_and_revokes_a_token(hub: Hub) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    issued = await hub.call("POST", "/api/v1/tokens", admin_a, expect=201,
                            json={"organisation_id": org_a, "role": "partner",
                                  "label": "Lobby PC"})
    await hub.call("GET", "/api/v1/alerts", issued["token"], expect=200)
    listed = await hub.call("GET", f"/api/v1/organisations/{org_a}/tokens", admin_a, expect=200)
    for row in listed:
        conforms("Token", row)
    mine = next(row for row in listed if row["id"] == issued["id"])
    assert mine["label"] == "Lobby PC" and mine["role"] == "partner"
    assert mine["revoked_at"] is None
    assert issued["token"] not in str(listed) and "token_hash" not in mine
    await hub.call("POST", f"/api/v1/tokens/{issued['id']}/revoke", admin_a, expect=200)
    listed = await hub.call("GET", f"/api/v1/organisations/{org_a}/tokens", admin_a, expect=200)
    assert next(r for r in listed if r["id"] == issued["id"])["revoked_at"] is not None
    await hub.call("GET", "/api/v1/alerts", issued["token"], expect=401)
    assert {("token.create", issued["id"]), ("token.revoke", issued["id"])} <= set(
        await actions(hub))


@pytest.mark.parametrize("role", ["publisher", "approver"])
async def test_a_partner_admin_cannot_issue_police_roles(hub: Hub, role: str) -> None:
    org_a, _, admin_a, _ = await two_partners(hub)
    before = await hub.call("GET", f"/api/v1/organisations/{org_a}/tokens", admin_a, expect=200)
    await hub.call("POST", "/api/v1/tokens", admin_a, expect=403,
                   json={"organisation_id": org_a, "role": role})
    await hub.call("POST", "/api/v1/tokens", admin_a, expect=422,
                   json={"organisation_id": org_a, "role": "resident"})
    after = await hub.call("GET", f"/api/v1/organisations/{org_a}/tokens", admin_a, expect=200)
    assert after == before


@pytest.mark.parametrize("kind", ["corporate", "bia", "venue", "agency"])
@pytest.mark.parametrize("role", ["publisher", "approver"])
async def test_police_roles_belong_to_police_organisations_only(
        hub: Hub, kind: str, role: str) -> None:
    # Even the hub admin may not make a bank a publisher: its alerts would read as police ones.
    org = await hub.organisation("Bay Tower Security", kind, [INSIDE])
    before = await actions(hub)
    refused = await hub.call("POST", "/api/v1/tokens", expect=422,
                             json={"organisation_id": org, "role": role})
    assert list(refused["fields"]) == ["role"], refused
    assert "police" in refused["fields"]["role"] and kind in refused["fields"]["role"]
    refused = await hub.call("POST", "/api/v1/invitations", expect=422, json={
        "organisation_id": org, "role": role, "email": "guard@bay.example"})
    assert list(refused["fields"]) == ["role"], refused
    assert await hub.call("GET", f"/api/v1/organisations/{org}/tokens", expect=200) == []
    assert await actions(hub) == before
    # The same roles for a police service, and the other roles for the bank, are issued.
    police = await hub.organisation("Toronto Police Service", "police")
    await hub.call("POST", "/api/v1/tokens", expect=201,
                   json={"organisation_id": police, "role": role})
    await hub.call("POST", "/api/v1/invitations", expect=201, json={
        "organisation_id": police, "role": role, "email": "officer@tps.example"})
    for other in ("partner", "admin"):
        await hub.call("POST", "/api/v1/tokens", expect=201,
                       json={"organisation_id": org, "role": other})


async def test_nothing_of_another_organisation_can_be_touched(hub: Hub) -> None:
    org_a, org_b, admin_a, admin_b = await two_partners(hub)
    [site_a] = await sites_of(hub, org_a)
    [desk_a] = await contacts_of(hub, org_a)
    token_a = await hub.call("POST", "/api/v1/tokens", admin_a, expect=201,
                             json={"organisation_id": org_a, "role": "partner"})
    site = {"name": "Sneaky", "lat": 43.6, "lon": -79.4}
    await hub.call("POST", f"/api/v1/organisations/{org_a}/sites", admin_b, expect=404, json=site)
    await hub.call("DELETE", f"/api/v1/sites/{site_a['id']}", admin_b, expect=404)
    await hub.call("PATCH", f"/api/v1/contacts/{desk_a['id']}", admin_b, expect=404,
                   json={"tier": "secondary"})
    await hub.call("DELETE", f"/api/v1/contacts/{desk_a['id']}", admin_b, expect=404)
    await hub.call("GET", f"/api/v1/organisations/{org_a}/tokens", admin_b, expect=404)
    await hub.call("POST", "/api/v1/tokens", admin_b, expect=403,
                   json={"organisation_id": org_a, "role": "partner"})
    await hub.call("POST", f"/api/v1/tokens/{token_a['id']}/revoke", admin_b, expect=404)
    await hub.call("GET", "/api/v1/alerts", token_a["token"], expect=200)  # still works
    assert await sites_of(hub, org_a) == [site_a]
    assert await contacts_of(hub, org_a) == [desk_a]
    assert org_b  # B's own things stay B's: the same calls on B's org succeed
    await hub.call("GET", f"/api/v1/organisations/{org_b}/tokens", admin_b, expect=200)


async def test_partner_tokens_and_publishers_may_not_administer(hub: Hub) -> None:
    org_a, _, _, _ = await two_partners(hub)
    partner_a = await hub.token(org_a, "partner")
    [site_a] = await sites_of(hub, org_a)
    [desk_a] = await contacts_of(hub, org_a)
    publisher = await hub.publisher()
    for token in (partner_a, publisher):
        await hub.call("POST", f"/api/v1/organisations/{org_a}/sites", token, expect=403,
                       json={"name": "X", "lat": 43.6, "lon": -79.4})
        await hub.call("DELETE", f"/api/v1/sites/{site_a['id']}", token, expect=403)
        await hub.call("PATCH", f"/api/v1/contacts/{desk_a['id']}", token, expect=403,
                       json={"tier": "secondary"})
        await hub.call("DELETE", f"/api/v1/contacts/{desk_a['id']}", token, expect=403)
        await hub.call("GET", f"/api/v1/organisations/{org_a}/tokens", token, expect=403)
    response = await hub.client.get(f"/api/v1/organisations/{org_a}/tokens")
    assert response.status == 401


async def test_a_hub_admin_manages_every_organisation(hub: Hub) -> None:
    org_a, _, _, _ = await two_partners(hub)
    site = await hub.call("POST", f"/api/v1/organisations/{org_a}/sites", expect=201,
                          json={"name": "Annex", "lat": 43.65, "lon": -79.38})
    [desk] = await contacts_of(hub, org_a)
    await hub.call("PATCH", f"/api/v1/contacts/{desk['id']}", expect=200,
                   json={"tier": "secondary"})
    await hub.call("DELETE", f"/api/v1/sites/{site['id']}", expect=200)
    tokens = await hub.call("GET", f"/api/v1/organisations/{org_a}/tokens", expect=200)
    assert {t["role"] for t in tokens} == {"admin"}
    await hub.call("GET", "/api/v1/organisations/no-such-org/tokens", expect=404)
    await hub.call("POST", "/api/v1/organisations/no-such-org/sites", expect=404,
                   json={"name": "Annex", "lat": 43.65, "lon": -79.38})


async def test_a_signed_in_partner_admin_uses_the_cookie_and_csrf(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    org_a, _, _, _ = await two_partners(hub)
    await hub.person(org_a, "admin", "boss@bay.example")
    browser = browsers()
    await browser.sign_in("boss@bay.example")
    await browser.enrol()
    site = {"name": "Roof", "lat": 43.6482, "lon": -79.3806}
    path = f"/api/v1/organisations/{org_a}/sites"
    await browser.call("POST", path, 403, json=site, csrf=None)  # no CSRF token
    created = await browser.call("POST", path, 201, json=site)
    [desk] = await contacts_of(hub, org_a)
    await browser.call("PATCH", f"/api/v1/contacts/{desk['id']}", 200, json={"tier": "secondary"})
    await browser.call("DELETE", f"/api/v1/sites/{created['id']}", 200)
    events = await actions(hub)
    assert ("site.create", created["id"]) in events
    async with hub.client.app[SESSIONS]() as session:
        actors = {row.actor for row in (await session.exec(
            select(AuditEvent).where(AuditEvent.action == "site.create"))).all()}
    assert all(actor.startswith("user:") for actor in actors)
