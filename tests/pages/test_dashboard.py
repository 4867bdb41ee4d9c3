"""The alert dashboard and the approval queue in a real browser: live answers, reports with
photos, the all clear, and approving a held alert."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from playwright.async_api import Page, expect

from tests.conftest import INSIDE, Hub
from tests.hub.conftest import Sink
from tests.pages.conftest import LiveHub, Person, running_hub, screenshot


@pytest.fixture
async def held_live(tmp_path: Path, sink: Sink, aiohttp_server: Any) -> AsyncIterator[LiveHub]:
    """The `live` hub, but with the shipped approval policy: Extreme alerts wait."""
    async with running_hub(tmp_path, sink, aiohttp_server,
                           approval_for="TLP:RED,Extreme") as hub:
        yield hub


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 200)).save(out, "PNG")
    return out.getvalue()


async def signed_in(hub: LiveHub, person: Person) -> tuple[Page, list[str]]:
    """A page signed in as this person, and the script errors it will have (none, we hope)."""
    page = await hub.page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await hub.sign_in(page, person)
    return page, errors


async def report(hub: Hub, token: str, alert_id: str) -> Any:
    form = aiohttp.FormData()
    form.add_field("text", "Bag by the north doors")
    form.add_field("lat", "43.6481")
    form.add_field("lon", "-79.3805")
    form.add_field("file", photo(), filename="bag.png", content_type="image/png")
    return await hub.call("POST", f"/api/v1/alerts/{alert_id}/reports", token, expect=201,
                          data=form)


async def test_the_dashboard_follows_answers_and_reports_live_and_sends_the_all_clear(
        live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    partner_org, partner = await live.api.partner("Bay Tower Security", INSIDE)
    await live.api.contact(partner_org, "Night Manager", tier="secondary",
                           email="night@bay.example")
    publisher = await live.api.token(police, "publisher")
    alert = (await live.api.publish(publisher))["id"]
    person = await live.person(police, "publisher", "pub@tps.example")
    page, errors = await signed_in(live, person)
    await page.goto(f"/alerts/{alert}")
    summary = page.locator("#summary")
    await expect(summary).to_contain_text("0 of 1 organisations acknowledged")
    await expect(page.locator("#acks tbody")).to_contain_text("Waiting")
    escalated = page.locator("#escalations tbody tr", has_text="Bay Tower Security")
    await expect(escalated).to_contain_text("Waiting until")
    await expect(page.locator("#overdue")).to_be_hidden()

    live.clock.advance(301)  # past the 300 s answer deadline: the secondary tier is alerted
    await expect(escalated).to_contain_text("Fired")
    await expect(escalated).to_contain_text("(email)")
    await expect(summary).to_contain_text("1 escalated")
    await expect(page.locator("#overdue")).to_contain_text(
        "1 organisation has not answered: Bay Tower Security")

    await live.api.call("POST", f"/api/v1/alerts/{alert}/acks", partner, expect=201,
                        json={"status": "need_help", "note": "Lobby evacuated"})
    sent = await report(live.api, partner, alert)
    await expect(summary).to_contain_text("1 of 1 organisations acknowledged; 1 needs help")
    row = page.locator("#acks tbody tr", has_text="Bay Tower Security")
    await expect(row).to_contain_text("Needs help")
    await expect(row).to_contain_text("Lobby evacuated")
    entry = page.locator("#reports li.report")
    await expect(entry).to_contain_text("Bag by the north doors")
    image = entry.locator("img")
    await expect(image).to_have_attribute("src", f"/api/v1/reports/{sent['id']}/file")
    # The photo really loads (same origin, allowed by the page's CSP), not just its tag.
    await page.wait_for_function(
        "() => document.querySelector('#reports img')?.naturalWidth === 64")
    await expect(page.locator(".leaflet-marker-icon")).to_have_count(1)
    await expect(page.locator("#delivery-grid")).to_contain_text("feed")
    await screenshot(page, "dashboard")

    await page.get_by_text("Update", exact=True).click()
    headline = page.get_by_label("Headline")
    await expect(headline).to_have_value("Suspicious package, King St W & Bay St")
    await headline.fill("")
    await page.get_by_role("button", name="Send update").click()
    await expect(page.locator("#update-form .field-error")).to_contain_text("headline")
    await headline.fill("Package being examined, King St W closed")
    await page.get_by_role("button", name="Send update").click()
    await expect(page.locator("#status")).to_have_text("Updated")
    await expect(page.locator("#headline")).to_have_text("Package being examined, King St W closed")

    await page.get_by_text("All clear", exact=True).click()
    await page.get_by_role("button", name="Send all clear").click()
    await expect(page.locator("#action-done")).to_contain_text("All clear sent to 1 organisations")
    await expect(page.locator("#status")).to_have_text("All clear")
    await expect(page.locator("#chain li")).to_have_count(3)
    revisions = [a for a in await live.api.call("GET", "/api/v1/alerts", publisher, expect=200)
                 if a["references"] == alert]
    assert [r["msg_type"] for r in revisions] == ["Update", "Update"]
    assert revisions[0]["urgency"] == "Past" and revisions[0]["severity"] == "Minor"
    assert revisions[0]["headline"] == "ALL CLEAR: Package being examined, King St W closed"
    assert revisions[0]["instruction"] == "The threat is over. Resume normal activity."
    assert errors == []


async def test_an_approver_sees_a_new_submission_arrive_and_approves_it(
        held_live: LiveHub) -> None:
    police = await held_live.api.organisation("Toronto Police Service", "police")
    await held_live.api.partner("Bay Tower Security", INSIDE)
    publisher = await held_live.api.token(police, "publisher")
    person = await held_live.person(police, "approver", "apr@tps.example")
    page, errors = await signed_in(held_live, person)
    await page.goto("/approvals")
    await expect(page.get_by_text("Nothing is waiting for approval.")).to_be_visible()

    held = await held_live.api.publish(publisher, severity="Extreme",
                                       headline="Armed person, Union Station")
    assert held["status"] == "pending"
    card = page.locator(f"#held-{held['id']}")
    await expect(card).to_contain_text("Armed person, Union Station")  # no reload
    await expect(card).to_contain_text("1 organisations, 1 contacts, 0 residents")
    await expect(page.locator("#queue-status")).to_have_text("1 waiting.")
    await screenshot(page, "approvals")

    # An Extreme alert asks first, naming whom it reaches (issue 15.5).
    asked: list[str] = []

    async def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.once("dialog", answer)
    await card.get_by_role("button", name="Approve and send").click()
    await expect(card).to_contain_text("Approved and sent to 1 organisations")
    assert asked == ["Approve and send this Extreme alert to "
                     "1 organisations, 1 contacts, 0 residents?"]
    answer = await held_live.api.call("GET", f"/api/v1/alerts/{held['id']}", publisher,
                                      expect=200)
    assert answer["status"] == "published" and answer["seq"] is not None
    assert errors == []


async def test_an_approver_rejects_only_with_a_reason(held_live: LiveHub) -> None:
    police = await held_live.api.organisation("Toronto Police Service", "police")
    publisher = await held_live.api.token(police, "publisher")
    held = await held_live.api.publish(publisher, tlp="TLP:RED")
    person = await held_live.person(police, "approver", "apr@tps.example")
    page, errors = await signed_in(held_live, person)
    await page.goto("/approvals")
    card = page.locator(f"#held-{held['id']}")
    await card.locator("summary", has_text="Reject").click()
    await card.get_by_role("button", name="Reject this alert").click()
    await expect(card.get_by_role("alert")).to_have_text("Give a reason for rejecting.")
    reason = card.get_by_label("Reason for rejecting")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await reason.fill("Not confirmed by the scene commander")
    await card.get_by_role("button", name="Reject this alert").click()
    await expect(card).to_contain_text("Rejected: it will not be sent.")
    answer = await held_live.api.call("GET", f"/api/v1/alerts/{held['id']}", publisher,
                                      expect=200)
    assert answer["status"] == "rejected"
    assert errors == []
