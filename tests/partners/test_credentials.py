"""API tokens: roles, scoping, hashing at rest, and the bootstrap token."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from hub.http import SESSIONS
from partners.credentials import hash_token
from partners.models import ApiToken
from tests.conftest import ADMIN_TOKEN, Hub


async def test_tokens_are_stored_only_as_hashes(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    secret = await hub.token(org, "partner")
    async with hub.client.app[SESSIONS]() as session:
        rows = (await session.exec(select(ApiToken))).all()
    assert {r.token_hash for r in rows} == {hash_token(secret), hash_token(ADMIN_TOKEN)}
    assert all(secret not in repr(r.model_dump()) for r in rows)


async def test_missing_or_unknown_token_is_401(hub: Hub) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await hub.client.get("/api/v1/alerts", headers=headers)
        assert response.status == 401
        assert (await response.json())["error"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_roles_are_enforced(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    partner = await hub.token(org, "partner")
    for method, path, body in (("POST", "/api/v1/organisations", {"name": "X", "kind": "bia"}),
                               ("POST", "/api/v1/tokens", {"organisation_id": org,
                                                           "role": "partner"}),
                               ("POST", "/api/v1/alerts", {})):
        response = await hub.client.request(method, path, headers=hub.auth(partner), json=body)
        assert response.status == 403, (path, await response.text())


async def test_organisation_admin_cannot_mint_publishers(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    admin = await hub.token(org, "admin")
    refused = await hub.client.post("/api/v1/tokens", headers=hub.auth(admin),
                                    json={"organisation_id": org, "role": "publisher"})
    assert refused.status == 403
    allowed = await hub.call("POST", "/api/v1/tokens", admin, expect=201,
                             json={"organisation_id": org, "role": "partner"})
    assert allowed["token"].startswith("vgl_")


async def test_bad_token_requests_are_refused_naming_the_field(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    other = await hub.organisation("Annex Security")
    contact = await hub.contact(other, "Ana Lima")
    # Malformed is 422; well formed but naming what the hub does not hold is 404.
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"role": "partner"}, "organisation_id", 422),
        ({"organisation_id": org, "role": "overlord"}, "role", 422),
        ({"organisation_id": org, "role": "partner", "label": None}, "label", 422),
        ({"organisation_id": "missing", "role": "partner"}, "organisation_id", 404),
        ({"organisation_id": org, "role": "partner", "contact_id": contact}, "contact_id", 404),
    ]
    for body, field, status in cases:
        response = await hub.client.post("/api/v1/tokens", headers=hub.auth(ADMIN_TOKEN),
                                         json=body)
        assert response.status == status, body
        assert field in (await response.json())["fields"]


async def test_bootstrap_token_is_a_hub_admin_after_restart(aiohttp_client: Any,
                                                           make_app: Any) -> None:
    first = Hub(await aiohttp_client(make_app()), None)  # type: ignore[arg-type]
    await first.organisation("Bay Tower Security")
    await first.client.close()
    again = Hub(await aiohttp_client(make_app()), None)  # type: ignore[arg-type]
    listed = await again.call("GET", "/api/v1/organisations", expect=200)
    assert [o["name"] for o in listed] == ["Bay Tower Security"]
