"""HSDS CSV datapackages, 3.0 and the older 1.x layout of many 211 exports, read into the
nested shape of HSDS 3.0 JSON (a service with its service_at_locations, each with its
location), every record remembering the file and row it came from."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hub.place_drafts import Problem, Report

Record = dict[str, Any]
ORIGIN = "\0where"  # the key under which a record keeps where it was read
MAX_TABLE_BYTES = 64 * 1024 * 1024
# The 3.0 tables the hub reads; a folder with any of the first three is 3.0.
TABLES_3 = ("schedules.csv", "addresses.csv", "service_at_location.csv", "services.csv",
            "organizations.csv", "locations.csv", "phones.csv", "attributes.csv",
            "taxonomy_terms.csv")
TABLES_1 = ("services.csv", "organizations.csv", "locations.csv", "services_at_location.csv",
            "physical_addresses.csv", "phones.csv", "regular_schedules.csv",
            "holiday_schedules.csv", "services_taxonomy.csv", "taxonomy.csv")
WEEKDAYS = {name: day for day, names in enumerate((
    ("monday", "mon", "mo"), ("tuesday", "tue", "tues", "tu"), ("wednesday", "wed", "we"),
    ("thursday", "thu", "thur", "thurs", "th"), ("friday", "fri", "fr"),
    ("saturday", "sat", "sa"), ("sunday", "sun", "su"))) for name in names}
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def where(record: Record) -> str:
    return str(record.get(ORIGIN, "?"))


def is_datapackage(folder: Path) -> bool:
    return (folder / "services.csv").is_file()


def version_of(folder: Path) -> int:
    return 3 if any((folder / name).is_file() for name in TABLES_3[:3]) else 1


def read_table(folder: Path, name: str, report: Report) -> list[Record]:
    """The table's rows (none when the file is absent), each with its row number as a
    spreadsheet shows it (the header is row 1)."""
    path = folder / name
    if not path.is_file():
        return []
    if path.stat().st_size > MAX_TABLE_BYTES:
        report.problems.append(Problem(name, "file", f"larger than {MAX_TABLE_BYTES} bytes"))
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        report.problems.append(Problem(name, "file", f"is not UTF-8 text: {error}"))
        return []
    reader = csv.DictReader(io.StringIO(text))
    rows: list[Record] = []
    try:
        reader.fieldnames = [(field or "").strip().lower() for field in reader.fieldnames or []]
        for number, row in enumerate(reader, start=2):
            record: Record = {key: (value or "").strip() for key, value in row.items()
                              if isinstance(key, str) and isinstance(value, str)}
            record[ORIGIN] = f"{name} row {number}"
            rows.append(record)
    except csv.Error as error:  # a NUL byte, a cell past the csv module's size limit
        report.problems.append(Problem(f"{name} row {len(rows) + 2}", "file",
                                       f"cannot be read as CSV: {error}"))
    return rows


def services_of(folder: Path, report: Report) -> list[Record]:
    """Every service of the datapackage, nested as HSDS 3.0 JSON nests a full service."""
    if version_of(folder) == 3:
        tables = {name: read_table(folder, name, report) for name in TABLES_3}
    else:
        tables = tables_from_1x({name: read_table(folder, name, report) for name in TABLES_1},
                                report)
    return nest(tables)


def tables_from_1x(old: dict[str, list[Record]], report: Report) -> dict[str, list[Record]]:
    """HSDS 1.x tables in 3.0's names and columns."""
    schedules = [_regular(row, report) for row in old["regular_schedules.csv"]]
    schedules += [_holiday(row, report) for row in old["holiday_schedules.csv"]]
    return {
        "services.csv": old["services.csv"], "organizations.csv": old["organizations.csv"],
        "locations.csv": old["locations.csv"], "phones.csv": old["phones.csv"],
        "service_at_location.csv": old["services_at_location.csv"],
        "addresses.csv": [{**row, "address_type": "physical"}
                          for row in old["physical_addresses.csv"]],
        "schedules.csv": [row for row in schedules if row is not None],
        "attributes.csv": [{ORIGIN: row[ORIGIN], "link_id": row.get("service_id", ""),
                            "taxonomy_term_id": row.get("taxonomy_id", "")}
                           for row in old["services_taxonomy.csv"]],
        "taxonomy_terms.csv": [{**row, "code": row.get("name", "")}
                               for row in old["taxonomy.csv"]],
    }


