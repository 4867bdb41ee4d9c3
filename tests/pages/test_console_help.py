"""The console helps and protects (issue 15.5): no literal null in the reach panel, errors
that clear once the field is fixed, a preview with no area that says so, and a confirmation
naming the reach before an Extreme or TLP:RED alert goes out."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.conftest import INSIDE
from tests.pages.conftest import LiveHub, screenshot
from tests.pages.test_console import police


async def open_console(live: LiveHub) -> Any:
    _, publisher = await police(live)
    org = await live.api.organisation("Bay St Tower", "corporate", [INSIDE])
    await live.api.contact(org, "Tower Desk")
    page = await live.page(viewport={"width": 1200, "height": 1000})
    await live.sign_in(page, publisher)
    await page.goto("/")
    return page


async def circle(page: Any) -> None:
    await page.get_by_text("Type a circle instead").click()
    await page.get_by_label("Latitude").fill(str(INSIDE["lat"]))
    await page.get_by_label("Longitude").fill(str(INSIDE["lon"]))
    await page.get_by_label("Radius (m)").fill("200")
    await page.get_by_role("button", name="Use this circle").click()


async def test_preview_without_an_area_says_so_and_the_reach_has_no_null(
        live: LiveHub) -> None:
    page = await open_console(live)
    await page.get_by_role("button", name="Preview reach").click()
    await expect(page.locator("#reach")).to_contain_text("No area yet")
    await circle(page)
    reach = page.locator("#reach")
    await expect(reach).to_contain_text("Organisations: Bay St Tower.")
    assert "null" not in await reach.inner_text()
    await screenshot(page, "console-reach")


async def test_an_error_clears_when_its_field_is_fixed(live: LiveHub) -> None:
    page = await open_console(live)
    await page.get_by_role("button", name="Send alert").click()
    headline = page.get_by_label("Headline")
    await expect(headline).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#alert-form .field-error", has_text="headline")).to_have_count(1)
    await headline.fill("Suspicious package")
    await expect(headline).not_to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#alert-form .field-error", has_text="headline")).to_have_count(0)
    assert await live.api.call("GET", "/api/v1/alerts") == []


async def test_an_extreme_alert_asks_first_naming_its_reach(live: LiveHub) -> None:
    page = await open_console(live)
    await page.get_by_label("Headline").fill("Armed person, Bay St")
    await page.get_by_label("Severity").select_option("Extreme")
    await circle(page)
    await expect(page.locator("#reach")).to_contain_text("Bay St Tower")
    asked: list[str] = []

    async def decline(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", decline)
    async with page.expect_event("dialog"):
        await page.get_by_role("button", name="Send alert").click()
    await expect(page.get_by_role("button", name="Send alert")).to_be_enabled()
    assert asked == ["Send this Extreme alert to 1 organisations, 1 contacts and 0 residents?"]
    assert await live.api.call("GET", "/api/v1/alerts") == []  # declined: nothing sent

    async def accept(dialog: Any) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Send alert").click()
    await page.wait_for_url("**/alerts/*")
    assert [a["severity"] for a in await live.api.call("GET", "/api/v1/alerts")] == ["Extreme"]
