"""The outbox through a relay outage and a slow relay, against a real `vigil serve`."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.hub.live_api import free_port
from tests.hub.outbox_processes import (
    CountingSink,
    enrol_and_publish,
    hub_env,
    metrics_of,
    start,
    until,
)

EMAILS = 100
OUTAGE_S = 30.0


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """One metric's samples from a Prometheus text page, by their sorted labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_a_relay_refusing_for_30_s_gets_everything_within_10_s_of_its_return(
        tmp_path: Path) -> None:
    sink = CountingSink(free_port())  # not started: connections to it are refused
    port = free_port()
    env, base = hub_env(tmp_path, sink.port), f"http://127.0.0.1:{port}"
    route = (("channel", "email"), ("route", f"smtp://127.0.0.1:{sink.port}"))
    sent = (("channel", "email"), ("status", "sent"))
    failed = (("channel", "email"), ("status", "failed"))
    try:
        with (tmp_path / "hub.log").open("wb") as log:
            hub = await start(["serve", "--port", str(port)], env, log, f"{base}/healthz")
            try:
                down = time.monotonic()
                await enrol_and_publish(f"{base}/api/v1", EMAILS)
                opened = await metrics_of(base)
                for _ in range(100):
                    if samples(opened, "vigil_circuit_open").get(route) == 1.0:
                        break
                    await asyncio.sleep(0.1)
                    opened = await metrics_of(base)
                assert samples(opened, "vigil_circuit_open")[route] == 1.0
                async with aiohttp.ClientSession() as http, \
                        http.get(f"{base}/readyz") as response:
                    ready = await response.json()
                assert response.status == 200 and ready["status"] == "degraded"
                assert [r["status"] for r in ready["relays"] if r["channel"] == "email"] == \
                    ["open"]
                await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down)))
                during = await metrics_of(base)
                # The breaker stopped the hammering: no attempt since it opened.
                assert samples(during, "vigil_deliveries_total").get(failed) == \
                    samples(opened, "vigil_deliveries_total").get(failed)
                sink.start()
                took = await until(lambda: sink.distinct() == EMAILS, 20)
                await asyncio.sleep(0.5)  # the last records are committed
                after = await metrics_of(base)
            finally:
                hub.send_signal(signal.SIGINT)
                await asyncio.wait_for(hub.wait(), 15)
    finally:
        sink.stop()
    assert took < 10, f"the last mail came {took:.1f} s after the relay's return"
    assert sink.repeats() == 0
    assert samples(after, "vigil_circuit_open")[route] == 0.0
    # The counters match what the sink received.
    assert samples(after, "vigil_deliveries_total")[sent] == EMAILS == len(sink.ids)
    latency = samples(after, "vigil_delivery_latency_seconds_count")
    assert latency[(("channel", "email"),)] == EMAILS
