"""The services pages on a phone: an officer finds the nearest shelter with room from the
phone's location, still sees the last answer when the connection drops; an agency's staff
update their free beds."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from hub.http import SESSIONS
from hub.services_import import import_path
from tests.pages.conftest import LiveHub, screenshot

PHONE = {"width": 390, "height": 844}
HERE = {"latitude": 43.5890, "longitude": -79.6441}  # Mississauga City Centre
PLACES = "\n".join((
    "name,need,address,lat,lon,phone,hours,capacity,available,serves",
    "Credit River Family Shelter,shelter,10 Credit River Way Mississauga,43.5917,-79.6441,"
    "905-555-0101,24/7,20,3,families;pets",
    "Square One Men's Shelter,shelter,20 City Centre Dr Mississauga,43.5935,-79.6420,"
    "905-555-0102,24/7,40,0,men",
    "Cooksville Youth Beds,shelter,30 Hurontario St Mississauga,43.5800,-79.6300,"
    "905-555-0103,Mo-Su 19:00-08:00,12,6,youth",
    "Hall Street Lunch,meal,40 Hall St Mississauga,43.5899,-79.6441,905-555-0104 ext. 22,"
    "Sa 11:00-14:00,,,", ""))


async def directory(live: LiveHub, tmp_path: Path, organisation: str | None = None) -> None:
    path = tmp_path / "peel.csv"
    path.write_text(PLACES)
    assert await import_path(live.api.client.app[SESSIONS], path, None, organisation,
                             live.clock()) == 0


async def test_an_officer_finds_the_nearest_shelter_with_room_and_keeps_it_offline(
        live: LiveHub, tmp_path: Path) -> None:
    await directory(live, tmp_path)
    police = await live.api.organisation("Peel Regional Police", "police")
    officer = await live.person(police, "partner", "officer@prp.example")
    page = await live.page(viewport=PHONE, geolocation=HERE, permissions=["geolocation"])
    await page.clock.install()
    await live.sign_in(page, officer)
    await page.goto("/services")
    await expect(page.get_by_role("button", name="Shelter")).to_have_attribute(
        "aria-pressed", "true")
    await page.get_by_role("button", name="Use my location").click()
    places = page.locator("#services-list li.place")
    # Noon on a Saturday: the men's shelter is full and the youth beds open at 19:00.
    await expect(places).to_have_count(1)
    first = places.first
    await expect(first.get_by_role("heading")).to_have_text("Credit River Family Shelter")
    await expect(first).to_contain_text("300 m")
    await expect(first).to_contain_text("3 of 20 free")
    await expect(first).to_contain_text("Open now")
    await expect(first.get_by_role("link", name="Call 905-555-0101")).to_have_attribute(
        "href", "tel:9055550101")
    await expect(first.get_by_role("link", name="Directions")).to_have_attribute(
        "href", "https://www.openstreetmap.org/directions?from=43.589,-79.6441"
                "&to=43.5917,-79.6441")
    await expect(first.get_by_role("link", name="Open in maps app")).to_have_attribute(
        "href", "geo:43.5917,-79.6441?q=43.5917,-79.6441")
    await expect(page.locator("#services-age")).to_contain_text("answer from less than a "
                                                                "minute ago")
    await screenshot(page, "services")

    await page.context.set_offline(True)
    await page.clock.fast_forward("12:00")  # twelve minutes without a connection
    await page.get_by_role("button", name="Meal").click()
    await expect(page.locator("#services-status")).to_have_text("The hub did not answer.")
    await expect(page.locator("#services-age")).to_have_text(
        "No connection: showing the last answer, from 12 minutes ago (Shelter). It may be "
        "out of date.")
    await expect(places.first.get_by_role("heading")).to_have_text("Credit River Family Shelter")
    await screenshot(page, "services-offline")

    await page.context.set_offline(False)
    await page.goto("/services")  # a fresh page still has the last answer on the device
    await expect(page.locator("#services-status")).to_contain_text("The last answer on this "
                                                                   "device")
    await expect(places).to_have_count(1)
    await expect(page.get_by_role("button", name="Meal")).to_have_attribute(
        "aria-pressed", "true")
    await page.get_by_role("button", name="Use my location").click()
    await expect(places.first.get_by_role("heading")).to_have_text("Hall Street Lunch")
    await expect(places.first).to_contain_text("No beds to count")
    await expect(places.first.get_by_role("link", name="Call 905-555-0104 ext. 22")
                 ).to_have_attribute("href", "tel:9055550104,22")


async def test_a_typed_location_when_the_phone_will_not_share_one(
        live: LiveHub, tmp_path: Path) -> None:
    await directory(live, tmp_path)
    police = await live.api.organisation("Peel Regional Police", "police")
    officer = await live.person(police, "partner", "officer@prp.example")
    page = await live.page(viewport=PHONE)  # no geolocation permission
    await live.sign_in(page, officer)
    await page.goto("/services")
    await page.get_by_role("button", name="Use my location").click()
    await expect(page.locator("#services-status")).to_contain_text("type a location below")
    await page.get_by_label("Latitude").fill("43.5800")
    await page.get_by_label("Longitude").fill("-79.6300")
    await page.get_by_role("button", name="Search here").click()
    await expect(page.locator("#services-list li.place").first.get_by_role("heading")
                 ).to_have_text("Credit River Family Shelter")


async def test_an_agencys_staff_update_their_free_beds_on_a_phone(
        live: LiveHub, tmp_path: Path) -> None:
    agency = await live.api.organisation("Credit River Community Services", "agency")
    await directory(live, tmp_path, agency)
    staff = await live.person(agency, "partner", "night@creditriver.example")
    page = await live.page(viewport=PHONE)
    await live.sign_in(page, staff)
    await page.goto("/services")
    await page.get_by_role("link", name="Update its beds and seats").click()
    full = page.locator("li", has=page.get_by_role("heading", name="Square One Men's Shelter"))
    await expect(full.get_by_label("Free now")).to_have_value("0")
    await full.get_by_role("button", name="One more free at Square One Men's Shelter").click()
    await full.get_by_role("button", name="One more free at Square One Men's Shelter").click()
    await expect(full.get_by_label("Free now")).to_have_value("2")
    await full.get_by_role("button", name="Save Square One Men's Shelter").click()
    await expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text(
        "Saved: Square One Men's Shelter")
    await expect(full.get_by_label("Free now")).to_have_value("2")
    await expect(full).to_contain_text("Last updated: just now")
    await screenshot(page, "services-capacity")

    await full.get_by_label("Free now").fill("41")
    await full.get_by_role("button", name="Save Square One Men's Shelter").click()
    await expect(full.locator(".field-error")).to_have_text(
        "Available must be at most the capacity, 40.")
    await full.get_by_label("Free now").fill("lots")
    await full.get_by_role("button", name="Save Square One Men's Shelter").click()
    await expect(full.locator(".field-error")).to_have_text(
        "Available must be a whole number, such as 4.")
    answer = await live.api.call("GET", "/api/v1/services/nearby", expect=200, params={
        "lat": "43.589", "lon": "-79.6441", "need": "shelter"})
    assert [p["name"] for p in answer["places"]] == ["Credit River Family Shelter",
                                                     "Square One Men's Shelter"]
