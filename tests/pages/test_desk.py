"""The partner desk in a real browser: live alerts, answers, a dropped feed, field reports."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.async_api import Page, expect

from hub.http import FEED
from tests.conftest import INSIDE
from tests.pages.conftest import LiveHub, screenshot


async def desk(live: LiveHub, **page_options: Any) -> tuple[Page, str]:
    """A partner at the desk with the feed live; returns the page and a publisher's token."""
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher = await live.api.token(police, "publisher")
    partner, _ = await live.api.partner("Bay Tower Security", INSIDE)
    page = await open_desk(live, partner, **page_options)
    return page, publisher


async def open_desk(live: LiveHub, partner: str, **page_options: Any) -> Page:
    """A person of the partner organisation, signed in at the desk with the feed live."""
    person = await live.person(partner, "partner", "desk@bay.example")
    page = await live.page(**page_options)
    await live.sign_in(page, person)
    await page.goto("/desk")
    await expect(page.locator(".status.online")).to_have_text("Live")
    return page


async def test_a_new_alert_appears_live_and_is_answered_in_one_click(live: LiveHub) -> None:
    page, publisher = await desk(live)
    errors: list[Exception] = []
    page.on("pageerror", lambda error: errors.append(error))
    sound = page.get_by_role("button", name="Enable sound")
    await sound.click()  # the gesture that lets the alarm play
    await expect(sound).to_have_attribute("aria-pressed", "true")
    assert await page.evaluate("localStorage.getItem('vigil-desk-sound')") == "on"
    alert = await live.api.publish(publisher)
    card = page.locator(f"#alert-{alert['id']}")
    banner = card.locator(".banner.sev-severe")
    await expect(banner).to_contain_text("Suspicious package, King St W & Bay St")
    await expect(banner).to_contain_text("Keep staff away from the north lobby.")
    await expect(banner.locator(".tlp")).to_have_text("TLP:GREEN")
    await expect(card.locator(".leaflet-overlay-pane path:not(.site-marker)")).to_have_count(1)
    await card.get_by_role("button", name="Responding").click()
    await expect(card.locator(".answered")).to_contain_text("You answered: Responding")
    await expect(card.get_by_role("button", name="Responding")).to_have_attribute(
        "aria-pressed", "true")
    await expect(card.get_by_role("button", name="Received")).to_have_attribute(
        "aria-pressed", "false")
    acks = await live.api.call("GET", f"/api/v1/alerts/{alert['id']}/acks", expect=200)
    assert [(a["status"], a["via"]) for a in acks] == [("responding", "api")]
    assert errors == []  # the alarm and the map ran without a script error
    await screenshot(page, "desk")


async def test_an_update_and_a_cancel_change_the_same_card_and_say_so(live: LiveHub) -> None:
    page, publisher = await desk(live)
    alert = await live.api.publish(publisher)
    banner = page.locator(f"#alert-{alert['id']} .banner")
    await expect(banner).to_contain_text("NEW ALERT")
    await live.api.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher, expect=201,
                        json={"severity": "Extreme", "instruction": "Evacuate the lobby."})
    await expect(banner).to_contain_text("UPDATE: Suspicious package")
    await expect(banner).to_contain_text("Evacuate the lobby.")
    await expect(banner).to_have_class(re.compile(r"\bsev-extreme\b"))
    await live.api.call("POST", f"/api/v1/alerts/{alert['id']}/cancel", publisher, expect=201,
                        json={"note": "The bag belonged to a courier."})
    await expect(banner).to_contain_text("CANCELLED: Suspicious package")
    await expect(page.locator(f"#alert-{alert['id']}")).to_contain_text(
        "The bag belonged to a courier.")
    await expect(page.locator(".alert-card")).to_have_count(1)


async def test_the_desk_resumes_after_the_connection_drops(live: LiveHub) -> None:
    page, publisher = await desk(live)
    context = page.context
    await context.set_offline(True)  # no new handshake gets through while offline
    for connected in list(live.api.client.app[FEED].desks):
        await connected.ws.close(code=1012, message=b"restart")
    lost = page.locator(".status.offline")
    await expect(lost).to_have_text("Connection lost — reconnecting…")
    await expect(page.get_by_role("button", name="Reconnect now")).to_be_visible()
    missed = await live.api.publish(publisher, headline="Road closed, Bay St")
    await screenshot(page, "desk-offline")
    await context.set_offline(False)
    await expect(page.locator(".status.online")).to_have_text("Live")
    await expect(page.locator(f"#alert-{missed['id']} .banner")).to_contain_text(
        "Road closed, Bay St")
    await expect(page.locator("#feed-notice")).to_have_text(
        "Back online: 1 missed alert was replayed.")


