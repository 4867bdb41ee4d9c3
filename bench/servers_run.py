"""Servers under test as real processes: the hub (`vigil web`, one or several processes) on
a seeded SQLite database, and the bare baselines of `bench.servers`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hub import db
from partners.credentials import hash_token
from partners.models import ApiToken, Organisation, Role, Site

ADMIN = "bench-admin-token-0123456789"
PUBLISHER = "vgl_bench_publisher_0123456789"
SQUARE = [[-79.3900, 43.6400], [-79.3700, 43.6400], [-79.3700, 43.6560],
          [-79.3900, 43.6560], [-79.3900, 43.6400]]
# The benchmarks' alert: enough words that the feed's frame is about 1 KB, the size of the
# bare servers' frame (its email is a ~2.4 KB text and HTML multipart).
ALERT = {"headline": "Benchmark alert: suspicious package, King St W & Bay St",
         "event": "Suspicious package", "category": "Security", "severity": "Severe",
         "urgency": "Immediate", "certainty": "Observed", "tlp": "TLP:GREEN",
         "description": "An unattended bag was reported in the north lobby. " * 4,
         "instruction": "Keep staff away from the north lobby.",
         "area": {"type": "Polygon", "coordinates": [SQUARE]}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@dataclass
class Server:
    """A running server process (and its children) answering on `port`."""

    kind: str
    port: int
    process: subprocess.Popen[bytes]
    tokens: list[str | None] = field(default_factory=list)
    workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def feed_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}" + ("/api/v1/feed" if self.is_hub else "/feed")

    @property
    def is_hub(self) -> bool:
        return self.kind.startswith("hub")

    def pids(self) -> list[int]:
        """The serving processes: the children of a supervisor, else the process itself."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        children = [int(p) for p in path.read_text().split()] if path.exists() else []
        return children or [self.process.pid]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.workdir is not None:
            self.workdir.cleanup()


async def seed(url: str, desks: int, per_org: int) -> list[str | None]:
    """A police service with a publisher, and partner organisations with a site inside the
    benchmark area, `per_org` desks each, every desk with a partner token of its own;
    returns the desks' tokens."""
    engine = db.create_engine(url)
    await db.upgrade(engine)
    rng = np.random.default_rng(7)
    tokens: list[str | None] = []
    async with db.session_factory(engine)() as session:
        police = Organisation(name="Bench Police", kind="police")
        orgs = [Organisation(name=f"Partner {n}", kind="corporate")
                for n in range(-(-desks // per_org))]
        session.add_all([police, *orgs])
        await session.flush()  # the organisations first: sites and tokens refer to them
        session.add(ApiToken(token_hash=hash_token(PUBLISHER), role=Role.PUBLISHER,
                             organisation_id=police.id, label="bench"))
        for org in orgs:
            lat, lon = rng.uniform(43.641, 43.655), rng.uniform(-79.389, -79.371)
            session.add(Site(organisation_id=org.id, name="HQ", lat=lat, lon=lon))
        for n in range(desks):
            secret = f"vgl_bench_desk_{n:06d}_0123456789"
            session.add(ApiToken(token_hash=hash_token(secret), role=Role.PARTNER,
                                 organisation_id=orgs[n // per_org].id, label="bench"))
            tokens.append(secret)
        await session.commit()
    await engine.dispose()
    return tokens


@dataclass
class Seeded:
    """A database seeded for the hub, in a folder of its own."""

    workdir: tempfile.TemporaryDirectory[str]
    url: str
    tokens: list[str | None]


async def seeded(desks: int, per_org: int) -> Seeded:
    workdir = tempfile.TemporaryDirectory(prefix="vigil-bench-")
    url = f"sqlite+aiosqlite:///{workdir.name}/bench.db"
    return Seeded(workdir, url, await seed(url, desks, per_org))


def start_hub(data: Seeded, processes: int = 1, name: str = "") -> Server:
    """`vigil web` (with `--processes`) on a seeded database."""
    port = free_port()
    folder = data.workdir.name
    env = {**os.environ, "VIGIL_DATABASE_URL": data.url, "VIGIL_DATA_DIR": f"{folder}/data",
           "VIGIL_BOOTSTRAP_TOKEN": ADMIN, "VIGIL_SECRET_KEY": "bench-secret-key",
           "VIGIL_APPROVAL_FOR": "none", "VIGIL_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    if processes > 1:
        env["VIGIL_BROKER_URL"] = os.environ.get("VIGIL_BENCH_REDIS",
                                                 "redis://127.0.0.1:6379/0")
    with open(f"{folder}/hub.log", "ab") as log:
        extra = ["--processes", str(processes)] if processes > 1 else []
        process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "web", "--port", str(port), *extra],
            env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name or (f"hub x{processes}" if processes > 1 else "hub"), port, process,
                    data.tokens, data.workdir)
    wait_ready(server, f"{server.base}/healthz", listeners=processes)
    return server


def start_bare(kind: str, desks: int) -> Server:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.servers", kind, str(port)])
    server = Server(kind, port, process, [None] * desks)
    wait_ready(server, f"{server.base}/broadcast?seq=0", listeners=1)
    return server


def wait_ready(server: Server, url: str, listeners: int) -> None:
    """Until the server answers `url` with 200 on every listening process; stop it if not."""
    for _ in range(600):
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                ready = answer.status == 200
        except OSError:
            ready = False
        if ready and _listening(server.port) >= listeners:
            return
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.kind} did not start (exit code {server.process.returncode})")


def _listening(port: int) -> int:
    return sum(1 for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
               if int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A")
