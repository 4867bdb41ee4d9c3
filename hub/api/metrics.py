"""Prometheus metrics: what the live feed is doing, in the text exposition format."""

from __future__ import annotations

from aiohttp import web

from hub.feed import FeedHub
from hub.http import FEED

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


def exposition(rows: list[tuple[str, str, str, dict[str, str], float]]) -> str:
    lines: list[str] = []
    described: set[str] = set()
    for name, kind, help_text, labels, value in rows:
        if name not in described:
            described.add(name)
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        label = ",".join(f'{key}="{val}"' for key, val in labels.items())
        lines.append(f"{name}{{{label}}} {value:g}" if label else f"{name} {value:g}")
    return "\n".join(lines) + "\n"


@routes.get("/metrics")
async def metrics_show(request: web.Request) -> web.Response:
    return web.Response(text=exposition(feed_metrics(request.app[FEED])),
                        content_type="text/plain", charset="utf-8",
                        headers={"Cache-Control": "no-store"})
