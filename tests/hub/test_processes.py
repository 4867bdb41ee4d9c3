"""`vigil web --processes 2`: two real web processes on one port, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import INSIDE, alert_body, next_frame
from tests.demo_process import VIGIL, wait_healthy
from tests.hub.live_api import free_port
from tests.services import fresh_postgres_database, redis_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ADMIN = "processes-admin-token-0123456789"


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def listeners(port: int) -> int:
    """How many sockets listen on this port (state 0A in /proc/net/tcp)."""
    return sum(1 for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
               if int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A")


def serving_pid(pids: list[int], server_port: int, client_port: int) -> int:
    """Which process holds the server end of the connection from `client_port`."""
    inodes: dict[str, int] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with_target = os.readlink(fd) if fd.is_symlink() else ""
            if with_target.startswith("socket:["):
                inodes[with_target[8:-1]] = pid
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if (int(local.split(":")[1], 16) == server_port
                and int(remote.split(":")[1], 16) == client_port and inode in inodes):
            return inodes[inode]
    raise AssertionError(f"no process holds the connection from port {client_port}")


@pytest.fixture
async def two_processes(tmp_path: Path) -> AsyncIterator[tuple[str, int, Any]]:
    broker = await redis_url()
    async for url in fresh_postgres_database():
        port = free_port()
        env = {**os.environ, "VIGIL_DATABASE_URL": url, "VIGIL_BROKER_URL": broker,
               "VIGIL_BOOTSTRAP_TOKEN": ADMIN, "VIGIL_DATA_DIR": str(tmp_path / "data"),
               "VIGIL_SECRET_KEY": "processes-test-secret"}
        process = await asyncio.create_subprocess_exec(
            *VIGIL, "web", "--processes", "2", "--port", str(port), env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(f"{base}/healthz", process)
            for _ in range(300):  # both children listening
                if listeners(port) == 2:
                    break
                await asyncio.sleep(0.1)
            yield base, port, process
        finally:
            process.send_signal(signal.SIGTERM)
            # The supervisor exits once its children have: the database can be dropped.
            assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_two_web_processes_on_one_port_both_serve_desks_and_both_deliver(
        two_processes: tuple[str, int, Any]) -> None:
    base, port, process = two_processes
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async def post(path: str, body: dict[str, Any], token: str = ADMIN) -> Any:
            async with http.post(f"{base}/api/v1{path}", json=body,
                                 headers={"Authorization": f"Bearer {token}"}) as answer:
                assert answer.status == 201, await answer.text()
                return await answer.json()

        police = await post("/organisations", {"name": "Police", "kind": "police", "sites": []})
        publisher = (await post("/tokens", {"organisation_id": police["id"],
                                            "role": "publisher"}))["token"]
        partner = await post("/organisations", {"name": "Bay Tower", "kind": "corporate",
                                                "sites": [INSIDE]})
        desk = (await post("/tokens", {"organisation_id": partner["id"],
                                       "role": "partner"}))["token"]
        pids = children(process.pid)
        assert len(pids) == 2
        sockets, served_by = [], set()
        for _ in range(24):
            ws = await http.ws_connect(f"{base}/api/v1/feed",
                                       headers={"Authorization": f"Bearer {desk}"})
            await ws.send_json({"type": "resume", "since": 0})
            assert (await ws.receive_json(timeout=10))["type"] == "replayed"
            sockets.append(ws)
            served_by.add(serving_pid(pids, port, ws.get_extra_info("sockname")[1]))
        assert served_by == set(pids)  # the kernel spread the desks over both processes
        for n in range(4):  # published on whichever process takes each POST
            body = alert_body(headline=f"Alert {n}",
                              expires=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
            created = await post("/alerts", body, publisher)
            for ws in sockets:
                frame = await next_frame(ws, 10)
                assert (frame["seq"], frame["alert"]["id"]) == (created["seq"], created["id"])
        for ws in sockets:
            await ws.close()
        async with http.get(f"{base}/healthz", headers=headers) as health:
            assert (await health.json())["feed"]["status"] == "ok"


async def test_several_processes_need_the_broker(tmp_path: Path) -> None:
    env = {**os.environ, "VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/v.db"}
    env.pop("VIGIL_BROKER_URL", None)
    process = await asyncio.create_subprocess_exec(
        *VIGIL, "web", "--processes", "2", "--port", str(free_port()), env=env,
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"VIGIL_BROKER_URL" in err
