"""A plain install works (issue 14.9): the wheel, installed in a fresh virtual environment,
serves the pages and finds its mail templates from an empty folder, far from this checkout."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import aiohttp
import pytest

from tests.demo_process import wait_healthy
from tests.hub.live_api import free_port

ROOT = Path(__file__).resolve().parents[1]
# Signed out, the pages of people who sign in send them to /login or answer 401 with a
# page of their own: each a rendered template.
PAGES = ["/", "/login", "/subscribe", "/public", "/desk", "/account", "/approvals",
         "/organisation", "/feeds/alerts.atom", "/static/console.css", "/static/desk.css",
         "/services", "/static/services.css"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a new venv holding the wheel built from this checkout (its
    dependencies come from this interpreter's site-packages; the wheel's own files win)."""
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"  # a clean copy: no build/ left from an earlier build
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", "test-artefacts", "__pycache__", ".venv"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(folder / "dist"), str(source)], check=True)
    venv.create(folder / "venv", system_site_packages=True, with_pip=True)
    python = folder / "venv" / "bin" / "python"
    wheel = next((folder / "dist").glob("vigil-*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--force-reinstall", str(wheel)], check=True)
    return python


def run_in(python: Path, folder: Path, code: str) -> str:
    return subprocess.run([str(python), "-c", code], cwd=folder, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_the_wheel_is_what_runs_and_it_carries_templates_static_files_and_migrations(
        installed: Path, tmp_path: Path) -> None:
    where = run_in(installed, tmp_path, "import hub, templates; print(hub.__file__)")
    assert str(installed.parents[1]) in where and str(ROOT) not in where
    mail = run_in(installed, tmp_path, (
        "from hub.messages import TEMPLATES; import pathlib;"
        "print(sorted(p.name for p in (TEMPLATES / 'messages').iterdir()))"))
    assert "alert.txt" in mail and "alert.html" in mail


async def test_the_installed_hub_serves_every_page_from_an_empty_folder(
        installed: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {"PATH": str(installed.parent), "HOME": str(tmp_path),
           "VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/vigil.db",
           "VIGIL_DATA_DIR": str(tmp_path / "data"), "VIGIL_SECRET_KEY": "wheel-test",
           "VIGIL_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    process = await asyncio.create_subprocess_exec(
        str(installed), "-m", "hub.cli", "serve", "--port", str(port), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        async with aiohttp.ClientSession() as http:
            for page in PAGES:
                async with http.get(f"http://127.0.0.1:{port}{page}",
                                    allow_redirects=False) as response:
                    assert response.status in (200, 302, 303, 401), (page, response.status)
                    if response.status in (200, 401):
                        assert len(await response.read()) > 100, page
    finally:
        process.terminate()
        await process.wait()
