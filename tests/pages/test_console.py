"""The publisher console in a real browser: draw, preview, send; presets; errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.conftest import INSIDE, OUTSIDE
from tests.hub.conftest import Sink
from tests.pages.conftest import LiveHub, running_hub, screenshot


async def draw_square(page: Page) -> None:
    """Draw a polygon with Leaflet.draw: four clicks around the map's centre, then close it."""
    await page.locator(".leaflet-draw-draw-polygon").click()
    box = await page.locator("#map").bounding_box()
    assert box is not None
    # Right of and below the centre, clear of the drawing toolbar at the top left.
    cx, cy = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6
    corners = [(-70, -60), (70, -60), (70, 60), (-70, 60)]
    for dx, dy in [*corners, corners[0]]:  # back to the first corner closes the shape
        await page.mouse.move(cx + dx, cy + dy, steps=5)
        await page.mouse.down()
        await page.mouse.up()
        await page.wait_for_timeout(300)  # Leaflet.draw takes quick clicks as one double-click


async def police(live: LiveHub) -> tuple[str, Any]:
    org = await live.api.organisation("Toronto Police Service", "police")
    return org, await live.person(org, "publisher", "publisher@tps.example")


async def test_publisher_draws_previews_and_sends(live: LiveHub) -> None:
    _, publisher = await police(live)
    inside = await live.api.organisation("Bay St Tower", "corporate", [INSIDE])
    await live.api.contact(inside, "Tower Desk")
    await live.api.organisation("Yorkville Office", "corporate", [OUTSIDE])
    page = await live.page()
    await live.sign_in(page, publisher)
    await page.goto("/")
    await page.get_by_label("Headline").fill("Suspicious package, King St W & Bay St")
    await page.get_by_label("Instruction").fill("Keep staff away from the north lobby.")
    await draw_square(page)
    await page.get_by_role("button", name="Preview reach").click()
    reach = page.locator("#reach")
    await reach.get_by_text("Organisations: ").wait_for()
    assert "Bay St Tower" in await reach.inner_text()
    assert "Yorkville" not in await reach.inner_text()
    await screenshot(page, "console")
    await page.get_by_role("button", name="Send alert").click()
    await page.wait_for_url("**/alerts/*")
    alerts = await live.api.call("GET", "/api/v1/alerts")
    assert [a["headline"] for a in alerts] == ["Suspicious package, King St W & Bay St"]
    assert alerts[0]["area"]["type"] == "Polygon"


async def test_missing_area_and_headline_are_named_and_nothing_is_sent(live: LiveHub) -> None:
    _, publisher = await police(live)
    page = await live.page()
    await live.sign_in(page, publisher)
    await page.goto("/")
    await page.get_by_role("button", name="Send alert").click()
    await page.locator("#form-error").wait_for()
    text = await page.locator("#alert-form").inner_text()
    assert "headline" in text and "draw or choose an area first" in text
    assert await live.api.call("GET", "/api/v1/alerts") == []


async def test_a_typed_circle_and_a_preset_area_preview_their_reach(live: LiveHub) -> None:
    _, publisher = await police(live)
    await live.api.organisation("Bay St Tower", "corporate", [INSIDE])
    page = await live.page(viewport={"width": 390, "height": 844})
    await live.sign_in(page, publisher)
    await page.goto("/")
    await page.get_by_text("Type a circle instead").click()
    await page.get_by_label("Latitude").fill(str(INSIDE["lat"]))
    await page.get_by_label("Longitude").fill(str(INSIDE["lon"]))
    await page.get_by_label("Radius (m)").fill("200")
    await page.get_by_role("button", name="Use this circle").click()
    await page.locator("#reach strong").first.wait_for()
    assert (await page.locator("#reach strong").first.inner_text()) == "1"
    await screenshot(page, "console-phone")


async def test_without_reachable_tiles_the_map_is_plain_and_still_draws(
        tmp_path: Path, sink: Sink, aiohttp_server: Any) -> None:
    # Port 9 on loopback refuses at once: the tile server of a hub with no way out.
    async with running_hub(tmp_path, sink, aiohttp_server,
                           tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png") as live:
        _, publisher = await police(live)
        page = await live.page()
        await live.sign_in(page, publisher)
        await page.goto("/")
        await expect(page.locator("#map")).to_have_class(re.compile(r"\bno-tiles\b"))
        await draw_square(page)
        await expect(page.locator("#area-summary")).to_have_text("Polygon with 4 corners.")
