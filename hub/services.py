"""The services directory's questions: which places near a point are open now and have
room, what one place looks like now, and an agency's update of its free beds or seats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.access import Principal
from hub.directory import Need, ServicePlace, ServiceSchedule
from hub.errors import Forbidden, NotFound
from hub.geo import haversine_m
from hub.hours import Closure, Hours, Opening, days_of
from partners.models import Role
from partners.validation import Checker

DEFAULT_STALE_AFTER = timedelta(hours=6)  # mirrors the VIGIL_SERVICES_STALE_S default
MAX_SEATS = 10_000  # more beds or seats than any one place in a region has
MAX_NEARBY = 50
DEFAULT_NEARBY = 10
DIRECTIONS = "https://www.openstreetmap.org/directions?to={lat},{lon}"


@dataclass(frozen=True)
class Nearby:
    """A place found near a point, with how far it is and its state at that moment."""

    place: ServicePlace
    distance_m: float
    open_now: bool | None  # None: its hours are not known
    stale: bool
    schedules: tuple[ServiceSchedule, ...]


def hours_of(place: ServicePlace, schedules: Sequence[ServiceSchedule]) -> Hours:
    """The place's hours from its schedules; unknown when nobody gave any or one of them is
    a rule the hub does not evaluate."""
    openings = tuple(Opening(days_of(row.byday), row.opens_at, row.closes_at, row.valid_from,
                             row.valid_to)
                     for row in schedules if not row.closed and row.weekly
                     and row.byday and row.opens_at is not None and row.closes_at is not None)
    closures = tuple(Closure(row.valid_from, row.valid_to or row.valid_from)
                     for row in schedules if row.closed and row.valid_from is not None)
    known = bool(place.hours) and all(row.weekly for row in schedules)
    return Hours(openings, closures, known)


def local_time(place: ServicePlace, now: datetime) -> datetime:
    """`now` on the place's own clock (its time zone, daylight saving included)."""
    return now.astimezone(ZoneInfo(place.time_zone))


def is_stale(place: ServicePlace, now: datetime, stale_after: timedelta) -> bool:
    """Whether the free beds or seats are too old to trust; never for a place without any."""
    if place.capacity is None:
        return False
    updated = place.capacity_updated_at
    return updated is None or now - updated > stale_after


def has_room(place: ServicePlace, now: datetime, stale_after: timedelta) -> bool:
    """A place without beds or seats (a crisis line, most meal programmes) always has room;
    one with them, when its agency said recently that some are free."""
    if place.capacity is None:
        return True
    if place.available is None or is_stale(place, now, stale_after):
        return False
    return place.available > 0


async def schedules_of(session: AsyncSession,
                       place_ids: Sequence[str]) -> dict[str, list[ServiceSchedule]]:
    """Each place's schedules, in one query."""
    found: dict[str, list[ServiceSchedule]] = {place_id: [] for place_id in place_ids}
    if place_ids:
        rows = (await session.exec(select(ServiceSchedule).where(
            col(ServiceSchedule.place_id).in_(list(place_ids)))
            .order_by(col(ServiceSchedule.place_id), col(ServiceSchedule.id)))).all()
        for row in rows:
            found[row.place_id].append(row)
    return found


async def nearest(session: AsyncSession, lat: float, lon: float, need: Need | None,
                  now: datetime, limit: int, *, open_now: bool = True,
                  stale_after: timedelta = DEFAULT_STALE_AFTER) -> list[Nearby]:
    """The `limit` places nearest to (lat, lon) that have room now, of `need` (any need for
    None), and with `open_now` only those open now in their own time zone; nearest first.
    Places without coordinates are never offered."""
    query = select(ServicePlace).where(col(ServicePlace.lat).is_not(None),
                                       col(ServicePlace.lon).is_not(None))
    if need is not None:
        query = query.where(col(ServicePlace.need) == need)
    places = [place for place in (await session.exec(query)).all()
              if has_room(place, now, stale_after)]
    if not places:
        return []
    distances = haversine_m(lat, lon, np.array([place.lat for place in places], dtype=float),
                            np.array([place.lon for place in places], dtype=float))
    order = np.lexsort((np.array([place.name for place in places]), distances))
    schedules = await schedules_of(session, [place.id for place in places])
    found: list[Nearby] = []
    for index in order:
        place = places[int(index)]
        state = hours_of(place, schedules[place.id]).is_open(local_time(place, now))
        if open_now and state is not True:
            continue
        found.append(Nearby(place, float(distances[index]), state,
                            is_stale(place, now, stale_after), tuple(schedules[place.id])))
        if len(found) == limit:
            break
    return found


