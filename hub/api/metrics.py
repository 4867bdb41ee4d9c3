"""Prometheus metrics of this process in the text exposition format (prometheus-client):
the outbox, circuit breakers, escalations, the live feed and HTTP requests."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.access import PUBLIC, allow
from hub.dispatch import due_now
from hub.feed import FeedHub
from hub.http import CLOCK, METRICS, SESSIONS

routes = web.RouteTableDef()


def feed_metrics(feed: FeedHub) -> list[tuple[str, str, str, dict[str, str], float]]:
    """(name, type, help, labels, value) for every feed metric of this process."""
    stats = feed.stats
    rows: list[tuple[str, str, str, dict[str, str], float]] = [
        ("vigil_feed_desks", "gauge", "desks connected to this process", {}, len(feed.desks)),
        ("vigil_feed_frames_total", "counter", "live alert frames written to desks", {},
         stats.frames),
        ("vigil_feed_replayed_total", "counter", "alert frames replayed after a resume", {},
         stats.replayed),
        ("vigil_feed_resumes_total", "counter", "resumes served", {}, stats.resumes),
        ("vigil_feed_fanouts_total", "counter", "alerts fanned out", {}, stats.fanouts),
        ("vigil_feed_fanout_seconds_total", "counter",
         "time spent writing fanned-out alerts to sockets", {}, stats.fanout_s),
        ("vigil_feed_lag_seconds", "gauge",
         "how long the oldest announced alert has waited for the fan-out (0: caught up)", {},
         feed.lag_s()),
        ("vigil_feed_backlog_alerts", "gauge", "alerts announced but not yet fanned out", {},
         max(0, feed.announced - feed.high_water)),
        ("vigil_feed_records_waiting", "gauge",
         "feed deliveries sent and not yet recorded as delivered", {}, feed.ledger.waiting),
        ("vigil_feed_records_total", "counter", "feed deliveries recorded as delivered", {},
         feed.ledger.written),
    ]
    for why in ("slow", "heartbeat", "rate", "revoked", "error", "shutdown"):
        rows.append(("vigil_feed_closed_total", "counter", "desks the hub closed, by reason",
                     {"reason": why}, stats.closed[why]))
    return rows


@routes.get("/metrics")
@allow(PUBLIC)  # counts only; keep it off the public internet at the proxy
async def metrics_show(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    async with request.app[SESSIONS]() as session:
        due = await due_now(session, request.app[CLOCK]())
    metrics.outbox_due.clear()
    for channel, (count, _) in due.items():
        metrics.outbox_due.labels(channel).set(count)
    metrics.outbox_oldest.set(max((oldest for _, oldest in due.values()), default=0.0))
    return web.Response(body=generate_latest(metrics.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST,
                                 "Cache-Control": "no-store"})
