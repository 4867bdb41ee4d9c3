"""The services directory: nearby places that are open and have room, capacity updates by
the agency that runs a place, and the import of our CSV (only the clock is faked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.http import SESSIONS
from hub.services_import import import_path
from tests.conftest import NOW, Hub

HEADER = "name,need,address,lat,lon,phone,hours,capacity,available,serves"
# Mississauga City Centre; the places are north of it, 0.0009 degrees of latitude ~ 100 m.
HERE = (43.5890, -79.6441)
# NOW is Saturday 21 November 2026, 12:00 in Toronto (17:00 UTC).
STALE_ROWS = f"""{HEADER}
Stale Shelter,shelter,1 Stale St,43.5899,-79.6441,905-555-0100,24/7,10,5,men
"""
ROWS = f"""{HEADER}
Full Shelter,shelter,2 Full St,43.5899,-79.6441,905-555-0101,24/7,10,0,men
Closed Shelter,shelter,3 Evening Rd,43.58945,-79.6441,905-555-0102,Mo-Fr 18:00-08:00,10,5,women
Near Shelter,shelter,4 Near Ave,43.5917,-79.6441,905-555-0103,24/7,20,3,families;pets
Far Shelter,shelter,5 Far Blvd,43.6070,-79.6441,905-555-0104,24/7,30,12,
Noon Meals,meal,6 Soup Lane,43.5908,-79.6441,905-555-0105,Sa 11:00-14:00,,,
Peel Crisis Line,crisis_line,7 Help Way,43.6340,-79.6441,905-555-0106,24/7,,,youth
"""


async def load(hub: Hub, tmp_path: Path, rows: str, name: str = "places.csv",
               organisation: str | None = None) -> int:
    path = tmp_path / name
    path.write_text(rows)
    return await import_path(hub.client.app[SESSIONS], path, None, organisation, hub.clock())


async def directory(hub: Hub, tmp_path: Path, organisation: str | None = None) -> None:
    """The stale shelter's count was given seven hours ago, every other one now."""
    hub.clock.now = NOW - timedelta(hours=7)
    assert await load(hub, tmp_path, STALE_ROWS, "stale.csv", organisation) == 0
    hub.clock.now = NOW
    assert await load(hub, tmp_path, ROWS, organisation=organisation) == 0


async def nearby(hub: Hub, expect: int = 200, **query: Any) -> Any:
    params = {"lat": str(HERE[0]), "lon": str(HERE[1]), **query}
    return await hub.call("GET", "/api/v1/services/nearby", expect=expect, params=params)


def names(answer: dict[str, Any]) -> list[str]:
    return [place["name"] for place in answer["places"]]


async def test_closed_full_and_stale_places_are_not_offered(hub: Hub, tmp_path: Path) -> None:
    await directory(hub, tmp_path)
    answer = await nearby(hub, need="shelter")
    assert names(answer) == ["Near Shelter", "Far Shelter"]
    near = answer["places"][0]
    assert near["distance_m"] == pytest.approx(300, abs=5)
    assert near["address"] == "4 Near Ave" and near["phone"] == "905-555-0103"
    assert (near["lat"], near["lon"], near["hours"]) == (43.5917, -79.6441, "24/7")
    assert near["open_now"] is True and near["available"] == 3 and not near["stale"]
    assert near["serves"] == ["families", "pets"]
    assert near["directions_url"] == \
        "https://www.openstreetmap.org/directions?to=43.591700,-79.644100"
    assert answer["generated_at"] == NOW.isoformat() and answer["stale_after_s"] == 21600
    # Closed now but with room: offered only when the caller asks for closed places too.
    later = await nearby(hub, need="shelter", open_now="false")
    assert names(later) == ["Closed Shelter", "Near Shelter", "Far Shelter"]
    assert later["places"][0]["open_now"] is False


async def test_a_stale_count_becomes_fresh_when_the_agency_updates_it(
        hub: Hub, tmp_path: Path) -> None:
    agency = await hub.organisation("Peel Shelters", "agency")
    await directory(hub, tmp_path, agency)
    token = await hub.token(agency, "partner")
    stale = await place_named(hub, "Stale Shelter")
    assert stale["stale"] and not stale["has_room"]
    await hub.call("POST", f"/api/v1/services/{stale['id']}/capacity", token, expect=200,
                   json={"available": 4})
    assert names(await nearby(hub, need="shelter", limit="1")) == ["Stale Shelter"]
    hub.clock.advance(6 * 3600 + 1)  # VIGIL_SERVICES_STALE_S later, and one second
    assert "Stale Shelter" not in names(await nearby(hub, need="shelter"))


