"""Residents' pages: subscribe, manage, unsubscribe, and the public alerts with their feed."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
