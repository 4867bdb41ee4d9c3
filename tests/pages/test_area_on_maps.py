"""Where the alert is, on both ends (issues 15.4 and 15.5): the console's map shows every
partner site and BIA outline and counts the sites inside the drawn area, a preset names the
area, and the desk names the area and shows whether its own building is inside."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from hub.http import SESSIONS
from partners.models import Organisation
from tests.conftest import INSIDE, OUTSIDE, SQUARE
from tests.pages.conftest import LiveHub, screenshot
from tests.pages.test_console import police
from tests.pages.test_desk import desk

BIA = "Financial District BIA"


async def bia(live: LiveHub) -> str:
    """A BIA whose boundary (the test square) is a preset area."""
    org = await live.api.organisation(BIA, "bia")
    async with live.api.client.app[SESSIONS]() as session:
        row = await session.get(Organisation, org)
        assert row is not None
        row.boundary = {"type": "Polygon", "coordinates": [SQUARE]}
        session.add(row)
        await session.commit()
    return org


async def test_the_console_map_shows_sites_and_outlines_and_a_preset_names_the_area(
        live: LiveHub) -> None:
    _, publisher = await police(live)
    await bia(live)
    tower = await live.api.organisation("Bay St Tower", "corporate", [INSIDE])
    await live.api.contact(tower, "Tower Desk")
    await live.api.organisation("Yorkville Office", "corporate", [OUTSIDE])
    page = await live.page(viewport={"width": 1200, "height": 1000})
    await live.sign_in(page, publisher)
    await page.goto("/")
    # The BIA outline and both partner sites, before any area is drawn.
    await expect(page.locator("#map path.leaflet-interactive")).to_have_count(3)
    await page.get_by_label("Preset area").select_option(label=BIA)
    await expect(page.get_by_label("Area name")).to_have_value(BIA)
    await expect(page.locator("#reach .sites-inside")).to_have_text(
        "1 partner site inside the area.")
    await screenshot(page, "console-map-sites")

    # A typed circle is not the preset: its name goes with it.
    await page.get_by_text("Type a circle instead").click()
    await page.get_by_label("Latitude").fill(str(OUTSIDE["lat"]))
    await page.get_by_label("Longitude").fill(str(OUTSIDE["lon"]))
    await page.get_by_label("Radius (m)").fill("100")
    await page.get_by_role("button", name="Use this circle").click()
    await expect(page.get_by_label("Area name")).to_have_value("")
    await expect(page.locator("#reach .sites-inside")).to_have_text(
        "1 partner site inside the area.")

    await page.get_by_label("Preset area").select_option(label=BIA)
    await page.get_by_label("Headline").fill("Suspicious package, King St W & Bay St")
    await page.get_by_role("button", name="Send alert").click()
    await page.wait_for_url(lambda url: "/alerts/" in url)
    [sent] = await live.api.call("GET", "/api/v1/alerts")
    assert sent["area_name"] == BIA


async def test_the_desk_names_the_area_and_says_whether_its_site_is_inside(
        live: LiveHub) -> None:
    page, publisher = await desk(live, viewport={"width": 1100, "height": 1000})
    inside = await live.api.publish(publisher, area_name=BIA,
                                    headline="Suspicious package, King St W")
    card = page.locator(f"#alert-{inside['id']}")
    await expect(card.locator(".area-name")).to_have_text(
        f"Area: {BIA} · Your site Bay St tower is inside")
    # The map outlines the area and marks the desk's own site.
    await expect(card.locator(".card-map path.leaflet-interactive")).to_have_count(2)
    await screenshot(page, "desk-area-sites")
    far: dict[str, Any] = {"circle": {"lat": OUTSIDE["lat"], "lon": OUTSIDE["lon"],
                                      "radius_m": 100}}
    # An alert that reaches the desk though its site is outside (a wider TLP:CLEAR
    # update keeps everyone it reached before).
    moved = await live.api.call("POST", f"/api/v1/alerts/{inside['id']}/update", publisher,
                                expect=201, json={"area": far})
    await expect(card.locator(".area-name")).to_contain_text("Your site is outside")
    await expect(card.locator(".area-name")).to_contain_text("Area: Within 100 m of")
    assert moved["references"] == inside["id"]


async def test_the_dashboard_and_the_public_page_name_the_area_and_the_sender(
        live: LiveHub) -> None:
    org, person = await police(live)
    publisher = await live.api.token(org, "publisher")
    alert = await live.api.publish(publisher, tlp="TLP:CLEAR", area_name=BIA)
    page = await live.page()
    await page.goto("/public")
    card = page.locator(f"#alert-{alert['id']}")
    await expect(card.locator(".times")).to_contain_text("Sent by Toronto Police Service")
    await expect(card).to_contain_text(f"Area: {BIA}")

    dashboard = await live.page()
    await live.sign_in(dashboard, person)
    await dashboard.goto(f"/alerts/{alert['id']}")
    await expect(dashboard.locator("#area-name")).to_have_text(BIA)
    # An update that redraws the area without a name: the dashboard follows it live.
    circle = {"circle": {"lat": INSIDE["lat"], "lon": INSIDE["lon"], "radius_m": 80}}
    await live.api.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher,
                        expect=201, json={"area": circle})
    await expect(dashboard.locator("#area-name")).to_have_text("not named (see the map)")