async def test_a_field_report_with_a_photo_is_sent_from_the_desk(
        live: LiveHub, tmp_path: Path) -> None:
    page, publisher = await desk(live, viewport={"width": 390, "height": 844})
    alert = await live.api.publish(publisher)
    card = page.locator(f"#alert-{alert['id']}")
    await card.get_by_text("Send a field report").click()
    # The form names the formats the hub takes, as it checks them (HEIC included).
    await expect(card.locator("p.hint", has_text="JPEG")).to_have_text(
        re.compile(r"^JPEG, PNG, WebP, HEIC, MP4 up to \d+ MB\.$"))
    send = card.get_by_role("button", name="Send report")
    await send.click()  # nothing filled in: refused before anything is sent
    await expect(card.locator(".field-error")).to_have_text([
        "text: is required", "lat: must be a number between -90 and 90",
        "lon: must be a number between -180 and 180"])
    await card.get_by_label("What do you see?").fill("Bag still there, north doors taped off.")
    await card.get_by_label("Latitude").fill("43.64810")
    await card.get_by_label("Longitude").fill("-79.38050")
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture at all")
    photo = card.get_by_label("Photos or videos (optional)")
    await photo.set_input_files(fake)
    await send.click()  # the hub judges the file by its content: 415, shown at the field
    await expect(card.locator(".report-form > .error")).to_contain_text("not one of")
    await expect(photo).to_have_attribute("aria-invalid", "true")
    png = tmp_path / "lobby.png"
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buffer, "PNG")
    png.write_bytes(buffer.getvalue())
    await photo.set_input_files(png)
    await send.click()
    await expect(card.locator(".success")).to_contain_text("Report sent")
    await expect(card.locator(".field-error")).to_have_count(0)
    reports = await live.api.call("GET", f"/api/v1/alerts/{alert['id']}/reports", expect=200)
    assert [(r["text"], r["lat"], r["file"]["kind"]) for r in reports] == [
        ("Bag still there, north doors taped off.", 43.6481, "png")]
    await screenshot(page, "desk-phone")


async def test_a_report_on_no_alert_with_two_photos_is_sent_from_the_desk(
        live: LiveHub, tmp_path: Path) -> None:
    page, _ = await desk(live)
    alone = page.locator("#standalone-report")
    await alone.get_by_text("Report something you saw (no alert)").click()
    await alone.get_by_label("What do you see?").fill("Man trying car doors on Bay St.")
    await alone.get_by_label("Latitude").fill("43.64900")
    await alone.get_by_label("Longitude").fill("-79.38100")
    photos = []
    for n, colour in enumerate(((200, 40, 40), (40, 200, 40))):
        photos.append(tmp_path / f"car{n}.png")
        buffer = io.BytesIO()
        Image.new("RGB", (32, 24), colour).save(buffer, "PNG")
        photos[-1].write_bytes(buffer.getvalue())
    await alone.get_by_label("Photos or videos (optional)").set_input_files(photos)
    await alone.get_by_role("button", name="Send report").click()
    await expect(alone.locator(".success")).to_contain_text("with 2 files")
    reports = await live.api.call("GET", "/api/v1/reports", expect=200)
    assert [(r["text"], r["alert_id"], len(r["files"])) for r in reports] == [
        ("Man trying car doors on Bay St.", None, 2)]


async def test_earlier_alerts_show_their_answer_and_offer_the_buttons_until_answered(
        live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher = await live.api.token(police, "publisher")
    partner, token = await live.api.partner("Bay Tower Security", INSIDE)
    answered = await live.api.publish(publisher, headline="Crowd at Union Station")
    await live.api.call("POST", f"/api/v1/alerts/{answered['id']}/acks", token, expect=201,
                        json={"status": "not_affected"})
    waiting = await live.api.publish(publisher, headline="Smoke on Bay St")
    page = await open_desk(live, partner)
    items = page.locator("#history > li")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("Smoke on Bay St")  # the newest first
    await expect(items.nth(0).locator(".answer-chip")).to_have_text("Not answered")
    await expect(items.nth(1).locator(".answer-chip")).to_have_text("Not affected")
    await items.nth(1).locator("summary").first.click()
    old = page.locator(f"#alert-{answered['id']}")
    await expect(old.locator(".answered")).to_contain_text("Answered: Not affected")
    await expect(old.get_by_role("button", name="Responding")).to_be_hidden()
    await old.get_by_role("button", name="Change answer").click()
    await old.get_by_role("button", name="Need help").click()
    await expect(old.locator(".answered")).to_contain_text("You answered: Need help")
    await items.nth(0).locator("summary").first.click()
    new = page.locator(f"#alert-{waiting['id']}")
    await expect(new.get_by_role("button", name="Received")).to_be_visible()
    await expect(new.locator(".leaflet-overlay-pane path:not(.site-marker)")).to_have_count(1)
    await screenshot(page, "desk-history")
    acks = await live.api.call("GET", f"/api/v1/alerts/{answered['id']}/acks", expect=200)
    assert sorted(a["status"] for a in acks) == ["need_help", "not_affected"]
