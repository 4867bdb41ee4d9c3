"""The partner desk: the live feed page with acknowledgements, field reports and history."""

from __future__ import annotations

import json

from aiohttp import web
from sqlmodel import col, select

from hub.access import allow, pages_for
from hub.auth import login_of
from hub.http import SESSIONS, SETTINGS
from hub.media import MIME_TYPES, MediaKind
from hub.pages.render import render
from partners.models import Organisation, Role, Site

routes = web.RouteTableDef()


@routes.get("/desk")
@allow(pages_for(Role.PARTNER, Role.ADMIN))
async def desk_page(request: web.Request) -> web.Response:
    """The page shell; desk.js loads the history and keeps the live feed open."""
    user = login_of(request).user
    async with request.app[SESSIONS]() as session:
        organisation = await session.get(Organisation, user.organisation_id)
        sites = (await session.exec(select(Site).where(
            Site.organisation_id == user.organisation_id).order_by(col(Site.name)))).all()
    return render(request, "desk/desk_page", scripts=["desk.js"], maps=True,
                  organisation=organisation.name if organisation else "",
                  organisation_id=user.organisation_id,
                  # The desk's own sites, on every card's map: is our building inside?
                  sites=json.dumps([{"name": site.name, "lat": site.lat, "lon": site.lon}
                                    for site in sites]),
                  upload_max_bytes=request.app[SETTINGS].upload_max_bytes,
                  # The formats a field report may carry, as the hub checks them (hub.media).
                  media_types=",".join(MIME_TYPES.values()),
                  media_names=", ".join(kind.label for kind in MediaKind),
                  # Only partner staff answer alerts; an organisation's admin watches.
                  can_answer=user.role == Role.PARTNER)
