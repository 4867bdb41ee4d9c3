"""Partner administration pages: an organisation's sites, contacts, tiers and tokens."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
