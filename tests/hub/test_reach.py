"""Reach before sending (preview, preset areas) and residents reached by public alerts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sqlmodel import func, select

from hub.app import DISPATCHER
from hub.geo import parse_area
from hub.http import SESSIONS, SETTINGS
from hub.models import Alert, Delivery
from partners.models import Organisation, Subscription, SubscriptionStatus
from partners.residents import unsubscribe_token
from tests.conftest import INSIDE, OUTSIDE, SQUARE, Hub, alert_body
from tests.hub.conftest import Sink

NEAR = {"lat": 43.6481, "lon": -79.3805}  # inside the square
FAR = {"lat": 43.6710, "lon": -79.3920}  # Yorkville, 2.6 km away


async def resident(hub: Hub, email: str, lat: float, lon: float, radius_m: int,
                   status: str = SubscriptionStatus.ACTIVE) -> str:
    async with hub.client.app[SESSIONS]() as session:
        row = Subscription(email=email, lat=lat, lon=lon, radius_m=radius_m,
                           token_hash=email, status=status)
        session.add(row)
        await session.commit()
        return row.id


async def count(hub: Hub, table: type) -> int:
    async with hub.client.app[SESSIONS]() as session:
        return int((await session.exec(select(func.count()).select_from(table))).one())


async def test_preview_counts_whom_and_how_and_writes_nothing(hub: Hub) -> None:
    publisher = await hub.publisher()
    inside = await hub.organisation("Bay St Tower", "corporate", [INSIDE])
    await hub.contact(inside, "Tower Desk", chat_url="json://127.0.0.1:9/hook",
                      email="desk@tower.example")
    await hub.organisation("Yorkville Office", "corporate", [OUTSIDE])
    await resident(hub, "near@home.example", **NEAR, radius_m=200)
    await resident(hub, "far@home.example", **FAR, radius_m=200)
    await resident(hub, "pending@home.example", **NEAR, radius_m=200,
                   status=SubscriptionStatus.PENDING)
    reach = await hub.call("POST", "/api/v1/alerts/preview", publisher, expect=200,
                           json=alert_body(tlp="TLP:CLEAR"))
    assert reach == {"organisations": 1, "contacts": 1, "residents": 1, "sites": 1,
                     "channels": {"chat": 1, "email": 2, "feed": 1},
                     "organisation_names": ["Bay St Tower"], "needs_approval": False}
    green = await hub.call("POST", "/api/v1/alerts/preview", publisher, expect=200,
                           json=alert_body(tlp="TLP:GREEN"))
    assert green["residents"] == 0 and green["channels"] == {"chat": 1, "email": 1, "feed": 1}
    assert await count(hub, Alert) == 0 and await count(hub, Delivery) == 0


async def test_the_publisher_map_gets_every_partner_site_and_the_count_inside(
        hub: Hub) -> None:
    publisher = await hub.publisher()
    second = {"name": "Bay St annex", "lat": 43.6483, "lon": -79.3809}
    tower = await hub.organisation("Bay St Tower", "corporate", [INSIDE, second])
    yorkville = await hub.organisation("Yorkville Office", "corporate", [OUTSIDE])
    sites = await hub.call("GET", "/api/v1/sites", publisher, expect=200)
    assert [(s["organisation_name"], s["name"], s["organisation_id"], s["kind"])
            for s in sites] == [("Bay St Tower", "Bay St annex", tower, "corporate"),
                                ("Bay St Tower", "Bay St tower", tower, "corporate"),
                                ("Yorkville Office", "Yorkville office", yorkville, "corporate")]
    assert sites[1]["lat"] == INSIDE["lat"] and sites[1]["lon"] == INSIDE["lon"]
    reach = await hub.call("POST", "/api/v1/alerts/preview", publisher, expect=200,
                           json=alert_body())
    assert (reach["organisations"], reach["sites"]) == (1, 2)
    # A partner's desk does not get the other partners' sites.
    partner = await hub.token(tower, "partner")
    await hub.call("GET", "/api/v1/sites", partner, expect=403)


async def test_preview_refuses_bad_bodies_naming_the_field(hub: Hub) -> None:
    publisher = await hub.publisher()
    bad = await hub.call("POST", "/api/v1/alerts/preview", publisher, expect=422,
                         json=alert_body(tlp="TLP:PURPLE", area={"circle": {"lat": 43.6}}))
    assert {"tlp", "area.circle.lon"} <= set(bad["fields"])
    partner = await hub.token(await hub.organisation("Desk", "corporate", [INSIDE]), "partner")
    await hub.call("POST", "/api/v1/alerts/preview", partner, expect=403, json=alert_body())


async def test_preset_areas_are_the_boundaries_of_organisations_that_have_one(hub: Hub) -> None:
    publisher = await hub.publisher()
    bia = await hub.organisation("King West BIA", "bia")
    await hub.organisation("No Boundary BIA", "bia")
    boundary = {"type": "Polygon", "coordinates": [SQUARE]}
    async with hub.client.app[SESSIONS]() as session:
        row = await session.get(Organisation, bia)
        assert row is not None
        row.boundary = boundary
        session.add(row)
        await session.commit()
    areas = await hub.call("GET", "/api/v1/areas", publisher, expect=200)
    assert areas == [{"organisation_id": bia, "name": "King West BIA", "kind": "bia",
                      "area": boundary}]


def test_an_area_reaches_circles_that_touch_it() -> None:
    square = parse_area({"type": "Polygon", "coordinates": [SQUARE]})
    north = 43.6495 + 500 / 111_195  # 500 m north of the square's top edge
    lats, lons = np.array([north, north, 43.648]), np.array([-79.38, -79.38, -79.38])
    assert square.reaches(lats, lons, np.array([400, 600, 100])).tolist() == [False, True, True]
    circle = parse_area({"circle": {"lat": 43.648, "lon": -79.38, "radius_m": 300}})
    assert circle.reaches(np.array([north]), np.array([-79.38]), np.array([100])).tolist() \
        == [False]  # 667 m apart, 400 m of radii
    assert circle.reaches(np.array([north]), np.array([-79.38]), np.array([400])).tolist() \
        == [True]


async def test_public_alerts_reach_residents_and_their_updates_follow(hub: Hub) -> None:
    publisher = await hub.publisher()
    near = await resident(hub, "near@home.example", **NEAR, radius_m=200)
    sent = await hub.publish(publisher, tlp="TLP:CLEAR")
    assert sent["targets"]["residents"] == 1
    rows = await hub.call("GET", f"/api/v1/alerts/{sent['id']}/deliveries", publisher)
    assert [r["recipient"] for r in rows] == ["resident <n***@home.example>"]
    update = await hub.call("POST", f"/api/v1/alerts/{sent['id']}/update", publisher,
                            expect=201, json={"area": {"circle": {"lat": 43.7, "lon": -79.5,
                                                                   "radius_m": 100}}})
    assert update["targets"]["residents"] == 1  # reached before, so told of the change
    stricter = await hub.call("POST", f"/api/v1/alerts/{sent['id']}/update", publisher,
                              expect=201, json={"tlp": "TLP:GREEN"})
    assert stricter["targets"]["residents"] == 0  # a partner-only update never goes public
    green = await hub.publish(publisher, tlp="TLP:GREEN")
    assert green["targets"]["residents"] == 0
    assert near


async def test_residents_get_one_click_unsubscribe_and_no_mail_after_it(
        working_hub: Callable[[int], Any], sink: Sink) -> None:
    hub = await working_hub(sink.port)
    dispatcher = hub.client.app[DISPATCHER]
    await dispatcher.loop.close()  # this test runs the worker's claims itself
    publisher = await hub.publisher()
    subscription = await resident(hub, "near@home.example", **NEAR, radius_m=200)
    first = await hub.publish(publisher, tlp="TLP:CLEAR")
    await dispatcher.run_once()
    await dispatcher.settle()
    [mail] = [m for m in sink.messages if m["To"] == "near@home.example"]
    token = unsubscribe_token(subscription, hub.client.app[SETTINGS].secret_key or "")
    assert mail["List-Unsubscribe"] == f"<{hub.client.app[SETTINGS].public_url}" \
        f"/unsubscribe/{token}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    second = await hub.publish(publisher, tlp="TLP:CLEAR")  # queued, not yet sent
    response = await hub.client.post(f"/unsubscribe/{token}",
                                     data={"List-Unsubscribe": "One-Click"})
    assert response.status == 200
    await dispatcher.run_once()
    await dispatcher.settle()
    assert len([m for m in sink.messages if m["To"] == "near@home.example"]) == 1
    rows = await hub.call("GET", f"/api/v1/alerts/{second['id']}/deliveries", publisher)
    assert [(r["status"], r["last_error"]) for r in rows] == [
        ("dead", "the resident unsubscribed")]
    third = await hub.publish(publisher, tlp="TLP:CLEAR")
    assert third["targets"]["residents"] == 0 and first["targets"]["residents"] == 1
