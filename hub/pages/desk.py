"""The partner desk: the live feed page with acknowledgements, field reports and history."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