async def test_nearby_orders_by_distance_and_honours_limit_and_need(
        hub: Hub, tmp_path: Path) -> None:
    await directory(hub, tmp_path)
    everything = await nearby(hub)
    assert names(everything) == ["Noon Meals", "Near Shelter", "Far Shelter",
                                 "Peel Crisis Line"]
    distances = [place["distance_m"] for place in everything["places"]]
    assert distances == sorted(distances)
    assert names(await nearby(hub, limit="2")) == ["Noon Meals", "Near Shelter"]
    assert names(await nearby(hub, need="meal")) == ["Noon Meals"]
    # A crisis line has no beds: it always has room.
    line = (await nearby(hub, need="crisis_line"))["places"]
    assert [(p["name"], p["capacity"], p["has_room"]) for p in line] == [
        ("Peel Crisis Line", None, True)]
    assert names(await nearby(hub, need="cooling_centre")) == []


OVERNIGHT = f"""{HEADER},time_zone
Every Night,warming_centre,1 Night St,43.5899,-79.6441,,Mo-Su 20:00-07:00,,,,
Friday Night,warming_centre,2 Friday St,43.5908,-79.6441,,Fr 22:00-06:00,,,,
Vancouver Mornings,warming_centre,3 Pacific Av,43.5917,-79.6441,,08:00-10:00,,,,America/Vancouver
"""


@pytest.mark.parametrize(("toronto", "open_places"), [
    # Saturday 05:00 in Toronto: both night spans run on from the evening before.
    ("2026-11-21T05:00", ["Every Night", "Friday Night"]),
    ("2026-11-21T06:30", ["Every Night"]),  # Friday's span ended at 06:00
    ("2026-11-21T07:00", []),  # closing time is not open
    # 09:00 Toronto is 06:00 in Vancouver: the mornings there have not begun.
    ("2026-11-21T09:00", []),
    ("2026-11-21T12:00", ["Vancouver Mornings"]),  # 09:00 in Vancouver
    ("2026-11-21T22:30", ["Every Night"]),  # Saturday: no Friday night
    ("2026-11-20T23:59", ["Every Night", "Friday Night"]),
])
async def test_open_now_across_midnight_and_in_the_places_own_time_zone(
        hub: Hub, tmp_path: Path, toronto: str, open_places: list[str]) -> None:
    assert await load(hub, tmp_path, OVERNIGHT) == 0
    hub.clock.now = datetime.fromisoformat(toronto).replace(
        tzinfo=UTC) + timedelta(hours=5)  # Toronto is UTC-5 in November
    assert sorted(names(await nearby(hub, need="warming_centre"))) == open_places


async def place_named(hub: Hub, name: str) -> Any:
    found = await nearby(hub, open_now="false", limit="50")
    ids = [place["id"] for place in found["places"] if place["name"] == name]
    if not ids:  # a place without room is not nearby: find it through HSDS
        listed = await hub.call("GET", "/api/v1/hsds/services", expect=200)
        ids = [service["id"].replace("-", "") for service in listed["contents"]
               if service["name"] == name]
    return await hub.call("GET", f"/api/v1/services/{ids[0]}", expect=200)


async def test_the_agency_that_runs_a_place_updates_its_capacity(
        hub: Hub, tmp_path: Path) -> None:
    agency = await hub.organisation("Peel Shelters", "agency")
    await directory(hub, tmp_path, agency)
    partner, admin = await hub.token(agency, "partner"), await hub.token(agency, "admin")
    full = await place_named(hub, "Full Shelter")
    path = f"/api/v1/services/{full['id']}/capacity"
    hub.clock.advance(60)
    updated = await hub.call("POST", path, partner, expect=200, json={"available": 2})
    assert (updated["available"], updated["capacity"], updated["has_room"]) == (2, 10, True)
    assert updated["capacity_updated_at"] == (NOW + timedelta(seconds=60)).isoformat()
    assert "Full Shelter" in names(await nearby(hub, need="shelter"))
    await hub.call("POST", path, admin, expect=200, json={"available": 12, "capacity": 12})
    await hub.call("POST", path, expect=200, json={"available": 0})  # the hub admin
    assert (await hub.call("GET", f"/api/v1/services/{full['id']}"))["available"] == 0


