"""The `vigil` command: db upgrade, audit verify, and serve as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from hub import audit, db
from hub.cli import main
from hub.demo import SAMPLE_DESK, sample_alert
from tests.conftest import next_frame
from tests.demo_process import VIGIL, running_demo


def write_events(path: Path, count: int) -> None:
    async def run() -> None:
        engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
        async with db.session_factory(engine)() as session:
            for n in range(count):
                await audit.record(session, "token:test", "alert.publish", f"alert-{n}",
                                   {"n": n})
                await session.commit()
        await engine.dispose()

    asyncio.run(run())


def test_db_upgrade_creates_the_schema(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "newest schema" in capsys.readouterr().out
    tables = {row[0] for row in sqlite3.connect(database).execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alert", "delivery", "organisation", "audit_event"} <= tables


def test_audit_verify_passes_an_intact_trail(database: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    write_events(database, 5)
    assert main(["audit", "verify"]) == 0
    assert "intact: 5 events" in capsys.readouterr().out


def test_audit_verify_names_a_tampered_row(database: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    write_events(database, 5)
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE audit_event SET subject = 'forged' WHERE id = 3")
    assert main(["audit", "verify"]) == 1
    assert "event 3" in capsys.readouterr().err


def test_audit_verify_notices_deleted_rows(database: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    main(["db", "upgrade"])
    write_events(database, 5)
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM audit_event WHERE id = 5")
    assert main(["audit", "verify"]) == 1
    assert "deleted" in capsys.readouterr().err
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM audit_event WHERE id = 2")
    assert main(["audit", "verify"]) == 1
    assert "event 3" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bytes(response.read())
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{url} never answered")


def test_serve_runs_migrates_and_answers_health(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db",
           "VIGIL_DATA_DIR": str(tmp_path / "data")}
    with (tmp_path / "serve.log").open("wb") as log, subprocess.Popen(
            [*VIGIL, "serve", "--port", str(port)], env=env, stdout=log,
            stderr=subprocess.STDOUT) as process:
        try:
            body = wait_for(f"http://127.0.0.1:{port}/healthz", process)
            assert b'"ok"' in body
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=10)
    assert (tmp_path / "s.db").exists()
    assert f"Running on http://127.0.0.1:{port}" in (tmp_path / "serve.log").read_text()


async def test_demo_process_publish_feed_and_ack_end_to_end(tmp_path: Path) -> None:
    """The contract surface as a new user meets it: `vigil demo`, then the printed tokens."""
    async with running_demo(tmp_path) as demo:
        publisher = demo.token("publisher", "Toronto Police Service")
        desk = demo.token("partner", SAMPLE_DESK)
        base = f"{demo.url}/api/v1"
        async with aiohttp.ClientSession() as http, http.ws_connect(
                f"{base}/feed", headers={"Authorization": f"Bearer {desk}"}) as ws:
            await ws.send_json({"type": "resume", "since": 0})
            async with http.post(f"{base}/alerts", json=sample_alert(datetime.now(UTC)),
                                 headers={"Authorization": f"Bearer {publisher}"}) as posted:
                assert posted.status == 201
                created = await posted.json()
            frame = await next_frame(ws)
            assert (frame["type"], frame["alert"]["id"]) == ("alert", created["id"])
            await ws.send_json({"type": "ack", "alert_id": created["id"],
                                "status": "acknowledged"})
            assert (await next_frame(ws))["type"] == "acked"
            async with http.get(f"{base}/alerts/{created['id']}/acks",
                                headers={"Authorization": f"Bearer {publisher}"}) as acks:
                assert [a["status"] for a in json.loads(await acks.text())] == [
                    "acknowledged"]


