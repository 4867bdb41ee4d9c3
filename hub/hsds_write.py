"""Places as Open Referral HSDS 3.0 services, for the read side of the HSDS API: one
service for each place, at its one location, with its schedules."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.directory import Need, ServedGroup, ServicePlace, ServiceSchedule
from hub.hours import clock

# Ids of the parts Vigil keeps no rows of (a place's location, address, phone, attributes)
# are made from the place's id under this namespace, so they stay the same between answers.
NAMESPACE = uuid.UUID("5f0c6b1e-3c44-4b8e-9a51-7d2e0c9b4a10")
NEED_TAXONOMY = "vigil-need"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
MAX_PAGE_NUMBER = 100_000
SERVED_TAXONOMY = "vigil-served"


def hsds_id(row_id: str) -> str:
    """A Vigil id (32 hex digits) as the UUID HSDS ids are."""
    return str(uuid.UUID(hex=row_id))


def row_id(hsds: str) -> str | None:
    """The Vigil id an HSDS id names, or None when it is no UUID."""
    try:
        return uuid.UUID(hsds).hex
    except ValueError:
        return None


def derived(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


def service(place: ServicePlace, schedules: Sequence[ServiceSchedule], owner: str | None,
            now: datetime) -> dict[str, Any]:
    """The place as an HSDS 3.0 service (its `owner`: the name of the agency that runs it)."""
    service_id = hsds_id(place.id)
    document: dict[str, Any] = {"id": service_id, "name": place.name, "status": "active",
                                "last_modified": place.updated_at.isoformat()}
    if place.description:
        document["description"] = place.description
    provider = place.provider or owner
    if provider:
        organization = {"id": derived("organization", provider), "name": provider,
                        "description": ""}
        document |= {"organization_id": organization["id"], "organization": organization}
    if place.phone:
        document["phones"] = [{"id": derived("phone", place.id), "service_id": service_id,
                               "number": place.phone}]
    offset = _offset_hours(place, now)
    document["schedules"] = [schedule(row, service_id, offset) for row in schedules]
    document["attributes"] = attributes(place, service_id)
    document["service_at_locations"] = _at_location(place, service_id)
    return document


def _offset_hours(place: ServicePlace, now: datetime) -> float | int:
    """The place's UTC offset now, in hours, as HSDS schedules state a time zone."""
    delta = now.astimezone(ZoneInfo(place.time_zone)).utcoffset()
    hours = delta.total_seconds() / 3600 if delta is not None else 0.0
    return int(hours) if math.isclose(hours, round(hours)) else hours


def schedule(row: ServiceSchedule, service_id: str, offset: float | int) -> dict[str, Any]:
    """An opening (weekly days and times) or a closure (dates without times)."""
    document: dict[str, Any] = {**row.rule, "id": hsds_id(row.id), "service_id": service_id}
    if row.closed:
        document.pop("freq", None)
    else:
        document.setdefault("freq", "WEEKLY")
        if row.byday:
            document["byday"] = row.byday
        if row.opens_at is not None and row.closes_at is not None:
            document |= {"opens_at": clock(row.opens_at), "closes_at": clock(row.closes_at),
                         "timezone": offset}
    for name in ("valid_from", "valid_to"):
        value = getattr(row, name)
        if value is not None:
            document[name] = value.isoformat()
    if row.description:
        document["description"] = row.description
    return document


def attributes(place: ServicePlace, service_id: str) -> list[dict[str, Any]]:
    """The place's need and the groups it serves, as taxonomy terms Vigil's import reads."""
    terms = [(NEED_TAXONOMY, place.need.value, place.need.label)]
    terms += [(SERVED_TAXONOMY, group, group.capitalize()) for group in place.serves
              if group in {g.value for g in ServedGroup}]
    found = []
    for taxonomy, code, name in terms:
        term_id = derived("term", taxonomy, code)
        found.append({
            "id": derived("attribute", place.id, code), "link_id": service_id,
            "link_type": "service", "link_entity": "service", "taxonomy_term_id": term_id,
            "taxonomy_term": {"id": term_id, "code": code, "name": name, "taxonomy": taxonomy,
                              "description": _term_description(taxonomy)}})
    return found


def _term_description(taxonomy: str) -> str:
    if taxonomy == NEED_TAXONOMY:
        return "what the place offers: " + ", ".join(need.value for need in Need)
    return "whom the place serves: " + ", ".join(group.value for group in ServedGroup)


def _at_location(place: ServicePlace, service_id: str) -> list[dict[str, Any]]:
    if place.lat is None and not place.address:
        return []
    location_id = derived("location", place.id)
    location: dict[str, Any] = {"id": location_id, "location_type": "physical",
                                "name": place.name}
    if place.lat is not None and place.lon is not None:
        location |= {"latitude": place.lat, "longitude": place.lon}
    if place.address:
        location["addresses"] = [{
            "id": derived("address", place.id), "location_id": location_id,
            "address_1": place.address_1 or place.address[:200], "city": place.city,
            "state_province": place.state_province, "postal_code": place.postal_code,
            "country": place.country, "address_type": "physical"}]
    return [{"id": derived("service_at_location", place.id), "service_id": service_id,
             "location_id": location_id, "location": location}]


def page(contents: list[dict[str, Any]], total: int, number: int,
         per_page: int) -> dict[str, Any]:
    """The HSDS API's paging envelope around one page of services."""
    pages = math.ceil(total / per_page)
    return {"total_items": total, "total_pages": pages, "page_number": number,
            "size": len(contents), "first_page": number == 1, "last_page": number >= pages,
            "empty": total == 0, "contents": contents}
