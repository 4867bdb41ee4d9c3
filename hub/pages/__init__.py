"""Server-rendered pages: sign-in, the publisher console, the partner desk and its
administration, the residents' pages and the tip pages; their scripts and styles are in
hub/static."""

from aiohttp import web

from hub.pages import (
    console,
    dashboard,
    desk,
    feeds,
    organisation,
    reports,
    residents,
    services,
    signin,
    static,
    tips,
)

ROUTES: tuple[web.RouteTableDef, ...] = (
    signin.routes, static.routes, console.routes, dashboard.routes, desk.routes,
    organisation.routes, residents.routes, feeds.routes, reports.routes,
    services.routes, tips.routes)
