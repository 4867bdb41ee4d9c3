"""Text that looks like markup stays text on every page (issue 14.7): a headline (which may
come from another agency's CAP file) and a site's name, in a real browser."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.conftest import INSIDE, SQUARE
from tests.pages.conftest import LiveHub, screenshot

MARKUP = "<img src=x onerror=alert(1)><b id=pwn>x</b>"


async def no_markup(page: Page) -> None:
    await page.wait_for_load_state("networkidle")
    assert await page.locator("#pwn").count() == 0, page.url


async def hover_every(page: Page, selector: str) -> None:
    """Open every tooltip of the map's layers: Leaflet builds them only when shown."""
    shapes = page.locator(selector)
    await expect(shapes.first).to_be_visible()
    tooltips = page.locator(".leaflet-tooltip")
    for index in range(await shapes.count()):
        # A map just shown may still be fitting itself to its layers, moving the shape from
        # under the pointer: hover again until its tooltip opens (a few seconds at most).
        for _ in range(20):
            await shapes.nth(index).hover(force=True)
            if await tooltips.count() == 1:
                break
            await page.wait_for_timeout(250)
        await expect(tooltips).to_have_count(1)
        await no_markup(page)


async def test_a_headline_and_a_site_name_of_markup_stay_text_on_every_page(
        live: LiveHub) -> None:
    site = {**INSIDE, "name": MARKUP}
    org = await live.api.organisation("Bay Tower Security", "corporate", [site])
    await live.api.contact(org, "Tower Desk")
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher_token = await live.api.token(police, "publisher")
    alert = await live.api.publish(publisher_token, tlp="TLP:CLEAR", headline=MARKUP,
                                   area_name=MARKUP,
                                   area={"type": "Polygon", "coordinates": [SQUARE]})

    page = await live.page()
    await page.goto("/public")
    await expect(page.get_by_role("article", name=MARKUP)).to_be_visible()
    await hover_every(page, "#public-map path.leaflet-interactive")
    await screenshot(page, "hostile-public")

    desk = await live.person(org, "partner", "desk@bay.example")
    desk_page = await live.page()
    await live.sign_in(desk_page, desk)
    await desk_page.goto("/desk")
    await expect(desk_page.get_by_text(MARKUP).first).to_be_visible()
    await no_markup(desk_page)
    await desk_page.locator("#history summary").first.click()  # an earlier alert: open it
    await hover_every(desk_page, ".card-map path.site-marker")  # our own site

    publisher = await live.person(police, "publisher", "pub@tps.example")
    police_page = await live.page()
    await live.sign_in(police_page, publisher)
    await police_page.goto("/")
    await expect(police_page.get_by_text(MARKUP).first).to_be_visible()  # recent alerts
    await no_markup(police_page)
    await hover_every(police_page, "#map path.leaflet-interactive")  # the partner sites
    await police_page.goto(f"/alerts/{alert['id']}")
    await expect(police_page.get_by_text(MARKUP).first).to_be_visible()
    await no_markup(police_page)

    admin = await live.person(org, "admin", "boss@bay.example")
    admin_page = await live.page()
    await live.sign_in(admin_page, admin)
    await admin_page.goto(f"/organisations/{org}")
    await hover_every(admin_page, "#site-map path.leaflet-interactive")  # the site markers
    await screenshot(admin_page, "hostile-organisation")
    assert not [error for error in live.errors if "pwn" in error or "alert(1)" in error]
