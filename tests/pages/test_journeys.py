"""The issue's three journeys, end to end in Chromium against a running hub:
publisher to desk and back, and a resident from sign-up to unsubscribe."""

from __future__ import annotations

import asyncio
import re
from email.message import Message

from playwright.async_api import expect

from tests.conftest import INSIDE, OUTSIDE
from tests.pages.conftest import LiveHub, screenshot
from tests.pages.test_console import draw_square


async def test_publisher_sends_desk_sees_it_live_and_its_ack_reaches_the_dashboard(
        live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher = await live.person(police, "publisher", "publisher@tps.example")
    tower = await live.api.organisation("Bay St Tower Security", "corporate", [INSIDE])
    await live.api.contact(tower, "Tower Desk")
    await live.api.organisation("Yorkville Office", "corporate", [OUTSIDE])
    guard = await live.person(tower, "partner", "guard@bay.example")

    desk = await live.page()  # a second browser context: the security desk's own browser
    await live.sign_in(desk, guard)
    await desk.goto("/desk")
    await expect(desk.locator(".status.online")).to_have_text("Live")

    console = await live.page()
    await live.sign_in(console, publisher)  # password, then the authenticator code
    await console.goto("/")
    await console.get_by_label("Headline").fill("Suspicious package, King St W & Bay St")
    await console.get_by_label("Instruction").fill("Keep staff away from the north lobby.")
    await draw_square(console)
    await console.get_by_role("button", name="Preview reach").click()
    await expect(console.locator("#reach")).to_contain_text("Organisations: Bay St Tower Security.")
    await console.get_by_role("button", name="Send alert").click()
    await console.wait_for_url(re.compile(r"/alerts/\w+$"))
    alert_id = console.url.rsplit("/", 1)[1]
    summary = console.locator("#summary")
    await expect(summary).to_contain_text("0 of 1 organisations acknowledged")

    card = desk.locator(f"#alert-{alert_id}")  # arrived over the WebSocket, no reload
    await expect(card.locator(".banner")).to_contain_text("Suspicious package, King St W & Bay St")
    await screenshot(desk, "journey-desk")
    await card.get_by_role("button", name="Responding").click()
    await expect(card.locator(".answered")).to_contain_text("You answered: Responding")

    await expect(summary).to_contain_text("1 of 1 organisations acknowledged")
    row = console.locator("#acks tbody tr", has_text="Bay St Tower Security")
    await expect(row).to_contain_text("Responding")
    await screenshot(console, "journey-dashboard")


async def email_to(live: LiveHub, address: str, header: str) -> Message:
    """The first message to this address carrying this header, once the worker sent it."""
    for _ in range(200):
        for message in live.sink.messages:
            if message["To"] == address and message[header]:
                return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no email with {header} reached {address}")


def body_of(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def test_resident_subscribes_confirms_hears_a_public_alert_and_unsubscribes(
        live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher = await live.api.token(police, "publisher")
    page = await live.page(viewport={"width": 390, "height": 844})  # a phone
    await page.goto("/subscribe")
    pick = page.locator("#pick-map")
    await pick.click()  # the middle of the map: the resident's point
    await expect(page.get_by_label("Latitude")).not_to_have_value("")
    lat = float(await page.get_by_label("Latitude").input_value())
    lon = float(await page.get_by_label("Longitude").input_value())
    await page.get_by_label("Distance around it").select_option("500")
    await page.get_by_label("Your email address").fill("resident@home.example")
    await screenshot(page, "journey-subscribe")
    await page.get_by_role("button", name="Send me a confirmation email").click()

    confirmation = await email_to(live, "resident@home.example", "Subject")
    link = re.search(r"https?://\S+/subscribe/confirm/vgs_[\w-]+", body_of(confirmation))
    assert link is not None
    await page.goto(link.group(0))
    await page.get_by_role("button", name="Yes, send me alerts for this area").click()
    await expect(page.locator("main")).to_contain_text("You are subscribed")
    await expect(page.get_by_role("link", name="Change the area or cancel")).to_have_attribute(
        "href", re.compile(r"^/subscribe/manage/vgs_"))

    # A public alert 300 m away with a 400 m radius touches the resident's 500 m circle.
    await live.api.call("POST", "/api/v1/alerts", publisher, expect=201, json={
        "headline": "Road closure, Front St W", "event": "Road closure", "severity": "Moderate",
        "urgency": "Immediate", "certainty": "Observed", "tlp": "TLP:CLEAR",
        "instruction": "Use King St W instead.",
        "area": {"circle": {"lat": lat + 0.0027, "lon": lon, "radius_m": 400}}})
    alert = await email_to(live, "resident@home.example", "X-Vigil-Alert")
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = alert["List-Unsubscribe"].strip("<>")
    assert unsubscribe in body_of(alert)

    await page.goto(unsubscribe)
    await page.get_by_role("button", name="Unsubscribe").click()
    await expect(page.locator("main")).to_contain_text("unsubscribed")
    await screenshot(page, "journey-unsubscribed")
    rows = await live.api.call("GET", f"/api/v1/alerts/{alert['X-Vigil-Alert']}/deliveries",
                               publisher)
    assert [r["recipient"] for r in rows if r["recipient"].startswith("resident")]
