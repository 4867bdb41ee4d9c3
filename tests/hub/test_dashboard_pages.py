"""The alert dashboard and approval queue pages: who gets them, and what they are rendered with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from yarl import URL

from tests.conftest import INSIDE, Browser, Clock, Hub


@pytest.fixture
async def hub(aiohttp_client: Any, make_app: Callable[..., web.Application],
              clock: Clock) -> Hub:
    # The shipped approval policy, so Extreme alerts wait in the queue; others publish at once.
    return Hub(await aiohttp_client(make_app(approval_for="TLP:RED,Extreme")), clock)


async def scene(hub: Hub) -> dict[str, str]:
    police = await hub.organisation("Toronto Police Service", "police")
    york = await hub.organisation("York Regional Police", "police")
    partner_org, partner = await hub.partner("Bay Tower Security", INSIDE)
    return {"police": police, "york": york, "partner_org": partner_org, "partner": partner,
            "publisher": await hub.token(police, "publisher"),
            "york_publisher": await hub.token(york, "publisher")}


async def signed_in(hub: Hub, browsers: Callable[[], Browser], organisation: str, role: str,
                    email: str) -> Browser:
    """A person of this role signed in with a browser, with the second factor when needed."""
    await hub.person(organisation, role, email)
    browser = browsers()
    step = (await browser.sign_in(email))["step"]
    if step == "enrol":
        await browser.enrol()
    return browser


async def test_the_publisher_gets_the_dashboard_with_its_script_and_forms(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    s = await scene(hub)
    alert = await hub.publish(s["publisher"])
    browser = await signed_in(hub, browsers, s["police"], "publisher", "pub@tps.example")
    page = await browser.call("GET", f"/alerts/{alert['id']}", 200)
    assert '<script src="/static/dashboard.js">' in page
    assert '/static/vendor/leaflet/leaflet.js' in page
    assert "Suspicious package, King St W &amp; Bay St" in page
    assert f'data-alert="{alert["id"]}"' in page
    assert "Bay Tower Security" in page  # the names of the organisations it reached
    for form in ("update-form", "all-clear-form", "cancel-form"):
        assert f'id="{form}"' in page
    assert 'name="csrf-token"' in page


async def test_an_approver_watches_without_the_publishers_forms(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    s = await scene(hub)
    alert = await hub.publish(s["publisher"])
    browser = await signed_in(hub, browsers, s["police"], "approver", "apr@tps.example")
    page = await browser.call("GET", f"/alerts/{alert['id']}", 200)
    assert "dashboard.js" in page and 'id="update-form"' not in page


async def test_a_revision_opens_the_dashboard_of_its_original(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    s = await scene(hub)
    alert = await hub.publish(s["publisher"])
    update = await hub.call("POST", f"/api/v1/alerts/{alert['id']}/update", s["publisher"],
                            expect=201, json={"headline": "Package cleared, street reopening"})
    browser = await signed_in(hub, browsers, s["police"], "publisher", "pub@tps.example")
    page = await browser.call("GET", f"/alerts/{update['id']}", 200)
    assert f'data-alert="{alert["id"]}"' in page


async def test_another_police_service_and_unknown_ids_get_the_not_found_page(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    s = await scene(hub)
    theirs = await hub.publish(s["york_publisher"], area={"circle": {
        "lat": 43.85, "lon": -79.43, "radius_m": 300}})  # nowhere near Toronto's sites
    browser = await signed_in(hub, browsers, s["police"], "publisher", "pub@tps.example")
    for alert_id in (theirs["id"], "no-such-alert"):
        page = await browser.call("GET", f"/alerts/{alert_id}", 404)
        assert "No such alert" in page and "dashboard.js" not in page


async def test_a_targeted_service_sees_only_its_own_and_the_senders_names(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    s = await scene(hub)
    peel = await hub.organisation("Peel Regional Police", "police", [INSIDE])
    alert = await hub.publish(s["publisher"])
    browser = await signed_in(hub, browsers, peel, "publisher", "pub@peel.example")
    page = await browser.call("GET", f"/alerts/{alert['id']}", 200)
    assert "Peel Regional Police" in page and "Toronto Police Service" in page
    assert "Bay Tower Security" not in page
    assert 'id="update-form"' not in page  # only the sending service may change it


async def test_partners_tokens_and_strangers_are_refused(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    s = await scene(hub)
    alert = await hub.publish(s["publisher"])
    path = f"/alerts/{alert['id']}"
    desk = await signed_in(hub, browsers, s["partner_org"], "partner", "desk@bay.example")
    await desk.call("GET", path, 403)
    await desk.call("GET", "/approvals", 403)
    for token in (s["publisher"], s["partner"]):
        for page in (path, "/approvals"):
            response = await hub.client.get(page, headers=hub.auth(token))
            assert response.status == 403, page
    for page in (path, "/approvals"):
        response = await hub.client.get(page, allow_redirects=False)
        assert response.status == 303
        assert URL(response.headers["Location"]).query["next"] == page


async def test_the_approver_sees_their_services_pending_alerts_with_their_reach(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    s = await scene(hub)
    await hub.contact(s["partner_org"], "Ana Lima", email="ana@bay.example")
    held = await hub.publish(s["publisher"], severity="Extreme",
                             headline="Armed person, Union Station")
    published = await hub.publish(s["publisher"], headline="Road closure, Front St")
    foreign = await hub.publish(s["york_publisher"], severity="Extreme",
                                headline="Held in York")
    assert held["status"] == foreign["status"] == "pending"
    approver = await signed_in(hub, browsers, s["police"], "approver", "apr@tps.example")
    page = await approver.call("GET", "/approvals", 200)
    assert "Armed person, Union Station" in page and f'data-alert="{held["id"]}"' in page
    assert "Road closure" not in page and "Held in York" not in page
    assert "1 organisations, 2 contacts, 0 residents" in page
    assert "dashboard.js" in page and "data-approve" in page and 'name="note"' in page
    await approver.call("POST", f"/api/v1/alerts/{held['id']}/approve", 200)
    page = await approver.call("GET", "/approvals", 200)
    assert "Armed person" not in page and "Nothing is waiting for approval." in page
    assert published["status"] == "published"


async def test_a_publisher_may_not_open_the_approval_queue(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    s = await scene(hub)
    publisher = await signed_in(hub, browsers, s["police"], "publisher", "pub@tps.example")
    await publisher.call("GET", "/approvals", 403)


async def test_a_held_alerts_dashboard_shows_it_pending(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    s = await scene(hub)
    held = await hub.publish(s["publisher"], severity="Extreme")
    browser = await signed_in(hub, browsers, s["police"], "publisher", "pub@tps.example")
    page = await browser.call("GET", f"/alerts/{held['id']}", 200)
    assert '<dd id="status">Pending approval</dd>' in page and "not yet" in page
