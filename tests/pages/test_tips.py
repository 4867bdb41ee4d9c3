"""A witness on a phone sends a tip with a photo and a video from an appeal's public page (the
video as a resumable upload that survives a dropped piece); police find it on their page
with each file's hash and mark it relevant."""

from __future__ import annotations

import hashlib

from playwright.async_api import Request, Route, expect

from tests.hub.tips_scene import png, video
from tests.pages.conftest import LiveHub, screenshot

PHONE = {"width": 390, "height": 844}


async def test_a_witness_sends_a_tip_with_files_and_police_review_it(live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher = await live.api.token(police, "publisher")
    appeal = await live.api.call("POST", "/api/v1/evidence-requests", publisher, expect=201,
                                 json={"title": "Collision at Queen St W & Spadina Ave",
                                       "description": "A cyclist was struck at about 17:40. "
                                                      "Did you see it, or film it?",
                                       "area": {"circle": {"lat": 43.6487, "lon": -79.3960,
                                                           "radius_m": 300}}})
    photo, clip = png((200, 40, 40)), video(1_600_000)  # the video is sent with tus
    page = await live.page(viewport=PHONE)
    dropped: list[str] = []

    async def drop_one_piece(route: Route, request: Request) -> None:
        # The second piece of the video is lost on the way, as on a train going into a tunnel.
        if request.method == "PATCH" and request.headers.get("upload-offset") != "0" \
                and not dropped:
            dropped.append(request.headers["upload-offset"])
            await route.abort("connectionreset")
            return
        await route.continue_()

    await page.route("**/api/v1/tips/uploads/*", drop_one_piece)
    await page.goto(f"/tips/{appeal['slug']}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(appeal["title"])
    await expect(page.get_by_text("TLP:CLEAR")).to_be_visible()
    await page.get_by_label("What did you see?").fill(
        "A white van ran the red light going north on Spadina and hit the cyclist.")
    await page.get_by_label("Photos or videos (optional)").set_input_files([
        {"name": "crossing.png", "mimeType": "image/png", "buffer": photo},
        {"name": "dashcam.mp4", "mimeType": "video/mp4", "buffer": clip}])
    await screenshot(page, "tip-form")
    await page.get_by_role("button", name="Send to the police").click()
    receipt = page.locator("#tip-receipt")
    await expect(receipt).to_be_visible(timeout=20_000)
    code = await receipt.locator("[data-receipt]").inner_text()
    assert code.startswith("VT-")
    hashes = await receipt.locator("code.hash").all_inner_texts()
    assert sorted(hashes) == sorted(hashlib.sha256(data).hexdigest() for data in (photo, clip))
    assert dropped  # a piece was lost, and the upload resumed from where the hub had it
    await screenshot(page, "tip-sent")

    [tip] = await live.api.call("GET", "/api/v1/tips", publisher, expect=200)
    assert {(f["name"], f["sha256"]) for f in tip["files"]} == {
        ("crossing.png", hashlib.sha256(photo).hexdigest()),
        ("dashcam.mp4", hashlib.sha256(clip).hexdigest())}
    assert tip["contact"] is None

    officer = await live.person(police, "publisher", "detective@tps.example")
    desk = await live.page()
    await live.sign_in(desk, officer)
    await desk.get_by_role("navigation", name="Main").get_by_role("link", name="Tips").click()
    await desk.get_by_role("link", name=appeal["title"]).click()
    card = desk.locator(f"#tip-{tip['id']}")
    await expect(card).to_contain_text("white van")
    await expect(card.locator("code.hash")).to_have_count(2)
    await expect(card).to_contain_text(hashlib.sha256(clip).hexdigest())
    await card.get_by_label("Status").select_option("relevant")
    await card.get_by_role("button", name="Save").click()
    await expect(card.locator("[data-moderated]")).to_contain_text("set to relevant by user:")
    await screenshot(desk, "evidence-tips")
    shown = await live.api.call("GET", f"/api/v1/tips/{tip['id']}", publisher, expect=200)
    assert shown["status"] == "relevant"


async def test_a_closed_appeal_shows_no_form(live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher = await live.api.token(police, "publisher")
    appeal = await live.api.call("POST", "/api/v1/evidence-requests", publisher, expect=201,
                                 json={"title": "Break-in on Augusta Ave",
                                       "description": "Seen anyone at the back door?"})
    await live.api.call("POST", f"/api/v1/evidence-requests/{appeal['id']}/close", publisher,
                        expect=200)
    page = await live.page(viewport=PHONE)
    await page.goto(f"/tips/{appeal['slug']}")
    await expect(page.get_by_role("status")).to_contain_text("This appeal is closed")
    await expect(page.locator("#tip-form")).to_have_count(0)
    await page.get_by_role("link", name="Report something else").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Report suspicious activity")