async def test_another_partner_may_not_update_a_place(hub: Hub, tmp_path: Path) -> None:
    agency = await hub.organisation("Peel Shelters", "agency")
    await directory(hub, tmp_path, agency)
    _, other = await hub.partner("Square One Security", {"name": "Mall", "lat": 43.593,
                                                          "lon": -79.642})
    publisher = await hub.publisher()
    near = await place_named(hub, "Near Shelter")
    path = f"/api/v1/services/{near['id']}/capacity"
    refused = await hub.call("POST", path, other, expect=403, json={"available": 0})
    assert "agency that runs this place" in refused["detail"]
    await hub.call("POST", path, publisher, expect=403, json={"available": 0})
    await hub.call("POST", "/api/v1/services/" + "0" * 32 + "/capacity", other, expect=404,
                   json={"available": 0})
    assert (await hub.call("GET", f"/api/v1/services/{near['id']}", other))["available"] == 3


@pytest.mark.parametrize(("body", "field"), [
    ({"available": 21}, "available"),  # more than the capacity, 20
    ({"available": 5, "capacity": 4}, "available"),
    ({"available": -1}, "available"),
    ({"available": 1.5}, "available"),
    ({"available": "3"}, "available"),
    ({}, "available"),
    ({"available": 1, "capacity": 0}, "capacity"),
    ({"available": 1, "beds": 4}, "beds"),
    ([1], "body"),
])
async def test_bad_capacity_updates_name_the_field_and_change_nothing(
        hub: Hub, tmp_path: Path, body: Any, field: str) -> None:
    agency = await hub.organisation("Peel Shelters", "agency")
    await directory(hub, tmp_path, agency)
    near = await place_named(hub, "Near Shelter")
    refused = await hub.call("POST", f"/api/v1/services/{near['id']}/capacity",
                             await hub.token(agency, "partner"), expect=422, json=body)
    assert field in refused["fields"], refused
    after = await hub.call("GET", f"/api/v1/services/{near['id']}")
    assert (after["available"], after["capacity"]) == (3, 20)


async def test_a_place_without_capacity_needs_one_with_its_first_count(
        hub: Hub, tmp_path: Path) -> None:
    await directory(hub, tmp_path)
    meals = await place_named(hub, "Noon Meals")
    path = f"/api/v1/services/{meals['id']}/capacity"
    refused = await hub.call("POST", path, expect=422, json={"available": 10})
    assert refused["fields"] == {"capacity": "is required: this place has no capacity yet"}
    seated = await hub.call("POST", path, expect=200, json={"available": 10, "capacity": 40})
    assert (seated["available"], seated["capacity"]) == (10, 40)


@pytest.mark.parametrize(("query", "field"), [
    ({"lat": "91"}, "lat"),
    ({"lat": "north"}, "lat"),
    ({"lat": "1e3"}, "lat"),
    ({"lon": "-180.5"}, "lon"),
    ({"lon": ""}, "lon"),
    ({"need": "hotel"}, "need"),
    ({"limit": "0"}, "limit"),
    ({"limit": "51"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"open_now": "yes"}, "open_now"),
    ({"radius": "500"}, "radius"),
])
async def test_bad_nearby_queries_name_the_field(hub: Hub, query: dict[str, str],
                                                 field: str) -> None:
    refused = await nearby(hub, expect=422, **query)
    assert list(refused["fields"]) == [field]


async def test_nearby_needs_a_point(hub: Hub) -> None:
    refused = await hub.call("GET", "/api/v1/services/nearby", expect=422)
    assert set(refused["fields"]) == {"lat", "lon"}


async def test_nearby_is_for_staff(hub: Hub) -> None:
    response = await hub.client.get("/api/v1/services/nearby",
                                    params={"lat": "43.59", "lon": "-79.64"})
    assert response.status == 401


BAD_ROW = f"""{HEADER}
Good Shelter,shelter,1 Good St,43.59,-79.64,905-555-0100,24/7,10,5,
Bad Hours,shelter,2 Bad St,43.59,-79.65,905-555-0101,Mo-Fr 9am-5pm,10,5,
Good Meals,meal,3 Meal St,43.60,-79.64,,Mo-Fr 11:00-13:00,,,
"""


