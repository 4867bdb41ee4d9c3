"""The OpenAPI 3 document of the API as built."""

from __future__ import annotations

from typing import Any

from aiohttp import web

routes = web.RouteTableDef()


def openapi_document() -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "Vigil", "version": "0.1.0"}, "paths": {}}


@routes.get("/api/v1/openapi.json")
async def openapi_show(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())
