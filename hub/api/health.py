"""Liveness: /healthz answers 200 while the database answers, and says how the feed is
keeping up (`feed.status` is `behind` when alerts wait over a second for the fan-out)."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import text

from hub.http import FEED, SESSIONS

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.get("/healthz")
async def health_show(request: web.Request) -> web.Response:
    try:
        async with request.app[SESSIONS]() as session:
            await session.scalar(text("SELECT 1"))
    except Exception:  # any failure to reach the database means unhealthy
        log.exception("health check: the database did not answer")
        return web.json_response({"status": "unavailable", "database": "unavailable",
                                  "feed": request.app[FEED].health()}, status=503)
    feed = request.app[FEED].health()
    return web.json_response({"status": "ok" if feed["status"] == "ok" else "degraded",
                              "database": "ok", "feed": feed})
