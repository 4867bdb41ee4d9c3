"""Liveness and readiness.

`/healthz` is cheap: 200 while the database answers, with how the feed keeps up (`feed.status`
is `behind` when alerts wait over a second for the fan-out). `/readyz` says database,
broker, relays and outbox each: 503 while the database
or the broker does not answer, else 200 with `status` `degraded` when a relay's breaker is
open, the outbox is behind or the feed is."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web
from sqlalchemy import text

from hub.access import PUBLIC, allow
from hub.dispatch import due_now
from hub.http import BUS, CLOCK, DISPATCHER, FEED, SESSIONS, STORAGE

log = logging.getLogger(__name__)
OUTBOX_BEHIND_S = 30.0  # a due delivery waiting this long means the outbox is behind

routes = web.RouteTableDef()


@routes.get("/healthz")
@allow(PUBLIC)
async def health_show(request: web.Request) -> web.Response:
    try:
        async with request.app[SESSIONS]() as session:
            await session.scalar(text("SELECT 1"))
    except Exception:  # any failure to reach the database means unhealthy
        log.exception("health check: the database did not answer")
        return web.json_response({"status": "unavailable", "database": "unavailable",
                                  "storage": request.app[STORAGE].health(),
                                  "feed": request.app[FEED].health()}, status=503)
    feed = request.app[FEED].health()
    disk = request.app[STORAGE].health()  # writes failing for want of space: answered 503
    well = feed["status"] == "ok" and disk["status"] == "ok"
    return web.json_response({"status": "ok" if well else "degraded",
                              "database": "ok", "storage": disk, "feed": feed})


@routes.get("/readyz")
@allow(PUBLIC)
async def ready_show(request: web.Request) -> web.Response:
    app = request.app
    report: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        async with app[SESSIONS]() as session:
            await session.scalar(text("SELECT 1"))
            report["database"] = {"status": "ok",
                                  "ms": round((time.perf_counter() - started) * 1000, 1)}
            due = await due_now(session, app[CLOCK]())
    except Exception as error:
        log.exception("readiness: the database did not answer")
        report["database"] = {"status": "unavailable", "error": type(error).__name__}
        due = None
    try:
        report["broker"] = {"status": await app[BUS].check()}
    except Exception as error:
        report["broker"] = {"status": "unavailable", "error": str(error) or type(error).__name__}
    report["relays"] = _relays(app)
    if due is not None:
        oldest = max((age for _, age in due.values()), default=0.0)
        report["outbox"] = {"status": "behind" if oldest > OUTBOX_BEHIND_S else "ok",
                            "due": {channel: count for channel, (count, _) in due.items()},
                            "oldest_due_s": round(oldest, 3)}
    report["feed"] = app[FEED].health()
    down = any(report[part]["status"] == "unavailable" for part in ("database", "broker"))
    degraded = (report.get("outbox", {}).get("status") == "behind"
                or report["feed"]["status"] != "ok"
                or any(relay["status"] == "open" for relay in report["relays"]))
    status = "unavailable" if down else "degraded" if degraded else "ok"
    return web.json_response({"status": status, **report}, status=503 if down else 200)


def _relays(app: web.Application) -> list[dict[str, Any]]:
    """Each relay or webhook host this process has sent to, and its breaker."""
    dispatcher = app.get(DISPATCHER)
    if dispatcher is None:
        return []
    now = time.monotonic()
    return [{"channel": b.channel, "route": b.route, "status": "open" if b.is_open else "ok",
             "down_s": round(now - b.opened_at, 1) if b.opened_at is not None else 0.0,
             "last_error": b.last_error or None}
            for b in dispatcher.breakers.breakers.values()]