def directions_url(place: ServicePlace) -> str | None:
    if place.lat is None or place.lon is None:
        return None
    return DIRECTIONS.format(lat=f"{place.lat:.6f}", lon=f"{place.lon:.6f}")


def place_json(place: ServicePlace, schedules: Sequence[ServiceSchedule], now: datetime,
               stale_after: timedelta) -> dict[str, Any]:
    """A place as the API and the pages show it, with its state at `now`."""
    updated = place.capacity_updated_at
    return {
        "id": place.id, "name": place.name, "need": place.need, "description": place.description,
        "provider": place.provider, "organisation_id": place.organisation_id,
        "address": place.address, "lat": place.lat, "lon": place.lon, "phone": place.phone,
        "hours": place.hours, "time_zone": place.time_zone, "serves": list(place.serves),
        "open_now": hours_of(place, schedules).is_open(local_time(place, now)),
        "capacity": place.capacity, "available": place.available,
        "capacity_updated_at": updated.isoformat() if updated else None,
        "stale": is_stale(place, now, stale_after),
        "has_room": has_room(place, now, stale_after),
        "directions_url": directions_url(place),
    }


def nearby_json(found: Nearby, now: datetime, stale_after: timedelta) -> dict[str, Any]:
    return {**place_json(found.place, found.schedules, now, stale_after),
            "distance_m": round(found.distance_m)}


def may_update(principal: Principal, place: ServicePlace) -> bool:
    """Hub admins, and the admins and partners of the agency that runs the place."""
    if principal.hub_admin:
        return True
    return (principal.role in (Role.ADMIN, Role.PARTNER) and place.organisation_id is not None
            and principal.organisation_id == place.organisation_id)


async def managed_places(session: AsyncSession, principal: Principal) -> list[ServicePlace]:
    """The places the principal may update, by name."""
    query = select(ServicePlace).order_by(col(ServicePlace.name), col(ServicePlace.id))
    if not principal.hub_admin:
        if principal.organisation_id is None:
            return []
        query = query.where(col(ServicePlace.organisation_id) == principal.organisation_id)
    return list((await session.exec(query)).all())


async def update_capacity(session: AsyncSession, principal: Principal, place_id: str,
                          body: object, now: datetime) -> ServicePlace:
    """Set how many beds or seats are free (and perhaps how many there are), and when; one
    place, by its agency. Commits."""
    place = await session.get(ServicePlace, place_id)
    if place is None:
        raise NotFound("no such place")
    if not may_update(principal, place):
        raise Forbidden("only a hub admin or the agency that runs this place may update it")
    available, capacity = read_capacity(body, place.capacity)
    place.available, place.capacity = available, capacity
    place.capacity_updated_at = place.updated_at = now
    place.capacity_updated_by = principal.actor
    session.add(place)
    await audit.record(session, principal.actor, "service.capacity", place.id,
                       {"available": available, "capacity": capacity})
    await session.commit()
    return place


def read_capacity(body: object, current: int | None) -> tuple[int, int]:
    """`{available, capacity?}`, checked against each other (and the place's capacity when
    the body gives none)."""
    check = Checker(body)
    check.only(("available", "capacity"))
    available = check.integer("available", low=0, high=MAX_SEATS, required=True)
    capacity = check.integer("capacity", low=1, high=MAX_SEATS)
    capacity = capacity if capacity is not None else current
    if capacity is None and "capacity" not in check.errors:
        check.fail("capacity", "is required: this place has no capacity yet")
    if available is not None and capacity is not None and available > capacity:
        check.fail("available", f"must be at most the capacity, {capacity}")
    check.done()
    assert available is not None and capacity is not None
    return available, capacity
