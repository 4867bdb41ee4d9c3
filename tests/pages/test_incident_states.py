"""Status at a glance (issue 15.2, and the desk's side of 15.4) in a real browser: a
cancelled and an all-cleared alert shown as such in the console, the dashboard and the desk;
an overdue deadline and an escalation with no working channel on the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import INSIDE
from tests.hub.conftest import Sink
from tests.pages.conftest import LiveHub, running_hub, screenshot
from tests.pages.test_desk import open_desk

ALL_CLEAR = {"headline": "ALL CLEAR: Suspicious package, King St W & Bay St",
             "urgency": "Past", "severity": "Minor",
             "description": "The police have given the all clear: the threat is over.",
             "instruction": "The threat is over. Resume normal activity."}


async def test_cancelled_and_all_clear_read_as_such_everywhere(live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher = await live.api.token(police, "publisher")
    partner, _ = await live.api.partner("Bay Tower Security", INSIDE)
    desk = await open_desk(live, partner)
    cleared = await live.api.publish(publisher, headline="Suspicious package, King St W & Bay St")
    live.clock.advance(60)
    cancelled = await live.api.publish(publisher, headline="Armed person, Union Station")
    await live.api.call("POST", f"/api/v1/alerts/{cleared['id']}/update", publisher,
                        expect=201, json=ALL_CLEAR)
    await live.api.call("POST", f"/api/v1/alerts/{cancelled['id']}/cancel", publisher,
                        expect=201, json={"note": "Reported in error"})

    # The desk: the all clear is its own card, without the old urgency or "Need help"; the
    # cancelled alert says so and asks for no answer.
    clear_card = desk.locator(f"#alert-{cleared['id']}")
    await expect(clear_card.locator(".banner.is-allclear")).to_contain_text(
        "ALL CLEAR: Suspicious package, King St W & Bay St")
    await expect(clear_card.locator(".banner")).not_to_contain_text("ALL CLEAR: ALL CLEAR")
    # Every card names who sent it (issue 15.3).
    await expect(clear_card.locator(".banner .sender")).to_have_text(
        "From Toronto Police Service")
    await expect(clear_card.locator(".banner")).not_to_contain_text("Immediate")
    await expect(clear_card.get_by_role("button", name="Need help")).to_be_hidden()
    await expect(clear_card.get_by_role("button", name="Received")).to_be_visible()
    gone_card = desk.locator(f"#alert-{cancelled['id']}")
    await expect(gone_card.locator(".banner.is-cancel")).to_contain_text("CANCELLED")
    await expect(gone_card.locator(".answered")).to_contain_text("no answer is needed")
    await expect(gone_card.locator(".ack-buttons")).to_be_hidden()
    await screenshot(desk, "desk-all-clear-and-cancelled")

    # The console: one row per incident, with its state.
    person = await live.person(police, "publisher", "pub@tps.example")
    page = await live.page(viewport={"width": 1200, "height": 900})
    await live.sign_in(page, person)
    await page.goto("/")
    rows = page.locator("#recent tr.incident")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("Cancelled")
    await expect(rows.nth(0)).to_contain_text("2 messages")
    await expect(rows.nth(1)).to_contain_text("All clear")
    await expect(page.locator("#recent")).not_to_contain_text("published")
    await screenshot(page, "console-incident-states")

    # The dashboard: opened from either message, the state is the incident's.
    for alert, state in ((cleared, "All clear"), (cancelled, "Cancelled")):
        await page.goto(f"/alerts/{alert['id']}")
        await expect(page.locator("#status")).to_have_text(state)
        await expect(page.locator("#summary")).to_contain_text(f"{state}:")
    await expect(page.locator("#update")).to_be_hidden()  # a cancelled alert cannot change
    # Its answer deadline stopped with the cancel, and says so.
    stopped = page.locator("#escalations tbody tr", has_text="Bay Tower Security")
    await expect(stopped).to_contain_text("Stopped: the alert was cancelled")
    await expect(page.locator("#escalations")).not_to_contain_text("object")
    await screenshot(page, "dashboard-cancelled")


@pytest.fixture
async def mailless(tmp_path: Path, sink: Sink, aiohttp_server: Any) -> AsyncIterator[LiveHub]:
    """A hub with email off: a secondary contact with only an address is unreachable."""
    async with running_hub(tmp_path, sink, aiohttp_server, smtp_url=None) as hub:
        yield hub


async def test_an_overdue_deadline_and_an_escalation_to_nobody_are_shown(
        mailless: LiveHub) -> None:
    live = mailless
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher = await live.api.token(police, "publisher")
    partner, _ = await live.api.partner("Bay Tower Security", INSIDE)
    await live.api.contact(partner, "Night Manager", tier="secondary",
                           email="night@bay.example")
    alert = await live.api.publish(publisher, ack_within_s=120)
    person = await live.person(police, "publisher", "pub@tps.example")
    page = await live.page(viewport={"width": 1200, "height": 1000})
    await live.sign_in(page, person)
    await page.goto(f"/alerts/{alert['id']}")
    row = page.locator("#escalations tbody tr", has_text="Bay Tower Security")
    await expect(row).to_contain_text("Waiting until")
    await expect(page.locator("#overdue")).to_be_hidden()

    live.clock.advance(121)  # the deadline passes unanswered; the scheduler fires
    await expect(page.locator("#overdue")).to_contain_text(
        "Answer deadline passed")
    await expect(page.locator("#overdue")).to_contain_text("Bay Tower Security")
    await expect(row).to_contain_text("Fired")
    await expect(row).to_contain_text("No working channel")
    await screenshot(page, "dashboard-escalation-no-channel")


@pytest.fixture
async def held_live(tmp_path: Path, sink: Sink, aiohttp_server: Any) -> AsyncIterator[LiveHub]:
    async with running_hub(tmp_path, sink, aiohttp_server, approval_for="Extreme") as hub:
        yield hub


async def test_the_author_sees_the_would_be_reach_and_withdraws_a_waiting_alert(
        held_live: LiveHub) -> None:
    live = held_live
    police = await live.api.organisation("Toronto Police Service", "police")
    await live.api.partner("Bay Tower Security", INSIDE)
    person = await live.person(police, "publisher", "pub@tps.example")
    page = await live.page(viewport={"width": 1200, "height": 900})
    await live.sign_in(page, person)
    await page.goto("/")
    await page.get_by_label("Headline").fill("Armed person, Bay St")
    await page.get_by_label("Severity").select_option("Extreme")
    await page.get_by_text("Type a circle instead").click()
    await page.get_by_label("Latitude").fill(str(INSIDE["lat"]))
    await page.get_by_label("Longitude").fill(str(INSIDE["lon"]))
    await page.get_by_label("Radius (m)").fill("200")
    await page.get_by_role("button", name="Use this circle").click()
    await expect(page.locator("#reach")).to_contain_text("Bay Tower Security")
    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Send alert").click()
    await page.wait_for_url("**/alerts/*")
    await expect(page.locator("#status")).to_have_text("Pending approval")
    await expect(page.locator("#would-reach")).to_have_text(
        "1 organisations, 1 contacts and 0 residents")
    await screenshot(page, "dashboard-waiting")
    await page.get_by_role("button", name="Withdraw this alert").click()
    await expect(page.locator("#status")).to_have_text(
        "Withheld: its author withdrew it before approval")
    await expect(page.locator("#withdraw")).to_have_count(0)
    [alert] = await live.api.call("GET", "/api/v1/alerts")
    assert alert["status"] == "withdrawn"
