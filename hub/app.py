"""The app factory: builds the engine, bus, live feed, worker and routes for a hub process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from functools import partial

from aiohttp import web

from channels.registry import Registry
from hub import db, pages
from hub.api import (
    accounts,
    alerts,
    cap,
    evidence,
    feed,
    health,
    metrics,
    organisations,
    reach,
    reports,
    services,
    spec,
    subscriptions,
    tips,
    tokens,
)
from hub.auth import guard, security_headers
from hub.bus import create_bus
from hub.desk import DeskLimits
from hub.dispatch import Dispatcher, Timing
from hub.escalation import Escalator
from hub.feed import FeedHub
from hub.http import (
    BUS,
    CLOCK,
    COOKIES,
    DISPATCHER,
    FEED,
    LIMITS,
    METRICS,
    NOTICES,
    PUBLISHING,
    SESSIONS,
    SETTINGS,
    STORAGE,
    TOKENS,
    Clock,
    errors_as_json,
    quiet_malformed_requests,
)
from hub.messages import Renderer
from hub.metrics import Metrics, Reading, http_middleware
from hub.notices import Notices
from hub.pages.render import page_errors
from hub.publishing import Publishing
from hub.sessions import CookiePolicy
from hub.settings import Settings
from hub.storage import Storage
from hub.throttle import RateLimit
from hub.token_lookup import TokenLookup
from hub.tus import Hashes
from partners.credentials import ensure_bootstrap_token
from partners.models import utcnow

log = logging.getLogger(__name__)
ESCALATOR = web.AppKey("escalator", Escalator)


def create_app(settings: Settings, *, clock: Clock = utcnow, migrate: bool = True,
               worker: bool = True) -> web.Application:
    """A hub web process; with `worker`, also the delivery worker (the `serve` shape)."""
    quiet_malformed_requests()
    app = web.Application()
    app[METRICS] = Metrics()
    app[STORAGE] = Storage()
    app.middlewares.extend([http_middleware(app[METRICS]), errors_as_json, page_errors, guard])
    app[SETTINGS] = settings = settings.with_secret_key()
    app[CLOCK] = clock
    app[PUBLISHING] = Publishing.of(settings)
    assert settings.secret_key
    app[COOKIES] = CookiePolicy(settings.secret_key, settings.public_url.startswith("https:"),
                                timedelta(seconds=settings.session_idle_s),
                                timedelta(seconds=settings.session_max_s))
    app[LIMITS] = public_rate_limits()
    app[tips.HASHES] = Hashes()
    app.on_response_prepare.append(security_headers)
    app.on_response_prepare.append(tips.tip_headers)
    for module in (organisations, tokens, accounts, alerts, cap, reach, reports, services,
                   subscriptions, tips, evidence, feed, health, metrics, spec):
        app.router.add_routes(module.routes)
    for table in pages.ROUTES:
        app.router.add_routes(table)
    app.cleanup_ctx.append(_notices)
    app.cleanup_ctx.append(_database(migrate))
    app.cleanup_ctx.append(_bus)
    app.cleanup_ctx.append(_live_feed)
    if worker:
        app.cleanup_ctx.append(_dispatcher)
    return app


def renderer(settings: Settings) -> Renderer:
    return Renderer(settings.public_url, secret_key=settings.secret_key or "")


def public_rate_limits() -> dict[str, RateLimit]:
    """Per-address budgets for the endpoints anyone may call without a credential."""
    return {"login": RateLimit(burst=20, per_minute=10),
            "invitation": RateLimit(burst=10, per_minute=5),
            "signup": RateLimit(burst=5, per_minute=2),
            # Tips are anonymous, so the address is all that stands between the police's
            # queue and a flood: a few at once, then one a minute (and the uploads they need).
            "tip": RateLimit(burst=5, per_minute=1),
            "tip_upload": RateLimit(burst=20, per_minute=6)}


def _database(migrate: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    async def database(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        engine = db.create_engine(settings.database_url)
        if migrate:
            await db.upgrade(engine)
        app[SESSIONS] = db.session_factory(engine)
        app[TOKENS] = TokenLookup(app[SESSIONS])
        if settings.bootstrap_token:
            async with app[SESSIONS]() as session:
                await ensure_bootstrap_token(session, settings.bootstrap_token)
        yield
        await engine.dispose()

    return database


async def _notices(app: web.Application) -> AsyncIterator[None]:
    app[NOTICES] = Notices(app[PUBLISHING].channels, app[SETTINGS].public_url)
    yield
    await app[NOTICES].close()


async def _bus(app: web.Application) -> AsyncIterator[None]:
    app[BUS] = create_bus(app[SETTINGS].broker_url)
    await app[BUS].start()
    yield
    await app[BUS].close()


async def _live_feed(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    limits = DeskLimits(buffer_bytes=settings.feed_buffer_bytes,
                        write_timeout_s=settings.feed_write_timeout_s,
                        replay_max=settings.feed_replay_max)
    app[FEED] = FeedHub(app[SESSIONS], app[CLOCK], limits, settings.feed_heartbeat_s)
    app[METRICS].add(Reading(partial(metrics.feed_metrics, app[FEED])))
    app[BUS].subscribe(app[FEED].notify)
    await app[FEED].start()
    yield
    await app[FEED].close()


async def _dispatcher(app: web.Application) -> AsyncIterator[None]:
    app[DISPATCHER] = Dispatcher(app[SESSIONS], app[PUBLISHING].channels, renderer(app[SETTINGS]),
                                 app[CLOCK],
                                 timing=Timing(lease_s=app[SETTINGS].delivery_lease_s),
                                 metrics=app[METRICS])
    app[BUS].subscribe(app[DISPATCHER].notify)
    escalator = Escalator(app[SESSIONS], app[CLOCK], app[PUBLISHING].channels,
                          app[DISPATCHER].notify, metrics=app[METRICS])
    app[ESCALATOR] = escalator
    await app[DISPATCHER].start()
    await escalator.start()
    yield
    await escalator.close()
    await app[DISPATCHER].close()


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """A standalone delivery worker (`vigil worker`) until `stop` is set."""
    settings = settings.with_secret_key()
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    bus = create_bus(settings.broker_url)
    channels = Registry.of(settings)
    dispatcher = Dispatcher(sessions, channels, renderer(settings), utcnow,
                            timing=Timing(lease_s=settings.delivery_lease_s))
    bus.subscribe(dispatcher.notify)
    escalator = Escalator(sessions, utcnow, channels, dispatcher.notify)
    await bus.start()
    await dispatcher.start()
    await escalator.start()
    log.info("delivery worker %s running, with the escalation scheduler", dispatcher.worker_id)
    try:
        await stop.wait()
    finally:
        await escalator.close()
        await dispatcher.close()
        await bus.close()
        await engine.dispose()
