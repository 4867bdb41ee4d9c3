"""Open Referral HSDS services, from JSON or from a datapackage's tables, as place drafts:
one place for each service at each of its locations."""

from __future__ import annotations

import re
from typing import Any

from hub.directory import DEFAULT_TIME_ZONE, Need, ServedGroup
from hub.hours import HoursError, Opening, days_of, describe, minutes
from hub.hsds_tables import DAY_CODES, ORIGIN, Record, where
from hub.place_drafts import Fields, PlaceDraft, Problem, Report, ScheduleDraft, one_line_address

# The parts of an HSDS schedule kept as they were read and served back.
RULE_NUMBERS = ("interval", "count", "timezone")
RULE_TEXTS = ("freq", "byweekno", "bymonthday", "byyearday", "until", "dtstart", "wkst",
              "notes", "attending_type", "schedule_link")
# RFC 5545 parts that make a rule more than "these weekdays, every week".
NOT_WEEKLY = ("byweekno", "bymonthday", "byyearday", "count")
_OFFSET = re.compile(r"^(.*?)(Z|[+-]\d\d:?\d\d)$")


def documents(data: Any, name: str, report: Report) -> list[Record]:
    """The services of an HSDS JSON document: one service, a list of them, or a page of the
    HSDS API (`{"contents": [...]}`); each record remembers its JSON path."""
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        items, path = data["contents"], "contents"
    elif isinstance(data, list):
        items, path = data, ""
    elif isinstance(data, dict):
        return [_annotated(data, name, "")]
    else:
        report.problems.append(Problem(name, "document", "must be an HSDS service, a list of "
                                       "services or a page of them"))
        return []
    services = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            report.problems.append(Problem(f"{name} {path}[{index}]", "service",
                                           "must be an object"))
            continue
        services.append(_annotated(item, name, f"{path}[{index}]"))
    return services


