"""The publisher console: the alert form with its map, reach preview, CAP import and recent
alerts."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from hub import incidents
from hub.access import ACCOUNT, allow
from hub.cap import MAX_DOCUMENT_BYTES, Category, Certainty, Severity, Urgency
from hub.http import CLOCK, SESSIONS, principal_of
from hub.pages.dashboard import named_places
from hub.pages.render import TLP_LABELS, render
from partners.models import Role

routes = web.RouteTableDef()
RECENT = 20
DEFAULT_EXPIRY = timedelta(hours=4)
ACK_CHOICES = [(120, "2 minutes"), (300, "5 minutes"), (600, "10 minutes"),
               (900, "15 minutes"), (1800, "30 minutes"), (3600, "1 hour")]


@routes.get("/")
@allow(ACCOUNT)  # partners are sent on to their desk
async def console_page(request: web.Request) -> web.Response:
    principal = principal_of(request)
    if principal.role is Role.PARTNER or (principal.role is Role.ADMIN
                                          and not principal.hub_admin):
        raise web.HTTPSeeOther("/desk")  # partner staff work from their desk
    now = request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        recent = await incidents.recent(session, principal, now, RECENT)
        await session.commit()  # deliveries the reach count wrote from pending fanouts
    return render(request, "console/console_page", maps=True, scripts=["console.js"],
                  recent=recent, may_publish=principal.role is Role.PUBLISHER,
                  categories=list(Category), severities=list(Severity),
                  urgencies=list(Urgency), certainties=list(Certainty), tlps=TLP_LABELS,
                  ack_choices=ACK_CHOICES, now=now.isoformat(),
                  cap_max_bytes=MAX_DOCUMENT_BYTES, named_places=named_places,
                  default_expiry=(now + DEFAULT_EXPIRY).isoformat())
