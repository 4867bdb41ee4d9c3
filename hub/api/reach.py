"""Before sending: whom an alert would reach and on which channels, the preset areas and the
partner sites the console shows on its map."""

from __future__ import annotations

from collections import Counter

from aiohttp import web
from sqlmodel import col, select

from hub.access import SIGNED_IN, allow, roles
from hub.alerts import read_alert
from hub.http import CLOCK, PUBLISHING, SESSIONS, read_json
from hub.targeting import plan, sites_in
from partners.models import Organisation, Role, Site

routes = web.RouteTableDef()
NAMES_SHOWN = 50


@routes.post("/api/v1/alerts/preview")
@allow(roles(Role.PUBLISHER))
async def alert_preview(request: web.Request) -> web.Response:
    """The reach of an alert body as it would be published now; nothing is written."""
    draft = read_alert(await read_json(request), request.app[CLOCK]())
    publishing = request.app[PUBLISHING]
    async with request.app[SESSIONS]() as session:
        reach = await plan(session, draft.area, draft.tlp, publishing.channels)
        sites = len(await sites_in(session, draft.area))
        names = (await session.exec(
            select(Organisation.name).where(col(Organisation.id).in_(reach.organisations))
            .order_by(col(Organisation.name)).limit(NAMES_SHOWN))).all()
    return web.json_response({
        **reach.counts(),
        "sites": sites,
        "channels": dict(sorted(Counter(r.channel for r in reach.recipients).items())),
        "organisation_names": list(names),
        "needs_approval": publishing.needs_approval(draft),
    })


@routes.get("/api/v1/areas")
@allow(SIGNED_IN)
async def area_list(request: web.Request) -> web.Response:
    """Preset areas: each business improvement area's boundary."""
    async with request.app[SESSIONS]() as session:
        rows = (await session.exec(
            select(Organisation).where(col(Organisation.boundary).is_not(None))
            .order_by(col(Organisation.name)))).all()
    return web.json_response([{"organisation_id": row.id, "name": row.name, "kind": row.kind,
                               "area": row.boundary} for row in rows])


@routes.get("/api/v1/sites")
@allow(roles(Role.PUBLISHER))
async def site_list(request: web.Request) -> web.Response:
    """Every partner site with its organisation, for the publisher's map."""
    async with request.app[SESSIONS]() as session:
        rows = (await session.exec(
            select(Site, Organisation).join(Organisation,
                                            col(Organisation.id) == col(Site.organisation_id))
            .order_by(col(Organisation.name), col(Site.name), col(Site.id)))).all()
    return web.json_response([{"id": site.id, "name": site.name, "lat": site.lat,
                               "lon": site.lon, "organisation_id": org.id,
                               "organisation_name": org.name, "kind": org.kind}
                              for site, org in rows])
