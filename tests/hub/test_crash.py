"""A hub killed with SIGKILL in the middle of a fan-out loses nothing and repeats nothing."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiosmtpd.controller import Controller

from tests.conftest import ADMIN_TOKEN, INSIDE, alert_body
from tests.hub.conftest import Sink, free_port
from tests.hub.test_cli import VIGIL, wait_healthy

CONTACTS = 200
PAUSE_AT = 30


class PausingSink:
    """Accepts mail, but holds the PAUSE_AT-th message mid-DATA until told to go on; that
    message is then refused (451), as if the connection died before acceptance."""

    def __init__(self) -> None:
        self.accepted: list[email.message.Message] = []
        self.paused = threading.Event()
        self.release = threading.Event()
        self.data_calls = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_calls += 1
        if self.data_calls == PAUSE_AT:
            self.paused.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            return "451 4.3.0 Connection lost mid-message"
        self.accepted.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


async def start_hub(env: dict[str, str], port: int, log: Any) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(*VIGIL, "serve", "--port", str(port),
                                                   env=env, stdout=log,
                                                   stderr=subprocess.STDOUT)
    await wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
    return process


async def enrol_and_publish(base: str) -> tuple[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession() as http:
        async def post(path: str, body: dict[str, Any], headers: dict[str, str] = admin) -> Any:
            async with http.post(f"{base}{path}", json=body, headers=headers) as response:
                assert response.status == 201, await response.text()
                return await response.json()

        police = await post("/organisations", {"name": "Police", "kind": "police"})
        publisher = (await post("/tokens", {"organisation_id": police["id"],
                                            "role": "publisher"}))["token"]
        for o in range(4):
            org = await post("/organisations", {"name": f"Tower {o}", "kind": "corporate",
                                                "sites": [INSIDE]})
            for c in range(CONTACTS // 4):
                await post(f"/organisations/{org['id']}/contacts",
                           {"name": f"Guard {o}-{c}", "email": f"g{o}-{c}@example.org"})
        body = alert_body()
        del body["expires"]  # the subprocess runs on the real clock, not the tests' one
        alert = await post("/alerts", body, {"Authorization": f"Bearer {publisher}"})
        return alert["id"], publisher


async def test_sigkill_mid_fan_out_then_restart_delivers_each_email_once(tmp_path: Path) -> None:
    sink = PausingSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    port = free_port()
    env = {**os.environ, "VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/crash.db",
           "VIGIL_DATA_DIR": str(tmp_path / "data"), "VIGIL_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
           "VIGIL_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "VIGIL_DELIVERY_LEASE_S": "2"}
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        with (tmp_path / "hub.log").open("wb") as log:
            first = await start_hub(env, port, log)
            alert_id, publisher = await enrol_and_publish(base)
            assert await asyncio.to_thread(sink.paused.wait, 30), "the fan-out never started"
            first.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(first.wait(), 10) == -signal.SIGKILL
            sent_before_crash = len(sink.accepted)
            sink.release.set()
            second = await start_hub(env, port, log)
            try:
                rows = await wait_all_sent(base, alert_id, publisher)
            finally:
                second.send_signal(signal.SIGINT)
                await asyncio.wait_for(second.wait(), 10)
    finally:
        sink.release.set()
        controller.stop()
    assert PAUSE_AT - 1 == sent_before_crash < CONTACTS  # it really died mid fan-out
    received = Counter(str(m["To"]) for m in sink.accepted)
    assert len(received) == CONTACTS and set(received.values()) == {1}
    assert len({str(m["Message-ID"]) for m in sink.accepted}) == CONTACTS
    assert Counter(r["status"] for r in rows) == {"sent": CONTACTS}


async def wait_all_sent(base: str, alert_id: str, publisher: str) -> list[Any]:
    rows: list[Any] = []
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            async with http.get(f"{base}/alerts/{alert_id}/deliveries",
                                headers={"Authorization": f"Bearer {publisher}"}) as response:
                rows = [r for r in await response.json() if r["channel"] == "email"]
            if rows and all(r["status"] == "sent" for r in rows):
                return rows
            await asyncio.sleep(0.1)
    statuses = Counter(r["status"] for r in rows)
    raise AssertionError(f"not every email was sent after the restart: {statuses}")


async def test_web_and_a_standalone_worker_deliver_together(tmp_path: Path) -> None:
    """The scale-out split: `vigil web` takes the publish, `vigil worker` sends the email."""
    sink = Sink(free_port())
    sink.start()
    port = free_port()
    env = {**os.environ, "VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/split.db",
           "VIGIL_DATA_DIR": str(tmp_path / "data"), "VIGIL_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
           "VIGIL_SMTP_URL": f"smtp://127.0.0.1:{sink.port}"}
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        with (tmp_path / "split.log").open("wb") as log:
            web = await asyncio.create_subprocess_exec(
                *VIGIL, "web", "--port", str(port), env=env, stdout=log,
                stderr=subprocess.STDOUT)
            await wait_healthy(f"http://127.0.0.1:{port}/healthz", web)
            worker = await asyncio.create_subprocess_exec(
                *VIGIL, "worker", env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                alert_id, publisher = await enrol_and_publish(base)
                rows = await wait_all_sent(base, alert_id, publisher)
            finally:
                for process in (worker, web):
                    process.send_signal(signal.SIGINT)
                    assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        sink.stop()
    assert len(rows) == CONTACTS
    assert len(sink.recipients()) == CONTACTS and set(sink.recipients().values()) == {1}