async def test_a_csv_with_one_bad_row_imports_nothing_and_names_the_row(
        hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await load(hub, tmp_path, BAD_ROW) == 1
    out = capsys.readouterr().out
    assert "refused, 1 problem; nothing was imported" in out
    assert "row 3, hours: cannot read 'Mo-Fr 9am-5pm'" in out
    assert (await nearby(hub, open_now="false"))["places"] == []


@pytest.mark.parametrize(("row", "problem"), [
    ("X,shelter,1 A St,91,-79.6,,24/7,,,", "row 2, lat: must be between -90 and 90"),
    ("X,shelter,1 A St,43.6,,,24/7,,,", "row 2, lon: is required"),
    ("X,hotel,1 A St,43.6,-79.6,,24/7,,,", "row 2, need: must be one of: shelter, meal"),
    (",shelter,1 A St,43.6,-79.6,,24/7,,,", "row 2, name: is required"),
    ("X,shelter,1 A St,43.6,-79.6,,24/7,5,6,", "row 2, available: must be at most the "
                                                "capacity, 5"),
    ("X,shelter,1 A St,43.6,-79.6,,24/7,,6,", "row 2, available: needs a capacity"),
    ("X,shelter,1 A St,43.6,-79.6,,24/7,,,cats", "row 2, serves: 'cats' is not one of"),
    ("X,shelter,1 A St,43.6,-79.6,call us,24/7,,,", "row 2, phone: must be a phone number"),
    ("X,shelter,1 A St,43.6,-79.6,,PH off,,,", "row 2, hours: cannot read 'PH off': rule 1"),
    ("X,shelter,1 A St,43.6,-79.6,,24/7,,,,extra", "row 2, serves: the row has more cells"),
])
async def test_each_bad_field_is_named_with_its_row(
        hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str], row: str,
        problem: str) -> None:
    assert await load(hub, tmp_path, f"{HEADER}\n{row}\n") == 1
    assert problem in capsys.readouterr().out


async def test_a_header_missing_a_column_is_refused(
        hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await load(hub, tmp_path, "name,need,address,lat,lon\nX,meal,1 A St,43.6,-79.6\n") == 1
    out = capsys.readouterr().out
    assert "row 1 (the header), hours: is missing" in out
    assert "row 1 (the header), serves: is missing" in out


async def test_importing_again_updates_and_keeps_the_agencys_counts(
        hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await directory(hub, tmp_path)
    near = await place_named(hub, "Near Shelter")
    await hub.call("POST", f"/api/v1/services/{near['id']}/capacity", expect=200,
                   json={"available": 7})
    moved = ROWS.replace("24/7,20,3,families;pets", "Mo-Su 06:00-23:00,,,families")
    assert await load(hub, tmp_path, moved) == 0
    assert "6 places from CSV: 0 new, 6 updated" in capsys.readouterr().out
    again = await hub.call("GET", f"/api/v1/services/{near['id']}")
    assert (again["hours"], again["serves"]) == ("Mo-Su 06:00-23:00", ["families"])
    assert (again["available"], again["capacity"]) == (7, 20)


async def test_the_capacity_page_lists_and_saves_only_the_agencys_own_places(
        hub: Hub, browsers: Any, tmp_path: Path) -> None:
    agency = await hub.organisation("Peel Shelters", "agency")
    await directory(hub, tmp_path, agency)
    other = await hub.organisation("Square One Security")
    await hub.person(agency, "partner", "night@peelshelters.example")
    await hub.person(other, "partner", "desk@squareone.example")
    near = await place_named(hub, "Near Shelter")
    staff, stranger = browsers(), browsers()
    await staff.sign_in("night@peelshelters.example")
    page = await staff.call("GET", "/services/capacity", 200)
    assert "Near Shelter" in page and "Peel Crisis Line" in page
    await staff.call("POST", f"/services/capacity/{near['id']}", 303,
                     data={"available": "5", "capacity": "20"})
    assert (await hub.call("GET", f"/api/v1/services/{near['id']}"))["available"] == 5
    refused = await staff.call("POST", f"/services/capacity/{near['id']}", 422,
                               data={"available": "21", "capacity": "20"})
    assert "Available must be at most the capacity, 20." in refused
    await stranger.sign_in("desk@squareone.example")
    assert "Near Shelter" not in await stranger.call("GET", "/services/capacity", 200)
    await stranger.call("POST", f"/services/capacity/{near['id']}", 403,
                        data={"available": "0"})
    assert (await hub.call("GET", f"/api/v1/services/{near['id']}"))["available"] == 5
