"""Importing a CAP file from the publisher console in a real browser, and the dashboard of an
imported alert: its CAP panel and languages, and an alert whose areas are only named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.capdoc import cap_alert, info
from tests.pages.conftest import LiveHub, screenshot

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "cap-samples"


async def publisher_page(live: LiveHub) -> tuple[Page, str]:
    """A publisher of the police service, signed in on the console; and a publisher token."""
    org = await live.api.organisation("Toronto Police Service", "police")
    person = await live.person(org, "publisher", "publisher@tps.example")
    page = await live.page()
    await live.sign_in(page, person)
    await page.goto("/")
    return page, await live.api.token(org, "publisher")


async def upload(page: Page, path: Path) -> None:
    await page.get_by_label("CAP 1.2 file (.cap or .xml)").set_input_files(str(path))
    await page.get_by_role("button", name="Import CAP file").click()


async def test_a_publisher_imports_a_cap_file_and_reads_it_in_both_languages(
        live: LiveHub, tmp_path: Path) -> None:
    page, _ = await publisher_page(live)
    # The live hub runs on the test clock, so the alert expires two hours after its "now".
    expires = live.clock.now + timedelta(hours=2)
    document = cap_alert("TFS-2026-0042", sent=live.clock.now, infos=(
        info("en-CA", "Gas leak, King St W & Bay St", expires=expires),
        info("fr-CA", "Fuite de gaz, rue King O. et rue Bay", "Fuite de gaz",
             expires=expires, area_desc="King et Bay", description="Les équipes sont sur place.",
             instruction="Évitez le secteur.")))
    path = tmp_path / "gas-leak.cap"
    path.write_bytes(document)

    await upload(page, path)
    await page.wait_for_url("**/alerts/*")
    panel = page.locator("#cap")
    await expect(panel).to_be_visible()
    await expect(panel.locator("#cap-signature")).to_contain_text("Signature absent")
    await expect(panel).to_contain_text("TFS-2026-0042")
    await expect(panel).to_contain_text("cap@tfs.example")
    await expect(page.locator("#summary")).to_contain_text("organisations acknowledged")
    await expect(page.locator("#headline")).to_have_text("Gas leak, King St W & Bay St")

    await panel.get_by_role("button", name="fr-CA").click()
    await expect(page.locator("#headline")).to_have_text("Fuite de gaz, rue King O. et rue Bay")
    await expect(page.locator("#instruction")).to_have_text("Évitez le secteur.")
    await expect(panel.locator("#cap-info-1")).to_be_visible()
    await expect(panel.locator("#cap-info-0")).to_be_hidden()
    await expect(panel.get_by_role("button", name="fr-CA")).to_have_attribute(
        "aria-pressed", "true")
    await screenshot(page, "dashboard-cap")

    await panel.get_by_role("button", name="en-CA").click()
    await expect(page.locator("#headline")).to_have_text("Gas leak, King St W & Bay St")
    alerts = await live.api.call("GET", "/api/v1/alerts")
    assert [a["cap"]["identifier"] for a in alerts] == ["TFS-2026-0042"]
    assert page.url.endswith(f"/alerts/{alerts[0]['id']}")


async def test_an_invalid_cap_file_lists_its_violations_and_nothing_is_imported(
        live: LiveHub) -> None:
    page, _ = await publisher_page(live)
    await upload(page, SAMPLES / "invalid.cap")
    violations = page.locator("#cap-violations")
    await expect(violations.get_by_role("listitem").filter(has_text="/alert/scope")) \
        .to_have_text("/alert/scope: is required")
    await expect(page.locator("#cap-import-detail")).to_contain_text("CAP rule")
    await expect(page.get_by_label("CAP 1.2 file (.cap or .xml)")).to_have_attribute(
        "aria-invalid", "true")
    assert page.url.endswith("/")
    assert await live.api.call("GET", "/api/v1/alerts") == []
    await screenshot(page, "console-cap-invalid")


async def test_an_alert_that_only_names_places_loads_without_a_map_area_or_errors(
        live: LiveHub) -> None:
    page, token = await publisher_page(live)
    document = cap_alert("TFS-2026-0043", sent=live.clock.now, infos=(
        info("en-CA", "Boil water advisory, Etobicoke", "Boil water advisory", polygons=(),
             geocodes=(("profile:CAP-CP:Location:0.3", "3520005"),), area_desc="Etobicoke",
             expires=live.clock.now + timedelta(hours=6)),))
    response = await live.api.client.post("/api/v1/cap", data=document, headers={
        **live.api.auth(token), "Content-Type": "application/cap+xml"})
    created: Any = await response.json()
    assert response.status == 201, created

    await page.goto(f"/alerts/{created['id']}")
    await expect(page.locator("#summary")).to_contain_text("organisations acknowledged")
    named = page.locator("#area-named")
    await expect(named).to_be_visible()
    await expect(named).to_contain_text("Named places only")
    await expect(named).to_contain_text("Etobicoke (profile:CAP-CP:Location:0.3: 3520005)")
    assert await page.locator("#map path.leaflet-interactive").count() == 0  # no area drawn
    await expect(page.locator("#cap")).to_contain_text("(named only)")

    await page.goto("/")
    await expect(page.locator("#recent")).to_contain_text(
        "Named places only")
    # The `live` fixture fails the test on any script error or CSP violation on these pages.
