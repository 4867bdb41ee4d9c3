"""Acknowledgements over REST, and what each partner may read of them."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.http import SESSIONS
from hub.models import Ack
from tests.conftest import INSIDE, OUTSIDE, Hub

NEAR_INSIDE = {"name": "Bay St annex", "lat": 43.6478, "lon": -79.3810}


async def ack_rows(hub: Hub) -> int:
    async with hub.client.app[SESSIONS]() as session:
        return int((await session.exec(select(func.count()).select_from(Ack))).scalar_one())


async def test_repeated_ack_is_stored_once(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    alert = await hub.publish(publisher)
    path = f"/api/v1/alerts/{alert['id']}/acks"
    answers = [await hub.call("POST", path, desk, expect=201, json={"status": "acknowledged"})
               for _ in range(3)]
    assert len({a["id"] for a in answers}) == 1
    assert await ack_rows(hub) == 1
    changed = await hub.call("POST", path, desk, expect=201,
                             json={"status": "responding", "note": "Guards on the way"})
    assert changed["id"] == answers[0]["id"] and changed["status"] == "responding"
    assert await ack_rows(hub) == 1
    listed = await hub.call("GET", path, publisher, expect=200)
    assert [(a["status"], a["note"]) for a in listed] == [("responding", "Guards on the way")]


async def test_each_contact_of_a_partner_acks_separately(hub: Hub) -> None:
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    first = await hub.token(org, "partner", await hub.contact(org, "Ana Lima"))
    second = await hub.token(org, "partner", await hub.contact(org, "Ben Okafor"))
    alert = await hub.publish(publisher)
    for token in (first, second, first):
        await hub.call("POST", f"/api/v1/alerts/{alert['id']}/acks", token, expect=201,
                       json={"status": "received"})
    assert await ack_rows(hub) == 2


async def test_partner_a_cannot_read_partner_b_acks_or_deliveries(hub: Hub) -> None:
    publisher = await hub.publisher()
    org_a, desk_a = await hub.partner("Bay Tower Security", INSIDE)
    org_b, desk_b = await hub.partner("Annex Security", NEAR_INSIDE)
    _, desk_c = await hub.partner("Yorkville Offices", OUTSIDE)
    alert = await hub.publish(publisher)
    assert alert["targets"]["organisations"] == 2
    acks = f"/api/v1/alerts/{alert['id']}/acks"
    deliveries = f"/api/v1/alerts/{alert['id']}/deliveries"
    await hub.call("POST", acks, desk_a, expect=201, json={"status": "acknowledged"})
    await hub.call("POST", acks, desk_b, expect=201, json={"status": "need_help"})
    # Both targeted: each sees only its own organisation's rows.
    seen_by_b = await hub.call("GET", acks, desk_b, expect=200)
    assert [a["organisation_id"] for a in seen_by_b] == [org_b]
    rows_b = await hub.call("GET", deliveries, desk_b, expect=200)
    assert rows_b and {r["organisation_id"] for r in rows_b} == {org_b}
    # The sender sees everything.
    assert len(await hub.call("GET", acks, publisher, expect=200)) == 2
    all_rows = await hub.call("GET", deliveries, publisher, expect=200)
    assert {r["organisation_id"] for r in all_rows} == {org_a, org_b}
    # Not targeted: the alert does not exist for it.
    for path in (acks, deliveries, f"/api/v1/alerts/{alert['id']}"):
        refused = await hub.client.get(path, headers=hub.auth(desk_c))
        assert refused.status == 404
    listed = await hub.call("GET", "/api/v1/alerts", desk_c, expect=200)
    assert listed == []


async def test_untargeted_partner_cannot_ack(hub: Hub) -> None:
    publisher = await hub.publisher()
    await hub.partner("Bay Tower Security", INSIDE)
    _, outside = await hub.partner("Yorkville Offices", OUTSIDE)
    alert = await hub.publish(publisher)
    refused = await hub.client.post(f"/api/v1/alerts/{alert['id']}/acks",
                                    headers=hub.auth(outside), json={"status": "received"})
    assert refused.status == 404
    assert await ack_rows(hub) == 0


async def test_only_partners_ack(hub: Hub) -> None:
    publisher = await hub.publisher()
    await hub.partner("Bay Tower Security", INSIDE)
    alert = await hub.publish(publisher)
    refused = await hub.client.post(f"/api/v1/alerts/{alert['id']}/acks",
                                    headers=hub.auth(publisher), json={"status": "received"})
    assert refused.status == 403
    assert (await refused.json())["error"] == "forbidden"


async def test_bad_ack_is_422_and_stores_nothing(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    alert = await hub.publish(publisher)
    path = f"/api/v1/alerts/{alert['id']}/acks"
    for body, field in (({"status": "maybe"}, "status"), ({}, "status"),
                        ({"status": "received", "note": 5}, "note")):
        response = await hub.client.post(path, headers=hub.auth(desk), json=body)
        assert response.status == 422
        assert field in (await response.json())["fields"]
    missing = await hub.client.post("/api/v1/alerts/nope/acks", headers=hub.auth(desk),
                                    json={"status": "received"})
    assert missing.status == 404
    assert await ack_rows(hub) == 0
