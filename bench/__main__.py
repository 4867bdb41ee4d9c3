"""The benchmark suite: the live feed against bare Python broadcasts, and the outbox (email
and chat deliveries) against bare senders, in one run.

    python -m bench [--only feed|outbox] [--sizes 1000,5000,10000] [--soak-s 60]
                    [--outbox-emails 2000] [--quick]

Starts each server as a real process: the hub (`vigil web` on a seeded SQLite database,
one process, and two behind Redis), a bare `websockets` server calling
`websockets.broadcast()` and a bare aiohttp server looping over `send_str`, each serving
the same desks, which connect from two client processes of their own. Every figure is also
given as a ratio to the bare `websockets` server measured in the same run. Prints a table
and writes `bench/results.json` and `bench/results.png`. The outbox part (`bench.outbox`)
adds its own table and the `outbox` key of the same document; a run of one part keeps the
other's last results in the file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import outbox
from bench.desks import Fleet
from bench.report import chart, outbox_table, table
from bench.servers_run import (
    ALERT,
    PUBLISHER,
    Server,
    rss_bytes,
    seeded,
    start_bare,
    start_hub,
)

HERE = Path(__file__).resolve().parent
BARE = ("websockets", "aiohttp")
# The hub writes one feed delivery row per organisation at publish; this run shows that
# cost at its worst, with every desk an organisation of its own.
ONE_EACH = "hub, 1 desk/org"
ROUNDS = {1000: 30, 5000: 15, 10000: 10}


@dataclass
class Run:
    """What one server did at one size."""

    server: str
    desks: int
    connect_s: float = 0.0
    failed: int = 0
    memory_per_desk: float = 0.0
    first: list[float] = field(default_factory=list)  # publish -> first receipt, per alert
    last: list[float] = field(default_factory=list)  # publish -> last receipt, per alert
    post: list[float] = field(default_factory=list)  # publish request round trip
    missing: int = 0  # deliveries that never arrived
    extra: dict[str, Any] = field(default_factory=dict)


class Publisher:
    """Publishes through the hub's API, or triggers a bare server's broadcast."""

    def __init__(self, server: Server) -> None:
        self.server, self.counter = server, 0
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16))

    async def publish(self) -> tuple[int, float, float]:
        """(seq, when it started, how long the request took)."""
        started = time.monotonic()
        if self.server.is_hub:
            async with self.http.post(f"{self.server.base}/api/v1/alerts", json=ALERT,
                                      headers={"Authorization": f"Bearer {PUBLISHER}"}) as r:
                assert r.status == 201, await r.text()
                seq = int((await r.json())["seq"])
        else:
            self.counter += 1
            seq = self.counter
            async with self.http.get(f"{self.server.base}/broadcast?seq={seq}") as r:
                assert r.status == 200
        return seq, started, time.monotonic() - started

    async def close(self) -> None:
        await self.http.close()


async def wait_heard(fleet: Fleet, seqs: list[int], desks: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = fleet.counts()
        if all(counts.get(seq, 0) >= desks for seq in seqs):
            return
        await asyncio.sleep(0.05)


async def rounds(run: Run, fleet: Fleet, publisher: Publisher, count: int) -> None:
    """One alert at a time; the next once every desk has the last."""
    for _ in range(count):
        seq, started, took = await publisher.publish()
        await wait_heard(fleet, [seq], run.desks)
        times = fleet.heard().get(seq, [])
        run.post.append(took)
        run.missing += run.desks - len(times)
        if times:
            run.first.append(min(times) - started)
            run.last.append(max(times) - started)
        await asyncio.sleep(0.05)


async def sustained(fleet: Fleet, publisher: Publisher, desks: int, seconds: float,
                    concurrency: int = 4) -> dict[str, float]:
    """Deliveries per second with publishers sending back to back."""
    started: dict[int, float] = {}
    stop = time.monotonic() + seconds

    async def loop() -> None:
        while time.monotonic() < stop:
            seq, at, _ = await publisher.publish()
            started[seq] = at

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    await wait_heard(fleet, list(started), desks, timeout_s=120)
    heard = fleet.heard()
    receipts = [t for seq in started for t in heard.get(seq, [])]
    span = max(receipts) - min(started.values())
    return {"alerts": len(started), "deliveries": len(receipts),
            "per_s": len(receipts) / span, "expected": len(started) * desks}


async def soak(fleet: Fleet, publisher: Publisher, desks: int, seconds: float,
               rate: float = 10.0) -> dict[str, float]:
    """`rate` alerts a second for `seconds`: publish-to-frame for every delivery."""
    started: dict[int, float] = {}
    posts: list[float] = []
    begin = time.monotonic()
    tasks = []

    async def one() -> None:
        seq, at, took = await publisher.publish()
        started[seq] = at
        posts.append(took)

    for n in range(int(seconds * rate)):
        await asyncio.sleep(max(0.0, begin + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    await wait_heard(fleet, list(started), desks, timeout_s=120)
    heard = fleet.heard()
    each = sorted(t - started[seq] for seq in started for t in heard.get(seq, []))
    return {"alerts": len(started), "deliveries": len(each),
            "expected": len(started) * desks, "p50_s": percentile(each, 50),
            "p99_s": percentile(each, 99), "max_s": each[-1],
            "post_p50_s": percentile(sorted(posts), 50),
            "post_p99_s": percentile(sorted(posts), 99)}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(server: Server, fleet: Fleet, desks: int, args: argparse.Namespace) -> Run:
    run = Run(server.kind, desks)
    before = rss_bytes(server.pids())
    at, live, run.failed = fleet.connect(server.feed_url, server.tokens[:desks],
                                         0 if server.is_hub else None, args.marker)
    run.connect_s = max(live) - at if live else float("nan")
    await asyncio.sleep(1.0)
    run.memory_per_desk = (rss_bytes(server.pids()) - before) / max(1, len(live))
    publisher = Publisher(server)
    try:
        await rounds(run, fleet, publisher, 5 if args.quick else ROUNDS.get(desks, 10))
        if desks == args.sustained_at:
            run.extra["sustained"] = await sustained(fleet, publisher, desks,
                                                     3 if args.quick else 8)
        if desks == 1000 and server.kind == "hub" and args.soak_s:
            run.extra["soak"] = await soak(fleet, publisher, desks, args.soak_s)
    finally:
        await publisher.close()
        fleet.close_all()
    return run


def summary(run: Run) -> dict[str, Any]:
    return {"server": run.server, "desks": run.desks, "connect_s": run.connect_s,
            "failed_connects": run.failed, "memory_per_desk_bytes": run.memory_per_desk,
            "first_p50_s": percentile(run.first, 50), "first_p99_s": percentile(run.first, 99),
            "last_p50_s": percentile(run.last, 50), "last_p99_s": percentile(run.last, 99),
            "post_p50_s": percentile(run.post, 50), "post_p99_s": percentile(run.post, 99),
            "alerts": len(run.last), "missing": run.missing, **run.extra}


async def suite(args: argparse.Namespace) -> list[dict[str, Any]]:
    fleet = Fleet(2)
    results = []
    try:
        for desks in args.sizes:
            kinds = [*BARE, "hub"] + ([ONE_EACH] if desks == min(args.sizes) else [])
            for kind in kinds:
                if kind in BARE:
                    server = start_bare(kind, desks)
                else:
                    per_org = 1 if kind == ONE_EACH else args.desks_per_org
                    server = start_hub(await seeded(desks, per_org), name=kind)
                try:
                    results.append(summary(await measure(server, fleet, desks, args)))
                finally:
                    server.stop()
                print(f"  done: {kind} at {desks} desks", flush=True)
        if args.two_processes:
            desks = max(args.sizes)
            server = start_hub(await seeded(desks, args.desks_per_org), processes=2)
            try:
                results.append(summary(await measure(server, fleet, desks, args)))
            finally:
                server.stop()
            print(f"  done: hub x2 at {desks} desks", flush=True)
    finally:
        fleet.stop()
    return results


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("feed", "outbox"),
                        help="run one part of the suite (default: both)")
    parser.add_argument("--sizes", default="1000,5000,10000",
                        type=lambda text: [int(n) for n in text.split(",")])
    parser.add_argument("--soak-s", type=float, default=60.0)
    parser.add_argument("--sustained-at", type=int, default=5000)
    parser.add_argument("--desks-per-org", type=int, default=10,
                        help="desks (each with a token of its own) per partner organisation")
    parser.add_argument("--no-two-processes", dest="two_processes", action="store_false")
    parser.add_argument("--outbox-emails", type=int, default=None,
                        help="emails in the outbox throughput and SIGKILL runs (default "
                        "2000; 300 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument("--no-marker", dest="marker", action="store_false",
                        help="for a hub older than the `replayed` frame (a before/after "
                        "comparison): a desk counts as live once it has sent its resume")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    return parser.parse_args()


def _previous(path: Path) -> dict[str, Any]:
    """The document of the last run, so a run of one part keeps the other's results."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def main() -> None:
    args = _arguments()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 10,000 sockets need the room
    machine = {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
               "platform": platform.platform()}
    document = _previous(args.out)
    results = None
    if args.only in (None, "feed"):
        results = asyncio.run(suite(args))
        document.update({"desks_per_org": args.desks_per_org, "machine": machine,
                         "when": time.strftime("%Y-%m-%d %H:%M:%S"), "results": results})
    if args.only in (None, "outbox"):
        document["outbox"] = {"machine": machine, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                              **outbox.run(args.outbox_emails, args.quick)}
    args.out.write_text(json.dumps(document, indent=2))
    if results is not None:
        print(table(results))
        chart(results, args.out.with_suffix(".png"))
    if "outbox" in document and args.only in (None, "outbox"):
        print()
        print(outbox_table(document["outbox"]))
    wrote = [args.out, args.out.with_suffix(".png")] if results is not None else [args.out]
    print("wrote " + " and ".join(map(str, wrote)))


if __name__ == "__main__":
    main()
