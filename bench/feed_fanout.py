"""Benchmark: publish-to-desk latency on the live feed, and targeting cost against many sites.

Run:  python bench/feed_fanout.py [--desks 500] [--alerts 20] [--sites 100000]

Starts a real hub (SQLite in a temporary directory) on a loopback port, connects N desk
WebSockets, publishes alerts through the API and reports, per alert, the time from the
start of the POST to each desk holding the frame. Then times the targeting match of one
polygon against many sites, vectorised (as the hub does) and as a per-site Python loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import ClientSession, TCPConnector, web
from shapely.geometry import Point

from hub.app import create_app
from hub.geo import parse_area
from hub.settings import Settings

ADMIN = "bench-admin-token"
SQUARE = [[-79.3900, 43.6400], [-79.3700, 43.6400], [-79.3700, 43.6560],
          [-79.3900, 43.6560], [-79.3900, 43.6400]]
ALERT = {"headline": "Benchmark alert", "event": "Drill", "category": "Security",
         "severity": "Minor", "urgency": "Expected", "certainty": "Possible",
         "tlp": "TLP:GREEN", "area": {"type": "Polygon", "coordinates": [SQUARE]}}


async def enrol(http: ClientSession, base: str, desks: int) -> tuple[str, list[str]]:
    auth = {"Authorization": f"Bearer {ADMIN}"}

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with http.post(base + path, json=body, headers=auth) as response:
            assert response.status == 201, await response.text()
            return dict(await response.json())

    police = await post("/api/v1/organisations", {"name": "Police", "kind": "police"})
    publisher = (await post("/api/v1/tokens", {"organisation_id": police["id"],
                                               "role": "publisher"}))["token"]
    tokens = []
    rng = np.random.default_rng(7)
    for n in range(desks):
        lat, lon = rng.uniform(43.641, 43.655), rng.uniform(-79.389, -79.371)
        org = await post("/api/v1/organisations", {"name": f"Desk {n}", "kind": "corporate",
                                                   "sites": [{"name": "HQ", "lat": lat,
                                                              "lon": lon}]})
        tokens.append((await post("/api/v1/tokens", {"organisation_id": org["id"],
                                                     "role": "partner"}))["token"])
    return publisher, tokens


async def measure_fanout(desks: int, alerts: int) -> list[list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
                            data_dir=Path(tmp) / "data", bootstrap_token=ADMIN)
        runner = web.AppRunner(create_app(settings))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        try:
            # Every desk holds its connection open: lift the client's 100-connection cap.
            async with ClientSession(connector=TCPConnector(limit=0)) as http:
                publisher, tokens = await enrol(http, base, desks)
                sockets = [await http.ws_connect(f"{base}/api/v1/feed",
                                                 headers={"Authorization": f"Bearer {t}"})
                           for t in tokens]
                for ws in sockets:
                    await ws.send_json({"type": "resume", "since": 0})
                latencies = [await one_alert(http, base, publisher, sockets)
                             for _ in range(alerts)]
                for ws in sockets:
                    await ws.close()
                return latencies
        finally:
            await runner.cleanup()


async def one_alert(http: ClientSession, base: str, publisher: str,
                    sockets: list[Any]) -> list[float]:
    started = time.perf_counter()

    async def receive(ws: Any) -> float:
        await ws.receive_json(timeout=30)
        return time.perf_counter() - started

    waiting = [asyncio.create_task(receive(ws)) for ws in sockets]
    async with http.post(f"{base}/api/v1/alerts", json=ALERT,
                         headers={"Authorization": f"Bearer {publisher}"}) as response:
        assert response.status == 201, await response.text()
    return list(await asyncio.gather(*waiting))


def measure_targeting(sites: int) -> tuple[float, float]:
    rng = np.random.default_rng(11)
    lats = rng.uniform(43.58, 43.85, sites)
    lons = rng.uniform(-79.64, -79.12, sites)
    area = parse_area({"type": "Polygon", "coordinates": [SQUARE]})
    started = time.perf_counter()
    vectorised = area.contains(lats, lons)
    vector_s = time.perf_counter() - started
    started = time.perf_counter()
    assert area.polygon is not None
    looped = [area.polygon.intersects(Point(x, y)) for x, y in zip(lons, lats, strict=True)]
    loop_s = time.perf_counter() - started
    assert list(vectorised) == looped
    return vector_s, loop_s


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--desks", type=int, default=500)
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--sites", type=int, default=100_000)
    args = parser.parse_args()
    per_alert = asyncio.run(measure_fanout(args.desks, args.alerts))
    everyone = [max(latencies) for latencies in per_alert]
    each = sorted(x for latencies in per_alert for x in latencies)
    print(f"live feed: {args.desks} desks, {args.alerts} alerts (publish POST start -> frame)")
    print(f"  per desk   p50 {ms(statistics.median(each))}  p95 "
          f"{ms(each[int(len(each) * 0.95) - 1])}  max {ms(each[-1])}")
    print(f"  last desk  p50 {ms(statistics.median(everyone))}  max {ms(max(everyone))}")
    vector_s, loop_s = measure_targeting(args.sites)
    print(f"targeting: one polygon against {args.sites} sites")
    print(f"  vectorised {ms(vector_s)}   per-site loop {ms(loop_s)}   "
          f"({loop_s / vector_s:.0f}x)")


if __name__ == "__main__":
    main()
