"""`vigil demo` as a real process on a free port, as a new user starts it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.hub.live_api import free_port

VIGIL = [sys.executable, "-c", "import sys; from hub.cli import main; sys.exit(main())"]


@dataclass
class DemoProcess:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def printed(self) -> str:
        return self.log.read_text()

    def token(self, role: str, organisation: str) -> str:
        """A token from the table the demo printed."""
        row = rf"^\s+{role}\s+{re.escape(organisation)}\s+(vgl_\S+)$"
        found = re.search(row, self.printed, re.MULTILINE)
        assert found, f"no {role} token for {organisation} in:\n{self.printed}"
        return found.group(1)


async def wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process.returncode is not None:
                pytest.fail(f"the server exited with {process.returncode}")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"{url} never answered")


@contextlib.asynccontextmanager
async def running_demo(tmp_path: Path, **env: str) -> AsyncIterator[DemoProcess]:
    """`vigil demo` on SQLite in `tmp_path`, healthy; stopped with SIGINT afterwards."""
    port = free_port()
    environment = {**os.environ, "VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/demo.db",
                   "VIGIL_DATA_DIR": str(tmp_path / "data"), **env}
    demo = DemoProcess(port, tmp_path / "demo.log")
    with demo.log.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *VIGIL, "demo", "--port", str(port), env=environment, stdout=log,
            stderr=subprocess.STDOUT)
        try:
            await wait_healthy(f"{demo.url}/healthz", process)
            yield demo
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 10)
