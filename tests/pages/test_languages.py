"""The desk in a French-Canadian browser: a bilingual CAP alert in French, and an alert that
only names places (no outline to draw) shown without a script error."""

from __future__ import annotations

from playwright.async_api import expect

from tests.capdoc import cap_alert, info
from tests.pages.conftest import LiveHub

ENGLISH = info("en-CA", "Gas leak, Bay St", "Gas leak", instruction="Stay away from the area.",
               description="Crews are on site.")
FRENCH = info("fr-CA", "Fuite de gaz, rue Bay", "Fuite de gaz",
              instruction="Éloignez-vous du secteur.", description="Les équipes sont sur place.")
NAMED = info("en-CA", "Boil water advisory", "Boil water", polygons=(),
             geocodes=(("profile:CAP-CP:Location:0.3", "3520005"),), area_desc="City of Toronto")


async def imported(live: LiveHub, token: str, document: bytes) -> str:
    response = await live.api.client.post("/api/v1/cap", data=document, headers={
        **live.api.auth(token), "Content-Type": "application/cap+xml"})
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


async def test_the_desk_reads_alerts_in_the_browsers_language(live: LiveHub) -> None:
    # The sender's own desk sees its alerts, even one that reaches nobody by geofence.
    police = await live.api.organisation("Toronto Police Service", "police")
    publisher = await live.api.token(police, "publisher")
    person = await live.person(police, "partner", "desk@tps.example")
    page = await live.page(locale="fr-CA")
    await live.sign_in(page, person)
    await page.goto("/desk")
    await expect(page.locator(".status.online")).to_have_text("Live")

    bilingual = await imported(live, publisher, cap_alert("TFS-2026-0200",
                                                          infos=(ENGLISH, FRENCH)))
    banner = page.locator(f"#alert-{bilingual} .banner")
    await expect(banner.locator("h3")).to_have_text("Fuite de gaz, rue Bay")
    await expect(banner.locator("h3 span")).to_have_attribute("lang", "fr-CA")
    await expect(banner.locator(".instruction")).to_contain_text("Éloignez-vous du secteur.")
    await expect(page.locator(f"#alert-{bilingual} .description")).to_have_text(
        "Les équipes sont sur place.")
    await expect(banner).not_to_contain_text("Gas leak")

    named = await imported(live, publisher, cap_alert("TFS-2026-0201", infos=(NAMED,)))
    card = page.locator(f"#alert-{named}")
    await expect(card.locator("h3")).to_have_text("Boil water advisory")
    await expect(card.locator(".area-note")).to_have_text(
        "Named places only (no map outline): City of Toronto")
    area = ".leaflet-overlay-pane path:not(.site-marker)"  # the desk's own site aside
    await expect(card.locator(area)).to_have_count(0)
    await expect(page.locator(f"#alert-{bilingual} {area}")).to_have_count(1)

    # A browser in another language gets the first (English) words, in the earlier alerts.
    other = await live.page(locale="de-DE")
    await live.sign_in(other, person)
    await other.goto("/desk")
    await expect(other.locator(".summary-headline")).to_have_text(
        ["Boil water advisory", "Gas leak, Bay St"])  # newest first
    # The live hub fixture fails the test on any script error or CSP violation.
