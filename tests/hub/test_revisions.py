"""Updates and cancellations reach everyone the original reached; a cancel stops escalation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.app import ESCALATOR
from hub.escalation import Escalator
from hub.http import CLOCK, PUBLISHING, SESSIONS
from tests.conftest import INSIDE, OUTSIDE, SQUARE, Clock, Hub
from tests.hub.conftest import Sink, settled
from tests.hub.test_alert_validation import row_counts
from tests.hub.test_feed import next_frame, resumed

BIGGER = [[-79.3950, 43.6450], [-79.3750, 43.6450], [-79.3750, 43.6750],
          [-79.3950, 43.6750], [-79.3950, 43.6450]]


async def enrol(hub: Hub) -> tuple[str, str]:
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.contact(org, "Primary Pat", email="pat@example.org")
    await hub.contact(org, "Second Sam", tier="secondary", email="sam@example.org")
    return org, await hub.token(org, "partner")


async def test_update_and_cancel_reach_everyone_the_original_reached(
        working_hub: Any, sink: Sink, clock: Clock) -> None:
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    _, desk = await enrol(hub)
    ws = await resumed(hub, desk)
    original = await hub.publish(publisher, ack_within_s=60)
    assert (await next_frame(ws))["type"] == "alert"
    clock.advance(61)
    assert await hub.client.app[ESCALATOR].run_once() == 1  # Sam joins by escalation
    await settled(hub, publisher, original["id"])
    updated = await hub.call("POST", f"/api/v1/alerts/{original['id']}/update", publisher,
                             expect=201, json={"instruction": "Evacuate the north lobby.",
                                               "severity": "Extreme"})
    assert (updated["msg_type"], updated["references"]) == ("Update", original["id"])
    frame = await next_frame(ws)
    assert (frame["type"], frame["seq"]) == ("update", updated["seq"])
    assert frame["alert"]["instruction"] == "Evacuate the north lobby."
    rows = await settled(hub, publisher, updated["id"])
    assert sorted(r["recipient"].split(" <")[0] for r in rows) == ["Primary Pat", "Second Sam"]
    cancelled = await hub.call("POST", f"/api/v1/alerts/{updated['id']}/cancel", publisher,
                               expect=201, json={"note": "All clear: the bag was lost luggage."})
    assert cancelled["references"] == original["id"]
    frame = await next_frame(ws)
    assert (frame["type"], frame["alert"]["description"]) == (
        "cancel", "All clear: the bag was lost luggage.")
    await settled(hub, publisher, cancelled["id"])
    # Subjects read "[TLP:GREEN] UPDATE: EXTREME: ..."; keep the word after the label.
    subjects = sorted((str(m["To"]), str(m["Subject"]).split("] ", 1)[1].split(":")[0])
                      for m in sink.messages)
    assert subjects == [("pat@example.org", "CANCELLED"), ("pat@example.org", "SEVERE"),
                        ("pat@example.org", "UPDATE"), ("sam@example.org", "CANCELLED"),
                        ("sam@example.org", "SEVERE"), ("sam@example.org", "UPDATE")]
    await ws.close()


async def test_cancel_stops_pending_escalation(working_hub: Any, sink: Sink,
                                               clock: Clock) -> None:
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    await enrol(hub)
    original = await hub.publish(publisher, ack_within_s=300)
    await hub.call("POST", f"/api/v1/alerts/{original['id']}/cancel", publisher, expect=201)
    clock.advance(3600)
    assert await hub.client.app[ESCALATOR].run_once() == 0
    await settled(hub, publisher, original["id"])
    assert "sam@example.org" not in sink.recipients()


async def test_an_expired_alert_neither_escalates_nor_arrives_late(working_hub: Any, sink: Sink,
                                                                  clock: Clock) -> None:
    sink.stop()  # the mail server is down until after the alert has expired
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    await enrol(hub)
    alert = await hub.publish(publisher, ack_within_s=60,
                              expires=(clock.now + timedelta(minutes=2)).isoformat())
    clock.advance(3600)
    assert await hub.client.app[ESCALATOR].run_once() == 0
    sink.start()
    rows = await settled(hub, publisher, alert["id"])
    assert [(r["status"], r["last_error"]) for r in rows] == [
        ("dead", "the alert expired before it could be sent")]
    assert sink.messages == []


async def test_update_may_widen_the_area_and_reaches_the_newcomers(hub: Hub) -> None:
    publisher = await hub.publisher()
    await enrol(hub)
    newcomer, _ = await hub.partner("Yorkville Offices", OUTSIDE)
    original = await hub.publish(publisher)
    assert original["targets"]["organisations"] == 1
    updated = await hub.call("POST", f"/api/v1/alerts/{original['id']}/update", publisher,
                             expect=201, json={"area": {"type": "Polygon",
                                                        "coordinates": [BIGGER]}})
    assert updated["targets"]["organisations"] == 2
    rows = await hub.call("GET", f"/api/v1/alerts/{updated['id']}/deliveries", publisher)
    assert newcomer in {r["organisation_id"] for r in rows}


async def test_stricter_label_drops_group_channels(hub: Hub) -> None:
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.contact(org, "Ana Lima", email="ana@example.org", chat_url="json://127.0.0.1:9/a")
    original = await hub.publish(publisher, tlp="TLP:GREEN")
    updated = await hub.call("POST", f"/api/v1/alerts/{original['id']}/update", publisher,
                             expect=201, json={"tlp": "TLP:RED"})
    rows = await hub.call("GET", f"/api/v1/alerts/{updated['id']}/deliveries", publisher)
    assert sorted(r["channel"] for r in rows) == ["email", "feed"]
    assert all(r["recipient"].startswith("Ana Lima") for r in rows)


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"tlp": "TLP:CLEAR"}, "tlp", 409),  # well formed, but looser than the alert it updates
    ({"severity": "Huge"}, "severity", 422), ({"headline": None}, "headline", 422),
    ({"area": {"circle": {"lat": 43.6, "lon": -79.3, "radius_m": -1}}}, "area.circle.radius_m",
     422),
    ({"sideways": True}, "sideways", 422), ([1, 2], "body", 422),
])
async def test_bad_update_is_refused_and_stores_nothing(hub: Hub, body: Any, field: str,
                                                        status: int) -> None:
    publisher = await hub.publisher()
    await enrol(hub)
    original = await hub.publish(publisher, tlp="TLP:AMBER")
    before = await row_counts(hub)
    response = await hub.client.post(f"/api/v1/alerts/{original['id']}/update",
                                     headers=hub.auth(publisher), json=body)
    assert response.status == status
    assert field in (await response.json())["fields"]
    assert await row_counts(hub) == before


async def test_who_may_revise_and_when(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, desk = await enrol(hub)
    other_police = await hub.organisation("York Regional Police", "police")
    stranger = await hub.token(other_police, "publisher")
    original = await hub.publish(publisher)
    path = f"/api/v1/alerts/{original['id']}"
    assert (await hub.client.post(f"{path}/cancel", headers=hub.auth(desk))).status == 403
    assert (await hub.client.post(f"{path}/cancel", headers=hub.auth(stranger))).status == 404
    assert (await hub.client.post("/api/v1/alerts/nope/cancel",
                                  headers=hub.auth(publisher))).status == 404
    bad_note = await hub.client.post(f"{path}/cancel", headers=hub.auth(publisher),
                                     json={"note": 5})
    assert bad_note.status == 422
    await hub.call("POST", f"{path}/cancel", publisher, expect=201)
    for action in ("cancel", "update"):
        again = await hub.client.post(f"{path}/{action}", headers=hub.auth(publisher), json={})
        assert again.status == 409
        assert (await again.json())["error"] == "cancelled"


async def test_an_ack_to_an_update_stops_the_original_escalation(hub: Hub, clock: Clock) -> None:
    publisher = await hub.publisher()
    _, desk = await enrol(hub)
    original = await hub.publish(publisher, ack_within_s=300, area={"type": "Polygon",
                                                                    "coordinates": [SQUARE]})
    updated = await hub.call("POST", f"/api/v1/alerts/{original['id']}/update", publisher,
                             expect=201, json={"headline": "Package, corrected corner"})
    await hub.call("POST", f"/api/v1/alerts/{updated['id']}/acks", desk, expect=201,
                   json={"status": "acknowledged"})
    clock.advance(3600)
    escalator = Escalator(hub.client.app[SESSIONS], hub.client.app[CLOCK],
                          hub.client.app[PUBLISHING].channels,
                          lambda: None)
    assert await escalator.run_once() == 0
