"""The services directory's own simple CSV: one place a row, with its hours in
OpenStreetMap's `opening_hours` words."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from hub.directory import Need
from hub.hours import HoursError, Opening, byday, parse_osm
from hub.place_drafts import Fields, PlaceDraft, Problem, Report, ScheduleDraft
from hub.services import MAX_SEATS

COLUMNS = ("name", "need", "address", "lat", "lon", "phone", "hours", "capacity",
           "available", "serves")
OPTIONAL = ("time_zone",)  # America/Toronto when the column or the cell is blank
MAX_ROWS = 20_000


def read_csv(text: str, report: Report) -> list[PlaceDraft]:
    """The rows of our CSV as place drafts; every bad row is in `report.problems`."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), restkey="\0extra")
    try:
        header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    except csv.Error as error:
        report.problems.append(Problem("row 1 (the header)", "file",
                                       f"cannot be read as CSV: {error}"))
        return []
    if not _header_ok(header, report):
        return []
    reader.fieldnames = header
    drafts: list[PlaceDraft] = []
    seen: dict[str, int] = {}
    for number, row in _rows(reader, report):
        draft = _row(row, Fields(report, f"row {number}"))
        if draft is None:
            continue
        if draft.external_id in seen:
            report.problems.append(Problem(f"row {number}", "name", "the same name and address "
                                           f"as row {seen[draft.external_id]}"))
            continue
        seen[draft.external_id] = number
        drafts.append(draft)
    return drafts


def _header_ok(header: list[str], report: Report) -> bool:
    missing = [name for name in COLUMNS if name not in header]
    unknown = [name for name in header if name not in COLUMNS + OPTIONAL]
    doubled = sorted({name for name in header if header.count(name) > 1})
    for names, what in ((missing, "is missing"), (unknown, "is not a known column"),
                        (doubled, "appears twice")):
        for name in names:
            report.problems.append(Problem("row 1 (the header)", name or "(blank)", what))
    return not (missing or unknown or doubled)


def _rows(reader: csv.DictReader[str], report: Report) -> Iterator[tuple[int, dict[str, str]]]:
    """Each record with its row number as a spreadsheet shows it (the header is row 1)."""
    try:
        yield from _records(reader, report)
    except csv.Error as error:  # a NUL byte, a cell past the csv module's size limit
        report.problems.append(Problem(f"row {reader.line_num}", "file",
                                       f"cannot be read as CSV: {error}"))


def _records(reader: csv.DictReader[str],
             report: Report) -> Iterator[tuple[int, dict[str, str]]]:
    for index, row in enumerate(reader, start=2):
        if index - 1 > MAX_ROWS:
            report.problems.append(Problem(f"row {index}", "name",
                                           f"a file may hold at most {MAX_ROWS} places"))
            return
        if "\0extra" in row:
            report.problems.append(Problem(f"row {index}", "serves",
                                           "the row has more cells than the header"))
            continue
        yield index, {key: (value or "").strip() for key, value in row.items()}


def _row(row: dict[str, str], check: Fields) -> PlaceDraft | None:
    name = check.text("name", row.get("name"), required=True)
    need = check.choice("need", row.get("need"), Need)
    address = check.text("address", row.get("address"), max_len=400, required=True)
    lat = check.coordinate("lat", row.get("lat"), 90, required=True)
    lon = check.coordinate("lon", row.get("lon"), 180, required=True)
    phone = check.phone("phone", row.get("phone"))
    hours, schedules = _hours(row.get("hours", ""), check)
    capacity = check.count("capacity", row.get("capacity"), low=1, high=MAX_SEATS)
    available = check.count("available", row.get("available"), low=0, high=MAX_SEATS)
    if available is not None and capacity is None and not row.get("capacity"):
        check.fail("available", "needs a capacity in the same row")
    if available is not None and capacity is not None and available > capacity:
        check.fail("available", f"must be at most the capacity, {capacity}")
    serves = check.serves("serves", row.get("serves"))
    time_zone = check.time_zone("time_zone", row.get("time_zone"))
    if check.failed or need is None:
        return None
    return PlaceDraft(
        external_id=f"csv:{' '.join(name.lower().split())}@{' '.join(address.lower().split())}",
        name=name, need=need, where=check.where, address=address, address_1=address[:200],
        lat=lat, lon=lon, phone=phone, time_zone=time_zone, serves=serves, hours=hours,
        capacity=capacity, available=available, schedules=schedules)


def _hours(text: str, check: Fields) -> tuple[str, tuple[ScheduleDraft, ...]]:
    """The hours as written, and their schedules; blank hours are unknown (never open)."""
    if not text:
        return "", ()
    if len(text) > 500:
        check.fail("hours", "must be at most 500 characters")
        return "", ()
    try:
        openings = parse_osm(text)
    except HoursError as error:
        check.fail("hours", f"cannot read {text!r}: {error}")
        return "", ()
    return text, tuple(_schedule(opening) for opening in openings)


def _schedule(opening: Opening) -> ScheduleDraft:
    return ScheduleDraft(byday=byday(opening.days), opens_at=opening.opens,
                         closes_at=opening.closes)
