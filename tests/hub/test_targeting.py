"""Targeting: which desks, contacts and channels an alert reaches, by area and TLP label."""

from __future__ import annotations

from typing import Any

from tests.conftest import INSIDE, Hub, next_frame


async def deliveries(hub: Hub, token: str, alert_id: str) -> list[dict[str, Any]]:
    return list(await hub.call("GET", f"/api/v1/alerts/{alert_id}/deliveries", token,
                               expect=200))


async def enrol_bay_tower(hub: Hub) -> tuple[str, str, str]:
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    person = await hub.contact(org, "Ana Lima", email="ana@example.org",
                               chat_url="json://127.0.0.1:9/hooks/bay")
    await hub.contact(org, "Night Desk", chat_url="json://127.0.0.1:9/hooks/night")
    await hub.contact(org, "Backup Bob", tier="secondary", email="bob@example.org")
    return org, person, await hub.token(org, "partner")


async def test_green_alert_reaches_desk_email_and_chat_of_primary_contacts(hub: Hub) -> None:
    publisher = await hub.publisher()
    await enrol_bay_tower(hub)
    alert = await hub.publish(publisher, tlp="TLP:GREEN")
    assert alert["targets"] == {"organisations": 1, "contacts": 2, "residents": 0}
    rows = await deliveries(hub, publisher, alert["id"])
    assert sorted((r["channel"], r["recipient"].split(" ")[0]) for r in rows) == [
        ("chat", "Ana"), ("chat", "Night"), ("email", "Ana"), ("feed", "Bay")]
    assert next(r for r in rows if r["channel"] == "feed")["recipient"] == (
        "Bay Tower Security (live feed desk)")
    assert all(r["status"] == "pending" and r["attempts"] == 0 for r in rows)
    # Addresses are masked wherever they are shown.
    assert not any("ana@example.org" in r["recipient"] for r in rows)


async def test_red_alert_reaches_named_individuals_only(hub: Hub) -> None:
    publisher = await hub.publisher()
    org, person, desk = await enrol_bay_tower(hub)
    personal = await hub.token(org, "partner", person)
    alert = await hub.publish(publisher, tlp="TLP:RED")
    rows = await deliveries(hub, publisher, alert["id"])
    assert sorted(r["channel"] for r in rows) == ["email", "feed"]
    assert all(r["recipient"].startswith("Ana Lima") for r in rows)
    # The organisation's shared desk token does not see it; Ana's own credential does.
    assert (await hub.client.get(f"/api/v1/alerts/{alert['id']}",
                                 headers=hub.auth(desk))).status == 404
    assert (await hub.call("GET", f"/api/v1/alerts/{alert['id']}", personal))["tlp"] == "TLP:RED"
    async with hub.client.ws_connect("/api/v1/feed", headers=hub.auth(desk)) as shared, \
            hub.client.ws_connect("/api/v1/feed", headers=hub.auth(personal)) as own:
        await shared.send_json({"type": "resume", "since": 0})
        await own.send_json({"type": "resume", "since": 0})
        frame = await next_frame(own)
        assert frame["alert"]["id"] == alert["id"]
        marker = await hub.publish(publisher, tlp="TLP:GREEN")
        assert (await next_frame(shared))["alert"]["id"] == marker["id"]


async def test_secondary_tier_is_not_alerted_at_publish(hub: Hub) -> None:
    publisher = await hub.publisher()
    await enrol_bay_tower(hub)
    alert = await hub.publish(publisher)
    rows = await deliveries(hub, publisher, alert["id"])
    assert not any("Backup Bob" in r["recipient"] for r in rows)


async def test_alert_reaching_nobody_is_still_published(hub: Hub) -> None:
    publisher = await hub.publisher()
    alert = await hub.publish(publisher)
    assert alert["targets"] == {"organisations": 0, "contacts": 0, "residents": 0}
    assert await deliveries(hub, publisher, alert["id"]) == []


async def test_seq_is_monotonic(hub: Hub) -> None:
    publisher = await hub.publisher()
    seqs = [(await hub.publish(publisher))["seq"] for _ in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


async def test_without_an_smtp_server_no_email_deliveries_are_written(
        aiohttp_client: Any, make_app: Any, clock: Any) -> None:
    hub = Hub(await aiohttp_client(make_app(smtp_url=None)), clock)
    publisher = await hub.publisher()
    await enrol_bay_tower(hub)
    alert = await hub.publish(publisher)
    rows = await deliveries(hub, publisher, alert["id"])
    assert sorted(r["channel"] for r in rows) == ["chat", "chat", "feed"]
