"""Liveness: /healthz answers 200 while the database answers."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from hub.http import SESSIONS

routes = web.RouteTableDef()


@routes.get("/healthz")
async def health_show(request: web.Request) -> web.Response:
    try:
        async with request.app[SESSIONS]() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as error:  # any failure to reach the database means unhealthy
        return web.json_response({"status": "unavailable", "database": str(error)}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})
