"""The community services directory's API: the places near a point that have room now, one
place, an agency's capacity update, and the read side of the HSDS API."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.access import SIGNED_IN, allow, roles
from hub.directory import Need, ServicePlace
from hub.errors import NotFound
from hub.geo import LAT_TEXT, LON_TEXT
from hub.hsds_write import DEFAULT_PER_PAGE, MAX_PAGE_NUMBER, MAX_PER_PAGE, page, row_id, service
from hub.http import CLOCK, SESSIONS, SETTINGS, principal_of, read_json
from hub.services import (
    DEFAULT_NEARBY,
    MAX_NEARBY,
    nearby_json,
    nearest,
    place_json,
    schedules_of,
    update_capacity,
)
from partners.models import Organisation, Role
from partners.validation import Checker

routes = web.RouteTableDef()
_DIGITS = re.compile(r"^[0-9]{1,9}$")
_ID = "{id:[0-9a-f]{32}}"


@dataclass(frozen=True)
class NearbyQuery:
    lat: float
    lon: float
    need: Need | None
    open_now: bool
    limit: int


def read_nearby(query: Mapping[str, str]) -> NearbyQuery:
    """`lat`, `lon` (decimals), `need`, `open_now` (true or false) and `limit`; 422 naming
    each bad one."""
    check = Checker(dict(query))
    check.only(("lat", "lon", "need", "open_now", "limit"))
    place: dict[str, float] = {}
    for name, written, span in (("lat", LAT_TEXT, "-90 to 90"), ("lon", LON_TEXT, "-180 to 180")):
        raw = query.get(name)
        if raw is None:
            check.fail(name, "is required")
        elif not written.fullmatch(raw):
            check.fail(name, f"must be a decimal number such as 43.59, {span}")
        else:
            place[name] = float(raw)
    need = check.choice("need", Need, required=False)
    open_now = query.get("open_now", "true")
    if open_now not in ("true", "false"):
        check.fail("open_now", "must be true or false")
    limit = whole(check, query, "limit", 1, MAX_NEARBY)
    check.done()
    return NearbyQuery(place["lat"], place["lon"], need, open_now == "true",
                       limit or DEFAULT_NEARBY)


def whole(check: Checker, query: Mapping[str, str], name: str, low: int,
          high: int) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not _DIGITS.match(raw) or not low <= int(raw) <= high:
        check.fail(name, f"must be a whole number from {low} to {high}")
        return None
    return int(raw)


def stale_after(request: web.Request) -> timedelta:
    return timedelta(seconds=request.app[SETTINGS].services_stale_s)


@routes.get("/api/v1/services/nearby")
@allow(SIGNED_IN)
async def service_nearby(request: web.Request) -> web.Response:
    """The nearest places that have room, open now in their own time zone unless
    `open_now=false`; staff only (police officers, agencies, partner desks)."""
    wanted = read_nearby(request.query)
    now, stale = request.app[CLOCK](), stale_after(request)
    async with request.app[SESSIONS]() as session:
        found = await nearest(session, wanted.lat, wanted.lon, wanted.need, now, wanted.limit,
                              open_now=wanted.open_now, stale_after=stale)
    return web.json_response({"generated_at": now.isoformat(),
                              "stale_after_s": round(stale.total_seconds()),
                              "places": [nearby_json(place, now, stale) for place in found]})


@routes.get(f"/api/v1/services/{_ID}")
@allow(SIGNED_IN)
async def service_show(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        place = await session.get(ServicePlace, request.match_info["id"])
        if place is None:
            raise NotFound("no such place")
        schedules = (await schedules_of(session, [place.id]))[place.id]
    return web.json_response(place_json(place, schedules, request.app[CLOCK](),
                                        stale_after(request)))


@routes.post(f"/api/v1/services/{_ID}/capacity")
@allow(roles(Role.ADMIN, Role.PARTNER))
async def capacity_update(request: web.Request) -> web.Response:
    """How many beds or seats are free now (and perhaps how many there are): hub admins
    and the admins and partners of the agency that runs the place."""
    principal, body, now = principal_of(request), await read_json(request), request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        place = await update_capacity(session, principal, request.match_info["id"], body, now)
        schedules = (await schedules_of(session, [place.id]))[place.id]
    return web.json_response(place_json(place, schedules, now, stale_after(request)))


@routes.get("/api/v1/hsds/services")
@allow(SIGNED_IN)
async def hsds_service_list(request: web.Request) -> web.Response:
    """Every place as an HSDS 3.0 service, by name, a page at a time."""
    check = Checker(dict(request.query))
    check.only(("page", "per_page"))
    number = whole(check, request.query, "page", 1, MAX_PAGE_NUMBER) or 1
    per_page = whole(check, request.query, "per_page", 1, MAX_PER_PAGE) or DEFAULT_PER_PAGE
    check.done()
    now = request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        total = (await session.exec(select(func.count()).select_from(ServicePlace))).one()
        places = (await session.exec(select(ServicePlace).order_by(
            col(ServicePlace.name), col(ServicePlace.id))
            .offset((number - 1) * per_page).limit(per_page))).all()
        schedules = await schedules_of(session, [place.id for place in places])
        owners = await owner_names(session, places)
    contents = [service(place, schedules[place.id], owners.get(place.organisation_id), now)
                for place in places]
    return web.json_response(page(contents, total, number, per_page))


@routes.get("/api/v1/hsds/services/{id}")
@allow(SIGNED_IN)
async def hsds_service_show(request: web.Request) -> web.Response:
    """One place as a fully nested HSDS 3.0 service, by its HSDS id (a UUID)."""
    wanted = row_id(request.match_info["id"])
    async with request.app[SESSIONS]() as session:
        place = await session.get(ServicePlace, wanted) if wanted else None
        if place is None:
            raise NotFound("no such service")
        schedules = (await schedules_of(session, [place.id]))[place.id]
        owners = await owner_names(session, [place])
    return web.json_response(service(place, schedules, owners.get(place.organisation_id),
                                     request.app[CLOCK]()))


async def owner_names(session: AsyncSession,
                      places: Sequence[ServicePlace]) -> dict[str | None, str]:
    """The names of the agencies that run the places, by id."""
    ids = {place.organisation_id for place in places if place.organisation_id}
    if not ids:
        return {}
    rows = (await session.exec(select(Organisation.id, Organisation.name)
                               .where(col(Organisation.id).in_(ids)))).all()
    return {organisation_id: name for organisation_id, name in rows}
