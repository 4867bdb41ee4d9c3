"""A hub killed with SIGKILL between sending a frame and recording it: the desk's resume
mends the record, and nothing is sent twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import ADMIN_TOKEN, INSIDE, alert_body
from tests.hub.live_api import free_port
from tests.hub.outbox_processes import start


async def test_a_crash_between_send_and_record_is_mended_by_the_resume(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/vigil.db",
           "VIGIL_DATA_DIR": str(tmp_path / "data"), "VIGIL_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
           "VIGIL_APPROVAL_FOR": "none"}
    with (tmp_path / "hub.log").open("wb") as log:
        hub = await start(["serve", "--port", str(port)], env, log, f"{base}/healthz")
        try:
            async with aiohttp.ClientSession() as http:
                async def call(method: str, path: str, token: str, body: Any = None) -> Any:
                    async with http.request(method, f"{base}/api/v1{path}", json=body,
                                            headers={"Authorization": f"Bearer {token}"}) as r:
                        assert r.status in (200, 201), await r.text()
                        return await r.json()

                police = await call("POST", "/organisations", ADMIN_TOKEN,
                                    {"name": "Police", "kind": "police", "sites": []})
                publisher = (await call("POST", "/tokens", ADMIN_TOKEN, {
                    "organisation_id": police["id"], "role": "publisher"}))["token"]
                partner = await call("POST", "/organisations", ADMIN_TOKEN, {
                    "name": "Bay Tower", "kind": "corporate", "sites": [INSIDE]})
                desk = (await call("POST", "/tokens", ADMIN_TOKEN, {
                    "organisation_id": partner["id"], "role": "partner"}))["token"]
                auth = {"Authorization": f"Bearer {desk}"}
                ws = await http.ws_connect(f"{base}/api/v1/feed", headers=auth)
                await ws.send_json({"type": "resume", "since": 0})
                assert (await ws.receive_json(timeout=10))["type"] == "replayed"
                expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
                created = await call("POST", "/alerts", publisher, alert_body(expires=expires))
                frame = await ws.receive_json(timeout=10)
                assert frame["seq"] == created["seq"]
                hub.send_signal(signal.SIGKILL)  # the frame is out; its record may not be
                await hub.wait()
                await ws.close()
            hub = await start(["serve", "--port", str(port)], env, log, f"{base}/healthz")
            async with aiohttp.ClientSession() as http:
                ws = await http.ws_connect(f"{base}/api/v1/feed", headers=auth)
                await ws.send_json({"type": "resume", "since": frame["seq"]})
                marker = await ws.receive_json(timeout=10)
                assert (marker["type"], marker["count"]) == ("replayed", 0)  # nothing twice
                with_status = None
                for _ in range(100):
                    async with http.get(f"{base}/api/v1/alerts/{created['id']}/deliveries",
                                        headers={"Authorization": f"Bearer {publisher}"}) as r:
                        rows = json.loads(await r.text())
                    with_status = next(d for d in rows if d["channel"] == "feed")
                    if with_status["status"] == "delivered":
                        break
                    await asyncio.sleep(0.1)
                assert with_status is not None and with_status["status"] == "delivered"
                await ws.close()
        finally:
            if hub.returncode is None:
                hub.send_signal(signal.SIGTERM)
                await hub.wait()
