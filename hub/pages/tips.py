"""Tip pages: the public pages anyone sends a tip from (an evidence request's, and the
general one), and the police pages that list requests and their tips with each file's hash."""

from __future__ import annotations

from aiohttp import web

from hub import evidence, tips
from hub.access import POLICE_PAGES, TIPSTER, allow
from hub.errors import NotFound
from hub.geo import describe_area
from hub.http import SESSIONS, SETTINGS, principal_of
from hub.media import MIME_TYPES
from hub.models import EvidenceRequest, EvidenceStatus, TipStatus
from hub.pages.render import render

routes = web.RouteTableDef()
GENERAL = "general"  # /evidence/general: the tips that answer no request
# Files past this go up as resumable (tus) uploads, in pieces of CHUNK bytes; smaller ones
# go in the tip's own request.
TUS_ABOVE = 1024 * 1024
CHUNK = 512 * 1024
ACCEPT = ",".join(MIME_TYPES.values())


def tip_form(request: web.Request, appeal: EvidenceRequest | None,
             status: int = 200) -> web.Response:
    return render(request, "tips/tip_page", status, appeal=appeal,
                  area_text=describe_area(appeal.area) if appeal and appeal.area else None,
                  open=appeal is None or appeal.status is EvidenceStatus.OPEN,
                  accept=ACCEPT, tus_above=TUS_ABOVE, chunk=CHUNK,
                  max_bytes=request.app[SETTINGS].tip_max_bytes,
                  scripts=["tips.js"], maps=bool(appeal and appeal.area))


@routes.get("/tips")
@allow(TIPSTER)
async def tip_page(request: web.Request) -> web.Response:
    return tip_form(request, None)


@routes.get("/tips/{slug}")
@allow(TIPSTER)
async def evidence_public_page(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        appeal = await evidence.by_slug(session, request.match_info["slug"])
    if appeal is None:
        return render(request, "tips/missing", 404)
    return tip_form(request, appeal)


@routes.get("/evidence")
@allow(POLICE_PAGES)
async def evidence_page(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        found = await evidence.requests_for(session, principal)
        general = len(await tips.tips_for(session, principal, general=True))
    return render(request, "tips/evidence_page", requests=found, general=general,
                  scripts=["evidence.js"])


@routes.get("/evidence/{id}")
@allow(POLICE_PAGES)
async def evidence_request_page(request: web.Request) -> web.Response:
    principal = principal_of(request)
    wanted = request.match_info["id"]
    async with request.app[SESSIONS]() as session:
        appeal = None
        if wanted != GENERAL:
            try:
                appeal = await evidence.readable(session, principal, wanted)
            except NotFound:
                return render(request, "tips/missing", 404)
        found = await tips.tips_for(session, principal, request=appeal,
                                    general=appeal is None, limit=tips.MAX_LISTED)
        files = await tips.files_of(session, found)
        await tips.viewed(session, principal, found, "page")  # chain of custody
        await session.commit()
    return render(request, "tips/evidence_request_page", appeal=appeal, tips=found,
                  files=files, statuses=[s.value for s in TipStatus],
                  area_text=describe_area(appeal.area) if appeal and appeal.area else None,
                  public_url=request.app[SETTINGS].public_url.rstrip("/"),
                  scripts=["evidence.js"])
