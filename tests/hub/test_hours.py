"""Opening hours: the OpenStreetMap subset read or refused, and open or not at a moment."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hub.hours import Closure, Hours, HoursError, Opening, describe, parse_osm

WEEKDAYS = frozenset(range(5))


def at(text: str) -> datetime:
    """A local wall time; 2026-11-16 is a Monday."""
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(("text", "openings"), [
    ("24/7", [Opening(frozenset(range(7)), 0, 1440)]),
    ("Mo-Fr 09:00-17:00", [Opening(WEEKDAYS, 540, 1020)]),
    ("Sa,Su 10:00-14:00", [Opening(frozenset({5, 6}), 600, 840)]),
    ("Mo-Fr 09:00-12:00,13:00-17:00", [Opening(WEEKDAYS, 540, 720),
                                       Opening(WEEKDAYS, 780, 1020)]),
    ("Mo-Fr 08:00-18:00; Sa 10:00-14:00", [Opening(WEEKDAYS, 480, 1080),
                                           Opening(frozenset({5}), 600, 840)]),
    ("Mo-Su 08:00-20:00; Su off", [Opening(frozenset(range(6)), 480, 1200)]),
    ("Mo-Fr 09:00-17:00; We 12:00-17:00", [Opening(frozenset({0, 1, 3, 4}), 540, 1020),
                                           Opening(frozenset({2}), 720, 1020)]),
    ("22:00-06:00", [Opening(frozenset(range(7)), 1320, 360)]),
    ("Fr-Mo 20:00-24:00", [Opening(frozenset({0, 4, 5, 6}), 1200, 1440)]),
    ("Mo,We-Fr 10:00-11:00", [Opening(frozenset({0, 2, 3, 4}), 600, 660)]),
    ("off", []),
    (" Mo-Fr 09:00-17:00 ;  Sa off ", [Opening(WEEKDAYS, 540, 1020)]),
])
def test_the_supported_subset_is_read(text: str, openings: list[Opening]) -> None:
    assert list(parse_osm(text)) == openings


@pytest.mark.parametrize(("text", "says"), [
    ("", "is empty"),
    ("PH off", "'PH' is not a day or day range"),
    ("Mo-Fr 9:00-17:00", "'9:00-17:00' is not a time span"),
    ("Mo-Fr 09:00-17:00;", "rule 2 is empty"),
    ("Mo-Fr", "names days but no times or `off`"),
    ("Jan-Mar Mo 10:00-12:00", "'Jan-Mar' is not a day or day range"),
    ("Mo-Fr 10:00-10:00", "opens and closes at once"),
    ("Mo-Fr 24:00-02:00", "24:00 may only close a span"),
    ("Mo-Fr 09:00-25:00", "'25:00' is not a time"),
    ("sunrise-sunset", "'sunrise-sunset' is not a day"),
    ("Mo-Fr 08:00-12:00 || Sa off", "is not a time span"),
    ("Mo-Fr 10:00+", "is not a time span"),
    ("week 1-53 Mo 10:00-12:00", "'week' is not a day"),
])
def test_anything_else_is_refused_with_what_is_supported(text: str, says: str) -> None:
    with pytest.raises(HoursError) as refused:
        parse_osm(text)
    assert says in str(refused.value)


@pytest.mark.parametrize(("moment", "expected"), [
    ("2026-11-16T08:59", False), ("2026-11-16T09:00", True), ("2026-11-16T16:59", True),
    ("2026-11-16T17:00", False), ("2026-11-21T12:00", False),  # a Saturday
])
def test_a_day_span_is_open_from_opening_until_closing(moment: str, expected: bool) -> None:
    assert Hours(parse_osm("Mo-Fr 09:00-17:00")).is_open(at(moment)) is expected


@pytest.mark.parametrize(("moment", "expected"), [
    ("2026-11-20T21:59", False), ("2026-11-20T22:00", True),  # Friday evening
    ("2026-11-21T05:59", True), ("2026-11-21T06:00", False),  # Saturday morning
    ("2026-11-21T23:00", False),  # Saturday night: Friday only
    ("2026-11-20T03:00", False),  # Friday morning: Thursday was not open
])
def test_a_span_past_midnight_runs_into_the_next_day(moment: str, expected: bool) -> None:
    assert Hours(parse_osm("Fr 22:00-06:00")).is_open(at(moment)) is expected


def test_a_closure_closes_every_hour_of_its_days() -> None:
    hours = Hours(parse_osm("24/7"), (Closure(date(2026, 12, 25), date(2026, 12, 26)),))
    assert hours.is_open(at("2026-12-24T23:59")) is True
    assert hours.is_open(at("2026-12-25T00:00")) is False
    assert hours.is_open(at("2026-12-26T23:59")) is False
    assert hours.is_open(at("2026-12-27T00:00")) is True


def test_dated_openings_count_only_between_their_dates() -> None:
    winter = Opening(frozenset(range(7)), 1200, 480, date(2026, 12, 1), date(2027, 3, 31))
    hours = Hours((winter,))
    assert hours.is_open(at("2026-11-30T21:00")) is False
    assert hours.is_open(at("2026-12-01T06:00")) is False  # the night before is not in it
    assert hours.is_open(at("2026-12-01T21:00")) is True
    assert hours.is_open(at("2027-04-01T06:00")) is True  # the night of 31 March runs on


def test_unknown_hours_are_neither_open_nor_closed() -> None:
    assert Hours(known=False).is_open(at("2026-11-16T12:00")) is None
    assert Hours(()).is_open(at("2026-11-16T12:00")) is False  # known: `off`
    closed = Hours(known=False, closures=(Closure(date(2026, 11, 16), date(2026, 11, 16)),))
    assert closed.is_open(at("2026-11-16T12:00")) is False


@pytest.mark.parametrize("text", ["24/7", "Mo-Fr 09:00-17:00", "Sa,Su 10:00-14:00",
                                  "Mo-Fr 09:00-12:00,13:00-17:00; Sa 10:00-14:00",
                                  "Mo-Su 22:00-06:00"])
def test_described_hours_read_back_the_same(text: str) -> None:
    assert describe(parse_osm(text)) == text
    assert parse_osm(describe(parse_osm(text))) == parse_osm(text)
