"""The publisher console: the alert form with its map, reach preview and recent alerts."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
