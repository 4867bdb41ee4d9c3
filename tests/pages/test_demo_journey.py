"""`vigil demo` shows every face with no other service (issue 15.1): a resident subscribes,
confirms from the email the demo's own mail catcher caught, receives a public alert and
unsubscribes, all in Chromium against a real `vigil demo` process; escalation mail and the
demo's chat webhooks are caught too, and delivered."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, async_playwright, expect

from hub.demo import POLICE, sample_alert
from tests.demo_process import DemoProcess, running_demo
from tests.pages.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot

RESIDENT = "resident@example.net"
KING_AND_BAY = ("43.64850", "-79.38020")  # inside the sample alert's area


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[DemoProcess]:
    async with running_demo(tmp_path, VIGIL_TILE_URL="none") as process:
        yield process


@pytest.fixture
async def page(demo: DemoProcess) -> AsyncIterator[Page]:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs it (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(base_url=demo.url,
                                            viewport={"width": 1000, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        await browser.close()
        assert not errors, errors


async def caught(demo: DemoProcess, wanted: Any, seconds: float = 20) -> list[dict[str, Any]]:
    """The caught messages once `wanted(messages)` holds (newest first)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(int(seconds * 10)):
            async with http.get(f"{demo.url}/demo/mail.json") as response:
                assert response.status == 200
                messages: list[dict[str, Any]] = (await response.json())["messages"]
            if wanted(messages):
                return messages
            await asyncio.sleep(0.1)
    pytest.fail(f"never caught what was wanted; caught: {messages}")


async def publish(demo: DemoProcess, **changes: Any) -> dict[str, Any]:
    publisher = demo.token("publisher", POLICE.name)
    async with aiohttp.ClientSession() as http, http.post(
            f"{demo.url}/api/v1/alerts", json={**sample_alert(datetime.now(UTC)), **changes},
            headers={"Authorization": f"Bearer {publisher}"}) as response:
        body: dict[str, Any] = await response.json()
        assert response.status == 201, body
        return body


def to(address: str) -> Any:
    return lambda messages: [m for m in messages if address in m["to"]]


async def test_a_resident_subscribes_confirms_receives_and_unsubscribes(
        demo: DemoProcess, page: Page) -> None:
    await page.goto("/demo/mail")
    await expect(page.locator("#demo-mail-empty")).to_be_visible()

    await page.goto("/subscribe")
    await page.get_by_label("Latitude").fill(KING_AND_BAY[0])
    await page.get_by_label("Longitude").fill(KING_AND_BAY[1])
    await page.get_by_label("Your email address").fill(RESIDENT)
    await page.get_by_role("button", name="Send me a confirmation email").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    # The banner of every demo page leads to what the demo "sent".
    await page.get_by_role("link", name="See what it sent").click()
    await page.wait_for_url("**/demo/mail")
    [confirmation] = to(RESIDENT)(await caught(demo, to(RESIDENT)))
    mail = page.locator(".demo-message", has_text=confirmation["subject"])
    await expect(mail).to_contain_text(RESIDENT)
    await screenshot(page, "demo-mailbox-confirmation")
    await mail.locator("a[href*='/subscribe/confirm/']").click()
    await page.get_by_role("button", name="Yes, send me alerts for this area").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")

    # A public alert for King & Bay reaches the resident by email, with a way out.
    alert = await publish(demo, tlp="TLP:CLEAR")
    assert alert["targets"]["residents"] == 1, alert
    messages = await caught(demo, lambda ms: len(to(RESIDENT)(ms)) == 2)
    [received, _] = to(RESIDENT)(messages)
    assert "Suspicious package" in received["subject"]
    unsubscribe = next(link for link in received["links"] if "/unsubscribe/" in link)
    await page.goto("/demo/mail")
    await expect(page.locator(".demo-message").first).to_contain_text("Suspicious package")
    await screenshot(page, "demo-mailbox-alert")
    await page.goto(unsubscribe)
    await page.get_by_role("button", name="Unsubscribe").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")

    # The next public alert reaches no resident, so nothing more is caught for them.
    again = await publish(demo, tlp="TLP:CLEAR", headline="Road closed, King St W & Bay St")
    assert again["targets"]["residents"] == 0, again


async def test_escalation_mail_and_chat_go_to_the_demo_catchers_and_are_delivered(
        demo: DemoProcess) -> None:
    # Nobody answers within 1 s, so each reached partner's secondary list is mailed.
    alert = await publish(demo, ack_within_s=1)
    secondary = "nadia.petrov@example.org"  # Financial District BIA's secondary contact
    messages = await caught(demo, to(secondary), seconds=30)
    assert any("Suspicious package" in m["subject"] for m in to(secondary)(messages))
    chats = [m for m in messages if m["channel"] == "chat"]
    assert [m["to"] for m in chats] == [["royal-bank-plaza"]], chats
    publisher = demo.token("publisher", POLICE.name)
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            async with http.get(f"{demo.url}/api/v1/alerts/{alert['id']}/deliveries",
                                headers={"Authorization": f"Bearer {publisher}"}) as response:
                deliveries = await response.json()
            outbound = [d for d in deliveries if d["channel"] in ("email", "chat")]
            if outbound and all(d["status"] == "sent" for d in outbound):
                break
            await asyncio.sleep(0.2)
    assert outbound and {d["status"] for d in outbound} == {"sent"}, outbound
