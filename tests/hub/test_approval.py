"""Second-person approval: alerts that policy holds reach nobody until an approver releases them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from hub.http import SESSIONS
from partners.models import ApiToken, Role
from tests.conftest import INSIDE, Clock, Hub


@pytest.fixture
async def hub(aiohttp_client: Any, make_app: Callable[..., web.Application],
              clock: Clock) -> Hub:
    # The shipped default policy: TLP:RED and Extreme alerts wait for approval.
    return Hub(await aiohttp_client(make_app(approval_for="TLP:RED,Extreme")), clock)


async def service(hub: Hub) -> dict[str, str]:
    police = await hub.organisation("Toronto Police Service", "police")
    other = await hub.organisation("York Regional Police", "police")
    org, partner = await hub.partner("Bay Tower Security", INSIDE)
    contact = await hub.contact(org, "Ana Lima", email="ana@bay.example")
    return {"publisher": await hub.token(police, "publisher"),
            "approver": await hub.token(police, "approver"),
            "foreign_approver": await hub.token(other, "approver"),
            "partner": partner, "named": await hub.token(org, "partner", contact)}


@pytest.mark.parametrize("overrides", [{"tlp": "TLP:RED"}, {"severity": "Extreme"}])
async def test_held_alert_reaches_nobody_until_approved(hub: Hub,
                                                        overrides: dict[str, str]) -> None:
    t = await service(hub)
    held = await hub.publish(t["publisher"], **overrides)
    assert held["status"] == "pending" and held["seq"] is None
    assert held["targets"]["organisations"] == 1  # the approver sees who it would reach
    path = f"/api/v1/alerts/{held['id']}"
    for reader in ("partner", "named"):
        await hub.call("GET", path, t[reader], expect=404)
    assert await hub.call("GET", f"{path}/deliveries", t["publisher"], expect=200) == []
    await hub.call("POST", f"{path}/approve", t["publisher"], expect=403)  # wrong role
    await hub.call("POST", f"{path}/approve", t["foreign_approver"], expect=404)
    released = await hub.call("POST", f"{path}/approve", t["approver"], expect=200)
    assert released["status"] == "published" and released["seq"] >= 1
    assert await hub.call("GET", f"{path}/deliveries", t["publisher"], expect=200)
    await hub.call("GET", path, t["named"], expect=200)
    await hub.call("POST", f"{path}/approve", t["approver"], expect=409)  # only once


async def test_an_alert_policy_does_not_hold_is_published_at_once(hub: Hub) -> None:
    t = await service(hub)
    alert = await hub.publish(t["publisher"], tlp="TLP:AMBER", severity="Severe")
    assert alert["status"] == "published" and alert["seq"] is not None
    await hub.call("POST", f"/api/v1/alerts/{alert['id']}/approve", t["approver"], expect=409)


async def test_a_rejected_alert_stays_unsent(hub: Hub) -> None:
    t = await service(hub)
    held = await hub.publish(t["publisher"], tlp="TLP:RED")
    path = f"/api/v1/alerts/{held['id']}"
    bad = await hub.call("POST", f"{path}/reject", t["approver"], expect=422,
                         json={"note": 5, "reason": "x"})
    assert set(bad["fields"]) == {"note", "reason"}
    rejected = await hub.call("POST", f"{path}/reject", t["approver"], expect=200,
                              json={"note": "Wrong block: this is Bay and Adelaide."})
    assert rejected["status"] == "rejected"
    await hub.call("POST", f"{path}/approve", t["approver"], expect=409)
    await hub.call("POST", f"{path}/update", t["publisher"], expect=409,
                   json={"headline": "Changed"})
    await hub.call("GET", path, t["partner"], expect=404)


async def test_a_held_alert_cannot_be_updated_or_cancelled_before_release(hub: Hub) -> None:
    t = await service(hub)
    held = await hub.publish(t["publisher"], severity="Extreme")
    for action in ("update", "cancel"):
        answer = await hub.call("POST", f"/api/v1/alerts/{held['id']}/{action}",
                                t["publisher"], expect=409, json={"headline": "Changed"}
                                if action == "update" else {})
        assert answer["error"] == "not_published"


async def test_the_author_cannot_approve_their_own_alert(hub: Hub) -> None:
    police = await hub.organisation("Toronto Police Service", "police")
    await hub.partner("Bay Tower Security", INSIDE)
    issued = await hub.call("POST", "/api/v1/tokens", expect=201,
                            json={"organisation_id": police, "role": "publisher"})
    author = issued["token"]
    held = await hub.publish(author, tlp="TLP:RED")
    # No endpoint changes a credential's role, but an operator can in the database: the
    # author now holds the approver role, and still may not be the second pair of eyes.
    async with hub.client.app[SESSIONS]() as session:
        token = await session.get(ApiToken, issued["id"])
        assert token is not None
        token.role = Role.APPROVER
        session.add(token)
        await session.commit()
    path = f"/api/v1/alerts/{held['id']}"
    refused = await hub.call("POST", f"{path}/approve", author, expect=403)
    assert refused["detail"] == "an alert must be approved by someone other than its author"
    assert (await hub.call("GET", path, author, expect=200))["status"] == "pending"
    released = await hub.call("POST", f"{path}/approve", await hub.token(police, "approver"),
                              expect=200)
    assert released["status"] == "published"
