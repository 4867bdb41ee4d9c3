"""Real processes for outbox fault tests: hubs and workers started as `vigil` commands, and
an SMTP sink that counts every mail by Message-ID."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from channels.email import EmailChannel
from hub.settings import Settings
from tests.conftest import ADMIN_TOKEN, INSIDE, alert_body
from tests.demo_process import VIGIL, wait_healthy
from tests.hub.conftest import Sink

# The email lane's slots with the default VIGIL_SMTP_CONNECTIONS: at most this many sends
# are of unknown outcome when a worker dies.
EMAIL_SLOTS = EmailChannel(connections=Settings.smtp_connections).max_in_flight
_MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


@dataclass
class CountingSink(Sink):
    """A Sink that keeps only each mail's Message-ID and accepts it after `delay_s` (so a
    fan-out lasts long enough to be killed mid-way); `reached` is set at `mark` mails."""

    mark: int = 0
    ids: list[str] = field(default_factory=list)
    reached: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        found = _MESSAGE_ID.search(envelope.content)
        self.ids.append(found.group(1).decode() if found else "")
        if self.mark and len(self.ids) >= self.mark:
            self.reached.set()
        return "250 Message accepted"

    def distinct(self) -> int:
        return len(set(self.ids))

    def repeats(self) -> int:
        return sum(n - 1 for n in Counter(self.ids).values())


def hub_env(tmp_path: Path, smtp_port: int, **extra: str) -> dict[str, str]:
    env = {**os.environ, "VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db",
           "VIGIL_DATA_DIR": str(tmp_path / "data"), "VIGIL_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
           "VIGIL_SECRET_KEY": "outbox-test-secret-key",
           "VIGIL_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", **extra}
    env.pop("VIGIL_DELIVERY_LEASE_S", None)  # the defaults are what is tested
    env.pop("VIGIL_SMTP_CONNECTIONS", None)
    return env


async def start(command: list[str], env: dict[str, str], log: Any,
                health_url: str | None = None) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(*VIGIL, *command, env=env, stdout=log,
                                                   stderr=subprocess.STDOUT)
    if health_url:
        await wait_healthy(health_url, process)
    return process


async def enrol_and_publish(base: str, contacts: int, organisations: int = 5) -> str:
    """A police service and partner organisations inside the area with `contacts` email
    contacts between them, enrolled through the API; publishes one alert, returns its id."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession() as http:
        async def post(path: str, body: dict[str, Any], headers: dict[str, str] = admin) -> Any:
            async with http.post(f"{base}{path}", json=body, headers=headers) as response:
                assert response.status == 201, await response.text()
                return await response.json()

        police = await post("/organisations", {"name": "Police", "kind": "police"})
        publisher = (await post("/tokens", {"organisation_id": police["id"],
                                            "role": "publisher"}))["token"]
        orgs = [await post("/organisations", {"name": f"Tower {o}", "kind": "corporate",
                                              "sites": [INSIDE]})
                for o in range(organisations)]
        gate = asyncio.Semaphore(16)

        async def contact(n: int) -> None:
            async with gate:
                await post(f"/organisations/{orgs[n % organisations]['id']}/contacts",
                           {"name": f"Guard {n}", "email": f"guard{n}@example.org"})

        await asyncio.gather(*(contact(n) for n in range(contacts)))
        body = alert_body()
        del body["expires"]  # the processes run on the real clock, not the tests' one
        alert = await post("/alerts", body, {"Authorization": f"Bearer {publisher}"})
        return str(alert["id"])


async def until(condition: Callable[[], bool], limit_s: float) -> float:
    """Seconds until `condition` holds, polled every 20 ms; fails past `limit_s`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit_s:
            raise AssertionError(f"not within {limit_s} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def metrics_of(base: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as response:
        assert response.status == 200
        return await response.text()
