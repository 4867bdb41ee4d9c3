"""The hub under the outbox benchmark: `vigil serve` as a process of its own, on a fresh
SQLite or PostgreSQL database seeded with one audience, and a client publishing to it."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.servers_run import ADMIN, ALERT, PUBLISHER, free_port

# Trust auth, user postgres; each run makes a database of its own through this one.
POSTGRES = os.environ.get("VIGIL_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Audience:
    """Primary-tier contacts inside the alert area, `per_org` to a partner organisation:
    each with an email address, or, given `chat_port`, a JSON webhook room of its own."""

    contacts: int
    per_org: int = 50
    chat_port: int | None = None

    def contact_fields(self, n: int) -> dict[str, Any]:
        if self.chat_port is None:
            return {"addresses": {"email": f"contact{n:05d}@example.org"}}
        return {"addresses": {"chat_url": f"json://127.0.0.1:{self.chat_port}/hooks/room-{n}"}}


async def seed(url: str, audience: Audience) -> None:
    """Migrate, then write a police service with the benchmark's publisher token and the
    audience's organisations (a site each inside the area) and contacts."""
    from hub import db
    from partners.credentials import hash_token
    from partners.models import ApiToken, Contact, Organisation, Role, Site, Tier

    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        async with db.session_factory(engine)() as session:
            police = Organisation(name="Bench Police", kind="police")
            orgs = [Organisation(name=f"Tower {n}", kind="corporate")
                    for n in range(-(-audience.contacts // audience.per_org))]
            session.add_all([police, *orgs])
            await session.flush()
            session.add(ApiToken(token_hash=hash_token(PUBLISHER), role=Role.PUBLISHER,
                                 organisation_id=police.id, label="bench"))
            session.add_all(Site(organisation_id=org.id, name="HQ", lat=43.6481, lon=-79.3805)
                            for org in orgs)
            session.add_all(Contact(organisation_id=orgs[n // audience.per_org].id,
                                    name=f"Guard {n:05d}", tier=Tier.PRIMARY,
                                    **audience.contact_fields(n))
                            for n in range(audience.contacts))
            await session.commit()
    finally:
        await engine.dispose()


@asynccontextmanager
async def database(backend: str, folder: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a file in `folder`, or a PostgreSQL database made for this
    run and dropped after it."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder}/vigil.db"
        return
    import asyncpg

    name = f"vigil_bench_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        server = POSTGRES.rpartition("/")[0].removeprefix("postgresql://")
        yield f"postgresql+asyncpg://{server}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


class Hub:
    """`python -m hub.cli serve` on a database, the same port across restarts; logs to
    `hub.log` in its folder. VIGIL_* variables of the benchmark's own environment (such
    as VIGIL_SMTP_CONNECTIONS or VIGIL_DELIVERY_LEASE_S) pass through, but the relay is
    only ever `smtp_url`."""

    def __init__(self, url: str, folder: Path, smtp_url: str | None) -> None:
        self.folder, self.port = folder, free_port()
        self.env = {key: value for key, value in os.environ.items()
                    if key != "VIGIL_SMTP_URL"}
        self.env.update({"VIGIL_DATABASE_URL": url, "VIGIL_DATA_DIR": str(folder / "data"),
                         "VIGIL_BOOTSTRAP_TOKEN": ADMIN, "VIGIL_SECRET_KEY": "bench-secret",
                         "VIGIL_APPROVAL_FOR": "none",
                         "VIGIL_PUBLIC_URL": f"http://127.0.0.1:{self.port}"})
        if smtp_url:
            self.env["VIGIL_SMTP_URL"] = smtp_url
        self.process: asyncio.subprocess.Process | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout_s: float = 60) -> None:
        """Start it and wait until /healthz answers 200."""
        with (self.folder / "hub.log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hub.cli", "serve", "--port", str(self.port),
                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while time.monotonic() < deadline and self.process.returncode is None:
                try:
                    async with http.get(f"{self.base}/healthz") as answer:
                        if answer.status == 200:
                            return
                except (aiohttp.ClientError, OSError, TimeoutError):
                    pass
                await asyncio.sleep(0.05)
        await self.stop()
        raise RuntimeError(f"the hub did not start:\n{self.log_tail()}")

    async def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM; SIGKILL if it has not exited within 30 s."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            print("  the hub did not stop within 30 s of SIGTERM: killed; its log ends\n"
                  + self.log_tail(5), flush=True)
            process.kill()
            await process.wait()

    def log_tail(self, lines: int = 15) -> str:
        path = self.folder / "hub.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) \
            if path.exists() else ""


@asynccontextmanager
async def hub_on(backend: str, audience: Audience, smtp_url: str | None) -> AsyncIterator[Hub]:
    """A started hub on a fresh `backend` database seeded with `audience`; stopped, and
    its database and folder removed, afterwards."""
    with tempfile.TemporaryDirectory(prefix="vigil-outbox-") as folder:
        async with database(backend, Path(folder)) as url:
            await seed(url, audience)
            hub = Hub(url, Path(folder), smtp_url)
            await hub.start()
            try:
                yield hub
            finally:
                await hub.stop()


@dataclass(frozen=True)
class Answer:
    """One publish request: its HTTP status, the alert's seq (201 only), its round trip
    and how many contacts the hub said it targets."""

    status: int
    seq: int | None
    took_s: float
    contacts: int = 0


class Publisher:
    """Publishes ALERT through the hub's API with the seeded publisher token, or POSTs the
    same body to any URL (a bare server's)."""

    def __init__(self, url: str, connections: int = 32) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=120),
            headers={"Authorization": f"Bearer {PUBLISHER}"})

    @classmethod
    def to_hub(cls, hub: Hub, connections: int = 32) -> Publisher:
        return cls(f"{hub.base}/api/v1/alerts", connections)

    async def publish(self) -> Answer:
        started = time.monotonic()
        try:
            async with self.http.post(self.url, json=ALERT) as answer:
                body = await answer.json(content_type=None) if answer.status == 201 else {}
                status = answer.status
        except (aiohttp.ClientError, OSError, TimeoutError):
            return Answer(0, None, time.monotonic() - started)  # no answer at all
        took = time.monotonic() - started
        targets = body.get("targets") or {}
        return Answer(status, body.get("seq"), took, int(targets.get("contacts", 0)))

    async def close(self) -> None:
        await self.http.close()
