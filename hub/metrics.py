"""Prometheus metrics of one hub process: one registry, the metrics the outbox, the feed and
the HTTP layer keep, and a middleware counting requests by route and status."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# Publish to sent: seconds for a healthy outbox, minutes for a relay outage or a retry.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0,
                   900.0, 3600.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric of a process, in a registry of its own (so each app has fresh ones)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "vigil_deliveries", "outbound delivery attempts recorded, by channel and outcome "
            "(sent, failed: will be retried, dead: given up, held: waiting for a relay whose "
            "circuit is open)", ["channel", "status"], registry=registry)
        self.delivery_latency = Histogram(
            "vigil_delivery_latency_seconds", "from publish (or escalation) to the relay or "
            "host accepting the message, by channel", ["channel"], buckets=LATENCY_BUCKETS,
            registry=registry)
        self.outbox_due = Gauge("vigil_outbox_due", "outbound deliveries due now, by channel",
                                ["channel"], registry=registry)
        self.outbox_oldest = Gauge(
            "vigil_outbox_oldest_due_seconds",
            "how long the oldest due outbound delivery has been waiting (0: none due)",
            registry=registry)
        self.circuit_open = Gauge(
            "vigil_circuit_open", "1 while the circuit breaker of a relay or webhook host is "
            "open (nothing is sent to it; it is probed)", ["channel", "route"],
            registry=registry)
        self.escalations = Counter("vigil_escalations_fired",
                                   "ack deadlines that passed unanswered and alerted the "
                                   "secondary contacts", registry=registry)
        self.http_requests = Counter("vigil_http_requests", "HTTP requests by route and status",
                                     ["method", "route", "status"], registry=registry)
        self.http_seconds = Histogram("vigil_http_request_seconds",
                                      "HTTP request handling time by route", ["route"],
                                      buckets=HTTP_BUCKETS, registry=registry)

    def add(self, collector: Collector) -> None:
        self.registry.register(collector)


class Reading(Collector):
    """A collector that reads values at scrape time from a function of (name, type, help,
    labels, value) rows: for state that lives elsewhere, such as the feed's desks."""

    def __init__(self, read: Callable[[], list[tuple[str, str, str, dict[str, str], float]]]):
        self.read = read

    def collect(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
        for name, kind, help_text, labels, value in self.read():
            family = families.get(name)
            if family is None:
                make = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
                base = name.removesuffix("_total") if kind == "counter" else name
                family = families[name] = make(base, help_text, labels=list(labels))
            family.add_metric(list(labels.values()), value)
        yield from families.values()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def http_middleware(metrics: Metrics) -> Middleware:
    """Counts every request by method, route pattern (never the raw path: ids would make a
    series each) and status, and times it."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.http_requests.labels(request.method, route, str(status)).inc()
            metrics.http_seconds.labels(route).observe(time.perf_counter() - started)

    return count