def _annotated(value: Any, name: str, path: str) -> Any:
    """`value` with every object in it knowing its place: `service_full.json
    service_at_locations[0].location`."""
    if isinstance(value, dict):
        inner = {key: _annotated(item, name, f"{path}.{key}" if path else key)
                 for key, item in value.items()}
        return {**inner, ORIGIN: f"{name} {path}" if path else name}
    if isinstance(value, list):
        return [_annotated(item, name, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def drafts(services: list[Record], report: Report, need: Need | None) -> list[PlaceDraft]:
    """One draft for each service at each location (a service with none is one place
    without a location: listed, never offered nearby)."""
    found: list[PlaceDraft] = []
    for service in services:
        check = Fields(report, where(service))
        service_id = check.text("id", service.get("id"), max_len=100, required=True)
        name = check.text("name", service.get("name"), required=True)
        status = str(service.get("status") or "active").strip().lower()
        if status != "active":
            check.warn("status", f"{status!r}: not imported (only active services are)")
            continue
        place_need, serves = _classified(service, check, need)
        common = {"name": name, "need": place_need, "serves": serves,
                  "description": check.text("description", service.get("description"),
                                            max_len=4000, line=False),
                  "provider": _provider(service, report)}
        places: list[Record | None] = [sal for sal in _list(service, "service_at_locations")
                                       if isinstance(sal, dict)] or [None]
        for sal in places:
            draft = _place(service, service_id, sal, common, report)
            if draft is not None and not check.failed and place_need is not None:
                found.append(draft)
    return found


def _list(record: Record | None, key: str) -> list[Any]:
    value = (record or {}).get(key)
    return value if isinstance(value, list) else []


def _provider(service: Record, report: Report) -> str:
    organization = service.get("organization")
    if not isinstance(organization, dict):
        return ""
    return Fields(report, where(organization)).text("name", organization.get("name"))


def _classified(service: Record, check: Fields,
                default: Need | None) -> tuple[Need | None, tuple[str, ...]]:
    """The need and the groups served, from attributes whose taxonomy term is coded (or
    named) as one of ours, such as `shelter` or `women`."""
    needs: list[Need] = []
    groups: list[str] = []
    for attribute in _list(service, "attributes"):
        term = attribute.get("taxonomy_term") if isinstance(attribute, dict) else None
        if not isinstance(term, dict):
            continue
        for value in (term.get("code"), term.get("name")):
            code = re.sub(r"[\s-]+", "_", str(value or "").strip().lower())
            if code in {n.value for n in Need} and Need(code) not in needs:
                needs.append(Need(code))
            elif code in {g.value for g in ServedGroup} and code not in groups:
                groups.append(code)
    if len(needs) > 1:
        check.fail("attributes", f"name more than one need ({', '.join(needs)}): a place has "
                   "one; import them as separate services")
    elif not needs and default is None:
        check.fail("need", "no attribute names one of the needs (a taxonomy term coded "
                   f"{', '.join(n.value for n in Need)}); give --need to import every such "
                   "service as one need")
    chosen = needs[0] if needs else default
    return chosen, tuple(g.value for g in ServedGroup if g.value in groups)


def _place(service: Record, service_id: str, sal: Record | None, common: dict[str, Any],
           report: Report) -> PlaceDraft | None:
    location = sal.get("location") if sal else None
    if sal is not None and not isinstance(location, dict):
        if sal.get("location_id"):
            Fields(report, where(sal)).fail("location_id", "no location has this id")
            return None
        location = None
    check = Fields(report, where(location) if location else where(service))
    lat, lon = _coordinates(location, check)
    phones = _list(sal, "phones") or _list(service, "phones") or _list(location, "phones")
    schedules = (_list(sal, "schedules") or _list(service, "schedules")
                 or _list(location, "schedules"))
    read, zone = _schedules(schedules, report)
    key = f"hsds:{service_id}" + (f"@{location.get('id')}" if location else "")
    draft = PlaceDraft(external_id=key[:400], where=where(sal or service), lat=lat, lon=lon,
                       phone=_phone(phones, report), time_zone=zone, schedules=read,
                       hours=_hours_text(read), **common, **_address(location, report))
    return None if check.failed else draft


def _coordinates(location: Record | None, check: Fields) -> tuple[float | None, float | None]:
    """HSDS makes coordinates optional: one out of range (the HSDS examples have 100, 101)
    is dropped with a warning, and the place is listed but never offered nearby."""
    if location is None:
        return None, None
    lat = check.number("latitude", location.get("latitude"))
    lon = check.number("longitude", location.get("longitude"))
    if lat is None or lon is None:
        return None, None
    for name, value, limit in (("latitude", lat, 90), ("longitude", lon, 180)):
        if not -limit <= value <= limit:
            check.warn(name, f"{value:g} is not between {-limit} and {limit}: the place is "
                       "kept without coordinates, and never offered nearby")
            return None, None
    return lat, lon


def _address(location: Record | None, report: Report) -> dict[str, Any]:
    addresses = [a for a in _list(location, "addresses") if isinstance(a, dict)]
    physical = [a for a in addresses if a.get("address_type") == "physical"] or addresses
    if not physical:
        return {}
    found = physical[0]
    check = Fields(report, where(found))
    parts = {name: check.text(name, found.get(name), max_len=size) for name, size in (
        ("address_1", 200), ("address_2", 200), ("city", 100), ("state_province", 100),
        ("postal_code", 20), ("country", 100))}
    line = one_line_address(parts["address_1"], parts["address_2"], parts["city"],
                            f"{parts['state_province']} {parts['postal_code']}".strip(),
                            parts["country"])
    country = parts["country"] if re.fullmatch(r"[A-Za-z]{2}", parts["country"]) else ""
    return {"address": line[:400], "address_1": parts["address_1"], "city": parts["city"],
            "state_province": parts["state_province"], "postal_code": parts["postal_code"],
            "country": country.upper()}


def _phone(phones: list[Any], report: Report) -> str:
    for phone in phones:
        if isinstance(phone, dict) and phone.get("number"):
            return Fields(report, where(phone)).phone("number", phone.get("number"),
                                                      phone.get("extension"))
    return ""


def _schedules(rows: list[Any], report: Report) -> tuple[tuple[ScheduleDraft, ...], str]:
    """The place's schedules and its time zone (all its schedules must agree on one)."""
    read: list[ScheduleDraft] = []
    zone: str | None = None
    for row in rows:
        if not isinstance(row, dict):
            continue
        check = Fields(report, where(row))
        draft, own_zone = schedule(row, check)
        if own_zone and zone and own_zone != zone:
            check.fail("timezone", f"{own_zone} differs from the place's other schedules, {zone}")
        zone = zone or own_zone
        if draft is not None:
            read.append(draft)
    return tuple(read), zone or DEFAULT_TIME_ZONE


def schedule(row: Record, check: Fields) -> tuple[ScheduleDraft | None, str | None]:
    """One HSDS schedule: weekly times, a closure (dates without times), or a rule the hub
    keeps but does not evaluate; and the zone its times are in, if it says."""
    rule = _rule(row, check)
    valid_from = check.day("valid_from", row.get("valid_from"))
    ends = [check.day(name, row.get(name)) for name in ("valid_to", "until")]
    valid_to = min((day for day in ends if day is not None), default=None)
    description = check.text("description", row.get("description"), max_len=2000, line=False)
    opens_text = check.text("opens_at", row.get("opens_at"), max_len=20)
    closes_text = check.text("closes_at", row.get("closes_at"), max_len=20)
    zone = _zone(rule.get("timezone"), check)
    if not opens_text and not closes_text:
        if valid_from is not None:  # dates without times: HSDS 3.0's closure
            return ScheduleDraft(closed=True, valid_from=valid_from, valid_to=valid_to,
                                 description=description or "Closed", rule=rule), zone
        check.warn("opens_at", "no opening times: kept as a description, and the place's "
                   "hours count as unknown")
        return ScheduleDraft(weekly=False, description=description, rule=rule), zone
    opens, closes, suffix_zone = _times(opens_text, closes_text, check)
    days, weekly = _weekly(row, rule, check)
    if opens is None or closes is None:
        return None, zone
    return ScheduleDraft(byday=days, opens_at=opens, closes_at=closes,
                         valid_from=check.day("dtstart", row.get("dtstart")) or valid_from,
                         valid_to=valid_to, weekly=weekly, description=description,
                         rule=rule), zone or suffix_zone


def _rule(row: Record, check: Fields) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    for name in RULE_NUMBERS:
        number = check.number(name, row.get(name))
        if number is not None:
            rule[name] = int(number) if number.is_integer() else number
    for name in RULE_TEXTS:
        text = check.text(name, row.get(name), max_len=2000, line=False)
        if text:
            rule[name] = text
    for name, allowed in (("freq", ("WEEKLY", "MONTHLY")), ("wkst", DAY_CODES)):
        if name in rule and rule[name].upper() not in allowed:
            check.fail(name, f"must be one of: {', '.join(allowed)}")
        elif name in rule:
            rule[name] = rule[name].upper()
    return rule


def _weekly(row: Record, rule: dict[str, Any], check: Fields) -> tuple[str, bool]:
    """The schedule's weekdays, and whether it is a plain weekly rule the hub evaluates."""
    text = str(row.get("byday") or "").strip()
    simple = (rule.get("freq", "WEEKLY").upper() == "WEEKLY" and rule.get("interval", 1) == 1
              and not any(rule.get(part) for part in NOT_WEEKLY))
    try:
        days = days_of(text) if text else frozenset(range(7))
    except HoursError:
        days, simple = frozenset(), False
    if not simple:
        check.warn("freq", "a rule beyond weekly days and times (monthly, by week number, a "
                   "count, an ordinal day): kept, and the place's hours count as unknown")
        return text[:40], False
    return ",".join(code for i, code in enumerate(DAY_CODES) if i in days), True


def _times(opens: str, closes: str,
           check: Fields) -> tuple[int | None, int | None, str | None]:
    """Opening and closing minutes; an offset written on the times (`09:00-05:00`) gives
    their zone."""
    found: list[int | None] = []
    zones: set[str] = set()
    for name, text in (("opens_at", opens), ("closes_at", closes)):
        if not text:
            check.fail(name, "is required when the other time is given")
            found.append(None)
            continue
        offset = _OFFSET.match(text)
        if offset:
            text = offset.group(1)
            zones.add(_offset_zone(offset.group(2), name, check) or "")
        try:
            found.append(minutes(text, closing=name == "closes_at"))
        except HoursError as error:
            check.fail(name, str(error))
            found.append(None)
    if found[0] is not None and found[0] == found[1]:
        check.fail("closes_at", "must differ from opens_at")
    return found[0], found[1], next(iter(zones - {""}), None)


def _offset_zone(text: str, name: str, check: Fields) -> str | None:
    if text == "Z":
        return "Etc/UTC"
    hours, mins = int(text[1:3]), int(text[-2:])
    if mins:
        check.fail(name, "only whole-hour UTC offsets are read")
        return None
    return _hour_zone(hours if text[0] == "+" else -hours)


def _zone(value: object, check: Fields) -> str | None:
    """HSDS gives a schedule's zone as a UTC offset in hours (3 is UTC+3)."""
    if value is None:
        return None
    if not isinstance(value, int) or not -12 <= value <= 14:
        check.fail("timezone", "must be a whole number of hours from UTC, -12 to 14")
        return None
    return _hour_zone(value)


def _hour_zone(hours: int) -> str:
    # The tz database's fixed zones count the other way: Etc/GMT-3 is three hours ahead.
    return "Etc/UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def _hours_text(schedules: tuple[ScheduleDraft, ...]) -> str:
    """The hours in OpenStreetMap's words when all are weekly; a short note otherwise; ""
    when there are none (unknown)."""
    weekly = [s for s in schedules if not s.closed]
    if not weekly:
        return ""
    if not all(s.weekly for s in weekly):
        return "; ".join(s.description for s in weekly if s.description)[:500] or \
            "irregular (see the schedule)"
    return describe([Opening(days_of(s.byday), s.opens_at or 0, s.closes_at or 0)
                     for s in weekly])[:500]
