"""The services directory's pages: officers find the nearest place with room (phone-sized,
kept working on a flaky connection by services.js), agencies' staff update their counts."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from aiohttp import web

from hub.access import Principal, allow, pages_for
from hub.directory import Need, ServicePlace
from hub.http import CLOCK, PRINCIPAL, SESSIONS, SETTINGS
from hub.pages.render import render
from hub.services import is_stale, local_time, managed_places, update_capacity
from partners.models import STAFF_ROLES, Role
from partners.validation import InvalidInput

routes = web.RouteTableDef()
_WHOLE = re.compile(r"^[0-9]{1,6}$")


def ago(now: datetime, then: datetime | None) -> str:
    """How long ago, in words a person reads at a glance."""
    if then is None:
        return "never"
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    return f"{hours} hours ago" if hours < 48 else f"{hours // 24} days ago"


@routes.get("/services")
@allow(pages_for(*STAFF_ROLES))
async def services_page(request: web.Request) -> web.Response:
    """The shell; services.js asks /api/v1/services/nearby and keeps the last answer."""
    needs = json.dumps([[need.value, need.label] for need in Need])
    runs_places = _principal(request).role in (Role.ADMIN, Role.PARTNER)
    return render(request, "services/services_page", scripts=["services.js"], needs=needs,
                  runs_places=runs_places)


def _principal(request: web.Request) -> Principal:
    principal = request.get(PRINCIPAL)
    assert principal is not None  # the page's rule lets only signed-in staff in
    return principal


async def _capacity_form(request: web.Request, status: int = 200,
                         errors: dict[str, dict[str, str]] | None = None,
                         values: dict[str, dict[str, str]] | None = None,
                         saved: str = "") -> web.Response:
    now = request.app[CLOCK]()
    stale_after = timedelta(seconds=request.app[SETTINGS].services_stale_s)
    async with request.app[SESSIONS]() as session:
        places = await managed_places(session, _principal(request))
    rows = [{"place": place, "ago": ago(now, place.capacity_updated_at),
             "stale": is_stale(place, now, stale_after),
             "values": (values or {}).get(place.id) or _values(place),
             "errors": (errors or {}).get(place.id, {})} for place in places]
    named = [place for place in places if place.id == saved]
    notice = (f"Saved: {named[0].name}, at {local_time(named[0], now):%H:%M}."
              if named else None)
    return render(request, "services/capacity_page", status, rows=rows, notice=notice,
                  scripts=["capacity.js"])


def _values(place: ServicePlace) -> dict[str, str]:
    return {"available": "" if place.available is None else str(place.available),
            "capacity": "" if place.capacity is None else str(place.capacity)}


@routes.get("/services/capacity")
@allow(pages_for(Role.ADMIN, Role.PARTNER))
async def capacity_page(request: web.Request) -> web.Response:
    """The places the person's agency runs (every place, for a hub admin), each with its
    free beds or seats to update."""
    return await _capacity_form(request, saved=request.query.get("saved", "")[:32])


@routes.post("/services/capacity/{id}")
@allow(pages_for(Role.ADMIN, Role.PARTNER))
async def capacity_submit(request: web.Request) -> web.Response:
    form = await request.post()
    typed = {name: str(form.get(name, "")).strip()[:20] for name in ("available", "capacity")}
    place_id = request.match_info["id"]
    body: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, text in typed.items():
        if _WHOLE.match(text):
            body[name] = int(text)
        elif text or name == "available":
            errors[name] = "must be a whole number, such as 4"
    try:
        if errors:
            raise InvalidInput(errors)
        async with request.app[SESSIONS]() as session:
            place = await update_capacity(session, _principal(request), place_id, body,
                                          request.app[CLOCK]())
    except InvalidInput as error:
        return await _capacity_form(request, 422, {place_id: error.fields}, {place_id: typed})
    # After a save, a reload must not send the form again: see the list (303).
    raise web.HTTPSeeOther(f"/services/capacity?saved={place.id}#place-{place.id}")
