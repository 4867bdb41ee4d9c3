"""HSDS in and out: the example datapackage and JSON import, a 1.x datapackage imports, and
every answer of the HSDS API validates against the HSDS 3.0 schemas (tests/data/hsds)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from hub.cli import main
from hub.directory import Need
from hub.http import SESSIONS
from hub.services_import import import_path, read_path
from tests.conftest import NOW, Hub

DATA = Path(__file__).parents[1] / "data"
HSDS = DATA / "hsds"
EXAMPLE = HSDS / "examples" / "csv"
OLD = DATA / "hsds-1x"
SCHEMA = HSDS / "schema"
COMPILED = json.loads((SCHEMA / "compiled" / "service_with_definitions.json").read_text())
# The HSDS API's paging envelope (schema/openapi.json, components.schemas.Page).
PAGE = json.loads((SCHEMA / "openapi.json").read_text())["components"]["schemas"]["Page"]
PEEL = """name,need,address,lat,lon,phone,hours,capacity,available,serves
Peel Youth Shelter,shelter,99 Queen St E Brampton,43.6868,-79.7599,905-555-0199,24/7,12,4,youth
Night Drop-In,drop_in,1 Main St N Brampton,43.6850,-79.7610,,Fr-Su 22:00-06:00; Mo off,,,
"""


def registry() -> Registry[Any]:
    """The HSDS schemas by file name, as their `$ref`s ("phone.json") name each other."""
    return Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text()),
                                           default_specification=DRAFT202012))
        for path in SCHEMA.glob("*.json"))


def validate_service(document: dict[str, Any]) -> None:
    """Valid against schema/service.json (with its references) and against the compiled
    schema; and every property we send is one HSDS declares (its schemas allow others)."""
    service = json.loads((SCHEMA / "service.json").read_text())
    Draft202012Validator(service, registry=registry(),
                         format_checker=FormatChecker()).validate(document)
    Draft202012Validator(COMPILED, format_checker=FormatChecker()).validate(document)
    assert undeclared(document, COMPILED) == []


def undeclared(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    if "$ref" in schema:
        schema = COMPILED["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    if isinstance(value, list):
        return [bad for i, item in enumerate(value)
                for bad in undeclared(item, schema.get("items", {}), f"{path}[{i}]")]
    if not isinstance(value, dict):
        return []
    properties = schema.get("properties", {})
    found = [f"{path}.{key}" for key in value if key not in properties]
    return found + [bad for key, item in value.items() if key in properties
                    for bad in undeclared(item, properties[key], f"{path}.{key}")]


def test_the_example_datapackage_imports_with_warnings(
        database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["services", "import", "--need", "drop_in", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "1 place from HSDS 3.0 datapackage: 1 new, 0 updated" in out
    assert "warning: locations.csv row 2, latitude: 100 is not between -90 and 90" in out
    rows = sqlite3.connect(database).execute(
        "SELECT name, need, provider, lat, phone, time_zone, city FROM service_place").fetchall()
    assert rows == [("Community Counselling", "drop_in", "Example Organization Inc.", None,
                     "+44 1234 234567 ext. 100", "Etc/GMT-3", "MyCity")]


def test_the_example_datapackage_needs_a_need(database: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["services", "import", str(EXAMPLE)]) == 1
    out = capsys.readouterr().out
    assert "refused, 1 problem; nothing was imported" in out
    assert "services.csv row 2, need: no attribute names one of the needs" in out
    assert sqlite3.connect(database).execute(
        "SELECT count(*) FROM service_place").fetchone() == (0,)


def test_a_csv_with_one_bad_row_imports_nothing_from_the_command_line(
        database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "peel.csv"
    path.write_text(PEEL + "Bad,shelter,1 A St,43.7,-79.7,,24/7,4,5,\n")
    assert main(["services", "import", str(path)]) == 1
    assert "row 4, available: must be at most the capacity, 4" in capsys.readouterr().out
    assert sqlite3.connect(database).execute(
        "SELECT count(*) FROM service_place").fetchone() == (0,)


def test_an_unknown_organisation_stops_the_command(
        database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["services", "import", "--organisation", "Nobody", str(OLD)]) == 2
    assert "no organisation is named 'Nobody'" in capsys.readouterr().err


def test_the_example_json_imports_as_the_datapackage_does() -> None:
    for name in ("service_full.json", "service_list.json"):
        read = read_path(HSDS / "examples" / name, Need.MEAL)
        assert read.report.problems == []
        assert [place.name for place in read.places] == ["Community Counselling"]
    full = read_path(HSDS / "examples" / "service_full.json", Need.MEAL)
    assert full.places[0].external_id == read_path(EXAMPLE, Need.MEAL).places[0].external_id


def test_a_1x_datapackage_imports_hours_closures_and_needs() -> None:
    read = read_path(OLD, None)
    assert read.kind == "HSDS 1.x datapackage" and read.report.problems == []
    assert [str(w) for w in read.report.warnings] == [
        "services.csv row 4, status: 'defunct': not imported (only active services are)"]
    shelter, meals = read.places
    assert (shelter.need, shelter.serves, shelter.hours) == (Need.SHELTER, ("families",),
                                                             "24/7")
    assert shelter.address == "10 Credit River Way, Mississauga, ON L5B 1A1, CA"
    assert (meals.need, meals.phone, meals.hours) == (Need.MEAL, "905-555-0102 ext. 22",
                                                      "Mo-Fr 11:30-13:30")
    closures = [(s.valid_from, s.valid_to) for s in meals.schedules if s.closed]
    assert [(str(a), str(b)) for a, b in closures] == [("2026-12-25", "2026-12-26")]


def test_numbered_weekdays_of_1x_exports_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    for path in OLD.iterdir():
        (folder / path.name).write_text(path.read_text().replace(",Monday,", ",1,"))
    problems = [str(p) for p in read_path(folder, None).report.problems]
    assert problems == ["regular_schedules.csv row 2, weekday: '1' is not a day's name such "
                        "as Monday (numbered days are not read: exports start the week on "
                        "different days)"]


async def test_hsds_answers_validate_against_the_hsds_schemas(hub: Hub,
                                                              tmp_path: Path) -> None:
    sessions = hub.client.app[SESSIONS]
    peel = tmp_path / "peel.csv"
    peel.write_text(PEEL)
    for path, need in ((EXAMPLE, Need.DROP_IN), (OLD, None), (peel, None)):
        assert await import_path(sessions, path, need, None, NOW) == 0
    listed = await hub.call("GET", "/api/v1/hsds/services", expect=200,
                            params={"per_page": "3"})
    Draft202012Validator(PAGE).validate(listed)
    assert (listed["total_items"], listed["total_pages"], listed["size"]) == (5, 2, 3)
    assert (listed["first_page"], listed["last_page"], listed["empty"]) == (True, False, False)
    second = await hub.call("GET", "/api/v1/hsds/services", expect=200,
                            params={"per_page": "3", "page": "2"})
    services = listed["contents"] + second["contents"]
    assert [s["name"] for s in services] == sorted(s["name"] for s in services)
    for summary in services:
        validate_service(summary)
        one = await hub.call("GET", f"/api/v1/hsds/services/{summary['id']}", expect=200)
        validate_service(one)
        assert one == summary


async def test_an_hsds_service_says_where_and_when(hub: Hub, tmp_path: Path) -> None:
    peel = tmp_path / "peel.csv"
    peel.write_text(PEEL)
    assert await import_path(hub.client.app[SESSIONS], peel, None, None, NOW) == 0
    listed = await hub.call("GET", "/api/v1/hsds/services", expect=200)
    night = next(s for s in listed["contents"] if s["name"] == "Night Drop-In")
    location = night["service_at_locations"][0]["location"]
    assert (location["latitude"], location["longitude"]) == (43.685, -79.761)
    assert location["addresses"][0]["address_1"] == "1 Main St N Brampton"
    assert [(s["byday"], s["opens_at"], s["closes_at"], s["timezone"])
            for s in night["schedules"]] == [("FR,SA,SU", "22:00", "06:00", -5)]
    assert [a["taxonomy_term"]["code"] for a in night["attributes"]] == ["drop_in"]


async def test_our_hsds_reads_back_as_the_same_places(hub: Hub, tmp_path: Path) -> None:
    peel = tmp_path / "peel.csv"
    peel.write_text(PEEL)
    assert await import_path(hub.client.app[SESSIONS], peel, None, None, NOW) == 0
    listed = await hub.call("GET", "/api/v1/hsds/services", expect=200)
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(listed))
    read = read_path(exported, None)
    assert read.report.problems == [] and read.report.warnings == []
    assert [(p.name, p.need, p.serves, p.hours, p.lat, p.lon) for p in read.places] == [
        ("Night Drop-In", Need.DROP_IN, (), "Fr-Su 22:00-06:00", 43.685, -79.761),
        ("Peel Youth Shelter", Need.SHELTER, ("youth",), "24/7", 43.6868, -79.7599)]


async def test_an_unknown_hsds_service_is_not_found(hub: Hub) -> None:
    for wanted in ("not-a-uuid", "5f0c6b1e-3c44-4b8e-9a51-7d2e0c9b4a10"):
        await hub.call("GET", f"/api/v1/hsds/services/{wanted}", expect=404)
    empty = await hub.call("GET", "/api/v1/hsds/services", expect=200)
    assert (empty["total_items"], empty["empty"], empty["contents"]) == (0, True, [])
    await hub.call("GET", "/api/v1/hsds/services", expect=422, params={"per_page": "101"})


@pytest.mark.parametrize(("text", "problem"), [
    ("{not json", "x.json, document: is not JSON"),
    ('"a service"', "x.json, document: must be an HSDS service, a list of services"),
    ("[" * 5000 + "]" * 5000, "x.json, document: is"),
    ('[{"name": "A", "status": "active"}]', "x.json [0], id: is required"),
    ('{"id": "s", "name": "A", "service_at_locations": [{"location": {"id": "l", '
     '"latitude": "north", "longitude": 1}}]}',
     "x.json service_at_locations[0].location, latitude: must be a decimal number"),
    ('{"id": "s", "name": "A", "schedules": [{"id": "t", "byday": "MO", "opens_at": "9am", '
     '"closes_at": "17:00"}]}', "x.json schedules[0], opens_at: '9am' is not a time"),
    ('{"id": "s", "name": "A", "schedules": [{"id": "t", "opens_at": "09:00", '
     '"closes_at": "17:00", "timezone": 3.5}]}', "x.json schedules[0], timezone: must be a "
                                                 "whole number of hours"),
])
def test_bad_hsds_json_is_refused_naming_where(tmp_path: Path, text: str,
                                               problem: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    read = read_path(path, Need.SHELTER)
    assert any(str(p).startswith(problem) for p in read.report.problems), read.report.problems