def _regular(row: Record, report: Report) -> Record | None:
    """A 1.x regular schedule (one weekday's times) as a 3.0 weekly schedule."""
    day = row.get("weekday", "")
    if day.lower() not in WEEKDAYS:
        # Exports number weekdays from Sunday or from Monday: a number is refused, not guessed.
        report.problems.append(Problem(row[ORIGIN], "weekday", f"{day!r} is not a day's name "
                                       "such as Monday (numbered days are not read: exports "
                                       "start the week on different days)"))
        return None
    return {**row, "freq": "WEEKLY", "byday": DAY_CODES[WEEKDAYS[day.lower()]]}


def _holiday(row: Record, report: Report) -> Record | None:
    """A 1.x holiday schedule as a closure (3.0 dates without times); special opening
    hours on dates are refused."""
    if row.get("closed", "").lower() not in ("true", "1", "yes"):
        report.problems.append(Problem(row[ORIGIN], "closed", "only closures (closed = true) "
                                       "are read; special opening hours on dates are not"))
        return None
    return {ORIGIN: row[ORIGIN], "service_id": row.get("service_id", ""),
            "location_id": row.get("location_id", ""),
            "service_at_location_id": row.get("service_at_location_id", ""),
            "valid_from": row.get("start_date", ""),
            "valid_to": row.get("end_date", "") or row.get("start_date", ""),
            "description": "Closed"}


def _by(rows: Iterable[Record], key: str) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = defaultdict(list)
    for row in rows:
        if row.get(key):
            grouped[row[key]].append(row)
    return grouped


def nest(tables: dict[str, list[Record]]) -> list[Record]:
    organizations = {row.get("id"): row for row in tables["organizations.csv"]}
    terms = {row.get("id"): row for row in tables["taxonomy_terms.csv"]}
    attributes = _by(({**row, "taxonomy_term": terms.get(row.get("taxonomy_term_id"))}
                      for row in tables["attributes.csv"]), "link_id")
    locations = {row.get("id"): _location(row, tables) for row in tables["locations.csv"]}
    sal_by_service = _by(tables["service_at_location.csv"], "service_id")
    services = []
    for row in tables["services.csv"]:
        service_id = row.get("id", "")
        own = _own(tables, "service_id", service_id, ("location_id", "service_at_location_id"))
        services.append({
            **row, **own, "organization": organizations.get(row.get("organization_id")),
            "attributes": attributes.get(service_id, []),
            "service_at_locations": [_at_location(sal, service_id, locations, tables)
                                     for sal in sal_by_service.get(service_id, [])]})
    return services


def _own(tables: dict[str, list[Record]], key: str, value: str,
         not_set: tuple[str, ...]) -> Record:
    """The phones and schedules that belong to this record alone (not to a narrower one)."""
    return {name: [row for row in tables[f"{name}.csv"] if value and row.get(key) == value
                   and not any(row.get(other) for other in not_set)]
            for name in ("phones", "schedules")}


def _location(row: Record, tables: dict[str, list[Record]]) -> Record:
    location_id = row.get("id", "")
    return {**row, **_own(tables, "location_id", location_id,
                          ("service_id", "service_at_location_id")),
            "addresses": [a for a in tables["addresses.csv"]
                          if location_id and a.get("location_id") == location_id]}


def _at_location(sal: Record, service_id: str, locations: dict[Any, Record],
                 tables: dict[str, list[Record]]) -> Record:
    """A service at a location: the phones and schedules of that pair (by its id, or by the
    service's and the location's ids together)."""
    location_id = sal.get("location_id", "")

    def mine(row: Record) -> bool:
        if row.get("service_at_location_id"):
            return row["service_at_location_id"] == sal.get("id")
        return bool(location_id) and row.get("service_id") == service_id \
            and row.get("location_id") == location_id

    return {**sal, "location": locations.get(location_id),
            **{name: [row for row in tables[f"{name}.csv"] if mine(row)]
               for name in ("phones", "schedules")}}
