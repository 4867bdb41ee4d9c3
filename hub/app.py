"""The app factory: builds the engine, bus, live feed and routes for one hub process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from hub import db
from hub.api import alerts, feed, health, organisations, spec, tokens
from hub.bus import create_bus
from hub.feed import FeedHub
from hub.http import BUS, CLOCK, FEED, SESSIONS, SETTINGS, Clock, errors_as_json
from hub.settings import Settings
from partners.credentials import ensure_bootstrap_token
from partners.models import utcnow

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, clock: Clock = utcnow,
               migrate: bool = True) -> web.Application:
    """A hub web process. Resources are opened on start-up and closed on clean-up."""
    app = web.Application(middlewares=[errors_as_json])
    app[SETTINGS] = settings.with_secret_key()
    app[CLOCK] = clock
    for module in (organisations, tokens, alerts, feed, health, spec):
        app.router.add_routes(module.routes)
    app.cleanup_ctx.append(_database(migrate))
    app.cleanup_ctx.append(_live_feed)
    return app


def _database(migrate: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    async def database(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        engine = db.create_engine(settings.database_url)
        if migrate:
            await db.upgrade(engine)
        app[SESSIONS] = db.session_factory(engine)
        if settings.bootstrap_token:
            async with app[SESSIONS]() as session:
                await ensure_bootstrap_token(session, settings.bootstrap_token)
        yield
        await engine.dispose()

    return database


async def _live_feed(app: web.Application) -> AsyncIterator[None]:
    bus = create_bus(app[SETTINGS].broker_url)
    hub = FeedHub(app[SESSIONS], app[CLOCK])
    bus.subscribe(hub.notify)
    await bus.start()
    await hub.start()
    app[BUS], app[FEED] = bus, hub
    yield
    await hub.close()
    await bus.close()
