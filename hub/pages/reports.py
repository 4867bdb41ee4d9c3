"""The police reports page: every field report their service received, on its alerts or on
none, on one live map and list, with review states; its data comes from /api/v1/reports."""

from __future__ import annotations

from aiohttp import web

from hub.access import POLICE_PAGES, allow
from hub.pages.render import render

routes = web.RouteTableDef()
REFRESH_S = 10  # how often the page asks for new reports


@routes.get("/reports")
@allow(POLICE_PAGES)
async def reports_page(request: web.Request) -> web.Response:
    return render(request, "dashboard/reports", scripts=["reports.js"], maps=True,
                  refresh_s=REFRESH_S)
