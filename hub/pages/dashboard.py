"""An alert's live dashboard and the approval queue, for police staff."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
