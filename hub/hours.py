"""Opening hours: weekly openings and dated closures, read from OpenStreetMap's
`opening_hours` (a simple subset) and HSDS times, and whether a place is open at a moment."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RFC 5545's BYDAY codes; Monday is 0
OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
DAY_MINUTES = 24 * 60
EVERY_DAY = frozenset(range(7))
SUPPORTED = ("24/7, days such as Mo-Fr or Sa,Su, times such as 09:00-12:00,13:00-17:00 "
             "(past midnight as 22:00-06:00), `off`, and rules separated by `;`")
_TIME = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])(?::([0-5][0-9]))?$")
_SPAN = re.compile(r"^(\d\d:\d\d)-(\d\d:\d\d)$")
_DAY_RANGE = re.compile(r"^([A-Z][a-z])(?:-([A-Z][a-z]))?$")
_WORD = re.compile(r"^[A-Za-z][A-Za-z,-]*$")  # days, or a word in their place (PH, Jan)


class HoursError(ValueError):
    """Hours that cannot be read; the message says what is wrong and what is supported."""


@dataclass(frozen=True)
class Opening:
    """Open on `days` from `opens` to `closes` (minutes after local midnight). `closes` at or
    before `opens` runs past midnight into the next day; 1440 is the end of the day."""

    days: frozenset[int]
    opens: int
    closes: int
    valid_from: date | None = None
    valid_to: date | None = None

    @property
    def overnight(self) -> bool:
        return self.closes <= self.opens

    def valid_on(self, day: date) -> bool:
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))

    def covers(self, moment: datetime) -> bool:
        """Whether `moment` (local wall time) falls in this opening, its start the day before
        included for a span past midnight."""
        day, minute = moment.date(), moment.hour * 60 + moment.minute
        if self.valid_on(day) and day.weekday() in self.days:
            if self.opens <= minute < (DAY_MINUTES if self.overnight else self.closes):
                return True
        before = day - timedelta(days=1)
        return (self.overnight and minute < self.closes and self.valid_on(before)
                and before.weekday() in self.days)


@dataclass(frozen=True)
class Closure:
    """Closed all day from `start` to `end` (both included), whatever the weekly hours say."""

    start: date
    end: date

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Hours:
    """A place's opening hours. `known` is False when nobody said, or when some rule of them
    is beyond what the hub evaluates (a monthly rule, say): such a place is never said to be
    open. Known hours with no openings (`off`) are closed all week."""

    openings: tuple[Opening, ...] = ()
    closures: tuple[Closure, ...] = ()
    known: bool = True

    def is_open(self, moment: datetime) -> bool | None:
        """Open at `moment` (the place's local time); None when nobody can tell."""
        if any(closure.covers(moment.date()) for closure in self.closures):
            return False
        if not self.known:
            return None
        return any(opening.covers(moment) for opening in self.openings)


def minutes(text: str, *, closing: bool = False) -> int:
    """`HH:MM` (or `HH:MM:SS`, seconds dropped) as minutes after midnight; `24:00` only as
    a closing time."""
    found = _TIME.match(text.strip())
    if not found:
        raise HoursError(f"{text!r} is not a time such as 09:00")
    hours, mins = int(found.group(1)), int(found.group(2))
    if hours == 24 and (mins or found.group(3) not in (None, "00") or not closing):
        raise HoursError(f"{text!r}: 24:00 may only close a span")
    return hours * 60 + mins


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_osm(text: str) -> tuple[Opening, ...]:
    """OpenStreetMap `opening_hours` in the subset the hub supports (see SUPPORTED); later
    rules replace earlier ones for the days they name, as OSM reads them."""
    text = text.strip()
    if not text:
        raise HoursError("is empty")
    if text == "24/7":
        return (Opening(EVERY_DAY, 0, DAY_MINUTES),)
    week: dict[int, tuple[tuple[int, int], ...]] = {}
    for number, rule in enumerate(text.split(";"), start=1):
        rule = rule.strip()
        if not rule:
            raise HoursError(f"rule {number} is empty (a stray `;`)")
        days, spans = _rule(rule, number)
        for day in days:
            week[day] = spans
    return openings_of(week)


def _rule(rule: str, number: int) -> tuple[frozenset[int], tuple[tuple[int, int], ...]]:
    head, _, rest = rule.partition(" ")
    if _WORD.match(head) and head not in ("off", "closed"):
        days, rest = _days(head, rule, number), rest.strip()
    else:
        days, rest = EVERY_DAY, rule
    if rest in ("off", "closed"):
        return days, ()
    if not rest:
        raise HoursError(f"rule {number} ({rule!r}) names days but no times or `off`")
    return days, tuple(_span(part.strip(), rule, number) for part in rest.split(","))


def _days(text: str, rule: str, number: int) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        found = _DAY_RANGE.match(part)
        if not found or not set(found.groups()) - {None} <= set(OSM_DAYS):
            raise HoursError(f"rule {number} ({rule!r}): {part!r} is not a day or day range "
                             f"such as Mo-Fr; supported: {SUPPORTED}")
        first = OSM_DAYS.index(found.group(1))
        last = OSM_DAYS.index(found.group(2) or found.group(1))
        days.update((first + step) % 7 for step in range((last - first) % 7 + 1))
    return frozenset(days)


def _span(text: str, rule: str, number: int) -> tuple[int, int]:
    found = _SPAN.match(text)
    try:
        if not found:
            raise HoursError(f"{text!r} is not a time span such as 09:00-17:00")
        opens, closes = minutes(found.group(1)), minutes(found.group(2), closing=True)
    except HoursError as error:
        raise HoursError(f"rule {number} ({rule!r}): {error}; supported: {SUPPORTED}") from None
    if opens == closes:
        raise HoursError(f"rule {number} ({rule!r}): {text!r} opens and closes at once "
                         "(use 24/7 or 00:00-24:00 for all day)")
    return opens, closes


def openings_of(week: dict[int, tuple[tuple[int, int], ...]]) -> tuple[Opening, ...]:
    """Each distinct span once, with every day that has it."""
    by_span: dict[tuple[int, int], set[int]] = {}
    for day in sorted(week):
        for span in week[day]:
            by_span.setdefault(span, set()).add(day)
    return tuple(Opening(frozenset(days), opens, closes)
                 for (opens, closes), days in sorted(by_span.items(),
                                                     key=lambda item: (min(item[1]), item[0])))


def byday(days: Iterable[int]) -> str:
    return ",".join(DAYS[day] for day in sorted(days))


def days_of(text: str) -> frozenset[int]:
    """RFC 5545 BYDAY codes (`MO,TU`) as weekdays; a code with an ordinal (`2MO`) or
    anything else is refused."""
    days: set[int] = set()
    for part in text.split(","):
        code = part.strip().upper()
        if code not in DAYS:
            raise HoursError(f"{part.strip()!r} is not a day code (MO, TU, ... SU)")
        days.add(DAYS.index(code))
    return frozenset(days)


def describe(openings: Sequence[Opening]) -> str:
    """Openings in OpenStreetMap's words (`Mo-Fr 09:00-17:00`), for people to read."""
    spans: dict[tuple[int, int], set[int]] = {}
    for opening in openings:
        spans.setdefault((opening.opens, opening.closes), set()).update(opening.days)
    if list(spans.items()) == [((0, DAY_MINUTES), set(EVERY_DAY))]:
        return "24/7"
    by_days: dict[frozenset[int], list[str]] = {}
    for (opens, closes), days in sorted(spans.items(), key=lambda item: (min(item[1]),
                                                                          item[0])):
        by_days.setdefault(frozenset(days), []).append(f"{clock(opens)}-{clock(closes)}")
    return "; ".join(f"{_day_text(days)} {','.join(times)}" for days, times in by_days.items())


def _day_text(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{OSM_DAYS[ordered[0]]}-{OSM_DAYS[ordered[-1]]}"
    return ",".join(OSM_DAYS[day] for day in ordered)
