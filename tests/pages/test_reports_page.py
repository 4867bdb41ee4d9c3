"""The police reports page in a real browser: reports on alerts and on none on one map and
list, refreshed as they come, reviewed with one button."""

from __future__ import annotations

import aiohttp
from playwright.async_api import expect

from tests.conftest import INSIDE
from tests.pages.conftest import LiveHub, screenshot
from tests.pages.test_dashboard import photo, report, signed_in


async def test_police_see_every_report_and_review_them(live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    _, partner = await live.api.partner("Bay Tower Security", INSIDE)
    publisher = await live.api.token(police, "publisher")
    alert = (await live.api.publish(publisher))["id"]
    on_alert = await report(live.api, partner, alert)
    person = await live.person(police, "publisher", "pub@tps.example")
    page, errors = await signed_in(live, person)
    await page.goto("/reports")
    items = page.locator("#reports-list li.report")
    await expect(items).to_have_count(1)
    await expect(items.first).to_contain_text("Bag by the north doors")
    await expect(items.first).to_contain_text("on an alert")
    # A report on no alert arrives while the page is open.
    form = aiohttp.FormData()
    for name, value in (("text", "Van idling <b>by</b> the dock"), ("lat", "43.6490"),
                        ("lon", "-79.3810"), ("tlp", "TLP:GREEN")):
        form.add_field(name, value)
    form.add_field("file", photo(), filename="van.png", content_type="image/png")
    await live.api.call("POST", "/api/v1/reports", partner, expect=201, data=form)
    await expect(items).to_have_count(2, timeout=15_000)
    newest = items.filter(has_text="Van idling")  # one clock: the order of the two is open
    await expect(newest).to_contain_text("Van idling <b>by</b> the dock")  # text, not HTML
    await expect(newest).to_contain_text("on no alert")
    await screenshot(page, "reports")
    # Reviewed with one click: the answer says who and when.
    row = page.locator(f"[data-report='{on_alert['id']}']")
    await row.get_by_role("button", name="Mark reviewed").click()
    await expect(row).to_have_attribute("data-status", "reviewed")
    await expect(row).to_contain_text("last marked by user:")
    await page.get_by_label("Show").select_option("new")
    await expect(items).to_have_count(1)
    await expect(items.first).to_contain_text("Van idling")
    assert errors == []
    listed = await live.api.call("GET", "/api/v1/reports?status=reviewed", publisher,
                                 expect=200)
    assert [r["id"] for r in listed] == [on_alert["id"]]
