"""An alert and its updates as one incident (issue 15.2): `GET /api/v1/alerts/{id}/chain`
from any message's id, its state, and the console's one row per incident."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from hub.app import ESCALATOR
from tests.cap.test_cap_api import send
from tests.capdoc import cap_alert
from tests.conftest import INSIDE, OUTSIDE, Browser, Clock, Hub


async def chain(hub: Hub, token: str, alert_id: str, expect: int = 200) -> Any:
    return await hub.call("GET", f"/api/v1/alerts/{alert_id}/chain", token, expect=expect)


async def setup(hub: Hub) -> tuple[str, str, str]:
    """A publisher, a partner inside the test area and its token."""
    publisher = await hub.publisher()
    org, desk = await hub.partner("Bay Tower Security", INSIDE)
    return publisher, org, desk


async def test_an_alert_and_its_updates_are_one_incident_from_any_message(hub: Hub) -> None:
    publisher, org, desk = await setup(hub)
    alert = await hub.publish(publisher)
    first = await chain(hub, publisher, alert["id"])
    assert (first["id"], first["state"], first["state_label"]) == (alert["id"], "live", "Live")
    assert [m["label"] for m in first["messages"]] == [f"Alert #{alert['seq']}"]
    assert first["organisations"][org] == "Bay Tower Security"
    assert first["reach"]["organisations"] == 1 and first["answers"]["answered"] == 0
    await hub.call("POST", f"/api/v1/alerts/{alert['id']}/acks", desk, expect=201,
                   json={"status": "acknowledged"})
    update = await hub.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher,
                            expect=201, json={"headline": "Package moved to Bay St"})
    # The update's id names the same incident.
    for opened in (alert["id"], update["id"]):
        incident = await chain(hub, publisher, opened)
        assert incident["id"] == alert["id"] and incident["state"] == "updated"
        assert [m["msg_type"] for m in incident["messages"]] == ["Alert", "Update"]
        assert {d["alert_id"] for d in incident["deliveries"]} == {alert["id"], update["id"]}
        assert [a["status"] for a in incident["acks"]] == ["acknowledged"]
        assert incident["answers"]["answered"] == 1
    # The partner sees the chain too, and only its own organisation's part of it.
    seen = await chain(hub, desk, update["id"])
    assert seen["state"] == "updated" and set(seen["organisations"]) <= {
        org, seen["sender_organisation_id"]}
    assert {d["organisation_id"] for d in seen["deliveries"]} == {org}


@pytest.mark.parametrize(("change", "state"), [
    ({"urgency": "Past", "headline": "ALL CLEAR: King St W reopened"}, "all_clear"),
    (None, "cancelled"),
])
async def test_all_clear_and_cancel_end_the_incident(hub: Hub, change: Any, state: str) -> None:
    publisher, _, _ = await setup(hub)
    alert = await hub.publish(publisher)
    if change is None:
        await hub.call("POST", f"/api/v1/alerts/{alert['id']}/cancel", publisher, expect=201,
                       json={})
    else:
        await hub.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher, expect=201,
                       json=change)
    assert (await chain(hub, publisher, alert["id"]))["state"] == state


async def test_expired_and_reached_nobody(hub: Hub, clock: Clock) -> None:
    publisher, _, _ = await setup(hub)
    lasting = await hub.publish(publisher, expires=(clock.now + timedelta(hours=1)).isoformat())
    nobody = await hub.publish(publisher, area={"circle": {
        "lat": OUTSIDE["lat"], "lon": OUTSIDE["lon"], "radius_m": 50}})
    empty = await chain(hub, publisher, nobody["id"])
    assert empty["state"] == "reached_nobody" and "area" in empty["why"]
    assert (await chain(hub, publisher, lasting["id"]))["state"] == "live"
    clock.advance(3601)
    assert (await chain(hub, publisher, lasting["id"]))["state"] == "expired"


async def test_pending_and_rejected_are_said(aiohttp_client: Any,
                                             make_app: Callable[..., web.Application],
                                             clock: Clock) -> None:
    hub = Hub(await aiohttp_client(make_app(approval_for="Extreme")), clock)
    police = await hub.organisation("Toronto Police Service", "police")
    publisher = await hub.token(police, "publisher")
    approver = await hub.token(police, "approver")
    held = await hub.publish(publisher, severity="Extreme")
    assert (await chain(hub, publisher, held["id"]))["state"] == "pending"
    await hub.call("POST", f"/api/v1/alerts/{held['id']}/reject", approver, expect=200,
                   json={"note": "wrong junction"})
    rejected = await chain(hub, publisher, held["id"])
    assert (rejected["state"], rejected["why"]) == ("withheld", "the approver rejected it")


async def test_the_author_withdraws_a_pending_alert_and_nobody_else_may(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock) -> None:
    hub = Hub(await aiohttp_client(make_app(approval_for="Extreme")), clock)
    police = await hub.organisation("Toronto Police Service", "police")
    author = await hub.token(police, "publisher")
    colleague = await hub.token(police, "publisher")
    approver = await hub.token(police, "approver")
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    held = await hub.publish(author, severity="Extreme")
    # The would-be reach is on the incident while it waits.
    waiting = await chain(hub, author, held["id"])
    assert waiting["state"] == "pending" and waiting["reach"]["deliveries"] == 0
    await hub.call("POST", f"/api/v1/alerts/{held['id']}/withdraw", colleague, expect=403)
    await hub.call("POST", f"/api/v1/alerts/{held['id']}/withdraw", desk, expect=403)
    taken = await hub.call("POST", f"/api/v1/alerts/{held['id']}/withdraw", author, expect=200)
    assert taken["status"] == "withdrawn"
    incident = await chain(hub, author, held["id"])
    assert (incident["state"], incident["why"]) == (
        "withheld", "its author withdrew it before approval")
    await hub.call("POST", f"/api/v1/alerts/{held['id']}/approve", approver, expect=409)
    await hub.call("POST", f"/api/v1/alerts/{held['id']}/withdraw", author, expect=409)
    published = await hub.publish(author)
    await hub.call("POST", f"/api/v1/alerts/{published['id']}/withdraw", author, expect=409)
    assert (await chain(hub, author, published["id"]))["state"] == "live"


async def test_a_cap_test_message_is_withheld_with_why(hub: Hub) -> None:
    publisher, _, _ = await setup(hub)
    created = await send(hub, publisher, cap_alert("TEST-1", status="Test"))
    incident = await chain(hub, publisher, created["id"])
    assert incident["state"] == "withheld" and incident["why"] == created["withheld"]
    assert incident["cap"]["identifier"] == "TEST-1"
    assert incident["cap_message_id"] == created["id"]


async def test_an_escalation_to_nobody_says_no_working_channel(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock) -> None:
    # Email is off, so the secondary contact (email only) cannot be reached on any channel.
    hub = Hub(await aiohttp_client(make_app(worker=True, smtp_url=None)), clock)
    await hub.client.app[ESCALATOR].close()
    publisher, org, desk = await setup(hub)
    await hub.contact(org, "Night Manager", tier="secondary", email="night@bay.example")
    alert = await hub.publish(publisher, ack_within_s=60)
    before = await chain(hub, publisher, alert["id"])
    assert before["overdue"] == [] and before["deadline"] is not None
    [timer] = before["escalations"]
    assert (timer["status"], timer["overdue"], timer["no_working_channel"]) == (
        "pending", False, False)
    clock.advance(61)
    overdue = await chain(hub, publisher, alert["id"])
    assert overdue["overdue"] == [org] and overdue["escalations"][0]["overdue"]
    assert await hub.client.app[ESCALATOR].run_once() == 1
    fired = (await chain(hub, publisher, alert["id"]))["escalations"][0]
    assert (fired["status"], fired["deliveries"], fired["no_working_channel"]) == (
        "fired", [], True)
    # An answer, late, ends the overdue list.
    await hub.call("POST", f"/api/v1/alerts/{alert['id']}/acks", desk, expect=201,
                   json={"status": "received"})
    assert (await chain(hub, publisher, alert["id"]))["overdue"] == []


async def test_unknown_and_invisible_incidents_are_404(hub: Hub) -> None:
    publisher, _, _ = await setup(hub)
    _, other = await hub.partner("Yorkville BIA", OUTSIDE)
    alert = await hub.publish(publisher, tlp="TLP:AMBER")
    await chain(hub, other, alert["id"], expect=404)
    await chain(hub, publisher, "0" * 32, expect=404)


async def test_the_console_lists_one_row_per_incident_with_its_state(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    publisher, _, desk = await setup(hub)
    police = (await hub.call("GET", "/api/v1/alerts", publisher, expect=200))
    assert police == []
    live = await hub.publish(publisher, headline="Armed person, Bay St")
    hub.clock.advance(60)
    cancelled = await hub.publish(publisher, headline="Road closure, King St W")
    await hub.call("POST", f"/api/v1/alerts/{cancelled['id']}/update", publisher, expect=201,
                   json={"headline": "Road closure, King St W, both ways"})
    await hub.call("POST", f"/api/v1/alerts/{cancelled['id']}/cancel", publisher, expect=201,
                   json={})
    await hub.call("POST", f"/api/v1/alerts/{live['id']}/acks", desk, expect=201,
                   json={"status": "acknowledged"})
    org = (await hub.call("GET", f"/api/v1/alerts/{live['id']}", publisher))[
        "sender_organisation_id"]
    await hub.person(org, "publisher", "pub@tps.example")
    browser = browsers()
    await browser.sign_in("pub@tps.example")
    await browser.enrol()
    page = await browser.call("GET", "/", 200)
    rows = page.split('<tr class="incident')[1:]
    assert len(rows) == 2, page  # three messages of the second incident, one row
    assert "Road closure, King St W, both ways" in rows[0] and "Cancelled" in rows[0]
    assert "3 messages" in rows[0]
    assert "Armed person, Bay St" in rows[1] and "Live" in rows[1]
    assert "1 of 1 organisations answered" in rows[1]
    assert "published" not in "".join(rows).lower().replace("unpublished", "")


async def test_an_id_that_is_no_id_is_404(hub: Hub) -> None:
    publisher, _, _ = await setup(hub)
    response = await hub.client.get("/api/v1/alerts/not-an-id/chain",
                                    headers=hub.auth(publisher))
    assert response.status == 404
