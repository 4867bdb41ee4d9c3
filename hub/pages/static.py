"""The pages' own scripts, styles and vendored libraries (Leaflet), served from the hub."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hub.access import PUBLIC, allow
from hub.errors import NotFound

routes = web.RouteTableDef()
STATIC = Path(__file__).resolve().parents[1] / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png",
         ".svg": "image/svg+xml", ".ico": "image/x-icon"}


@routes.get("/static/{path:.+}")
@allow(PUBLIC)
async def static_file(request: web.Request) -> web.StreamResponse:
    path = (STATIC / request.match_info["path"]).resolve()
    kind = TYPES.get(path.suffix)
    if kind is None or not path.is_relative_to(STATIC) or not path.is_file():
        raise NotFound("no such file")
    response = web.FileResponse(path, headers={"Content-Type": kind,
                                               "Cache-Control": "public, max-age=3600"})
    return response
