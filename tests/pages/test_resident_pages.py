"""A resident on a phone: subscribe by tapping the map, confirm by email, change the area,
cancel; and the public alerts page anyone can open."""

from __future__ import annotations

from playwright.async_api import expect

from tests.conftest import SQUARE
from tests.pages.conftest import LiveHub, screenshot

PHONE = {"width": 390, "height": 844}


async def test_a_resident_subscribes_on_a_phone_then_changes_the_area_and_cancels(
        live: LiveHub) -> None:
    page = await live.page(viewport=PHONE)
    await page.goto("/subscribe")
    await page.locator("#pick-map").click()  # a tap in the middle of the map
    await expect(page.locator("[data-place-status]")).to_contain_text("Centre set on the map")
    assert await page.get_by_label("Latitude").input_value() != ""
    await page.get_by_label("Distance around it").select_option("2000")
    await page.get_by_label("Your email address").fill("sam@resident.example")
    await screenshot(page, "subscribe")
    await page.get_by_role("button", name="Send me a confirmation email").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    secret = await live.sink.subscription_secret()
    assert live.sink.messages[-1]["To"] == "sam@resident.example"
    await page.goto(f"/subscribe/confirm/{secret}")
    await page.get_by_role("button", name="Yes, send me alerts for this area").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")
    await page.get_by_role("link", name="Change the area or cancel").click()

    await expect(page.locator("dl.facts")).to_contain_text("Within 2 km")
    await page.get_by_label("Latitude").fill("43.64810")
    await page.get_by_label("Longitude").fill("-79.38050")
    await page.get_by_label("Distance around it").select_option("5000")
    await page.get_by_role("button", name="Save the new area").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved")
    await expect(page.locator("dl.facts")).to_contain_text("Within 5 km of 43.64810, -79.38050")
    await expect(page.locator("#pick-map path.leaflet-interactive")).to_have_count(2)
    await screenshot(page, "subscribe-manage")
    await page.get_by_role("button", name="Cancel my subscription").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    assert (await page.goto(f"/subscribe/manage/{secret}")).status == 404  # type: ignore[union-attr]


async def test_anyone_reads_the_public_alerts_with_their_feed(live: LiveHub) -> None:
    publisher = await live.api.publisher()
    area = {"type": "Polygon", "coordinates": [SQUARE]}
    await live.api.publish(publisher, tlp="TLP:CLEAR", headline="Road closed on Bay St",
                           area=area)
    await live.api.publish(publisher, tlp="TLP:GREEN", headline="Partners only")
    page = await live.page(viewport=PHONE, timezone_id="America/Toronto")
    await page.goto("/public")
    card = page.get_by_role("article", name="Road closed on Bay St")
    await expect(card).to_be_visible()
    await expect(card.locator("time").first).to_contain_text("12:00")  # the viewer's zone
    await expect(page.get_by_text("Partners only")).to_have_count(0)
    await expect(page.locator("#public-map path.leaflet-interactive")).to_have_count(1)
    await expect(page.get_by_role("link", name="Atom feed of public alerts")).to_have_attribute(
        "href", "/feeds/alerts.atom")
    await screenshot(page, "public-alerts")
