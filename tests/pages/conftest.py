"""Browser tests: a real hub on a real port, Debian's Chromium driven by Playwright, a local
SMTP server, and screenshots of every page kept as test artefacts."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from hub.app import DISPATCHER, create_app
from hub.settings import Settings
from tests.conftest import ADMIN_TOKEN, PASSWORD, Clock, Hub
from tests.hub.conftest import Sink, free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As root in a container, with no network beyond loopback: no sandbox, no background calls.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTEFACTS = Path(os.environ.get("TEST_ARTEFACTS", "test-artefacts")) / "screenshots"


@dataclass
class Person:
    email: str
    password: str = PASSWORD
    seed: str = ""  # the authenticator's seed, for people who need a second factor


@dataclass
class LiveHub:
    """A hub serving on 127.0.0.1:<port>, with API shortcuts and a browser to drive it."""

    url: str
    api: Hub
    browser: Browser
    sink: Sink
    clock: Clock
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # script errors and CSP violations

    async def page(self, **options: Any) -> Page:
        """A new page in a new browser context: its own cookies, like a second person."""
        context = await self.browser.new_context(base_url=self.url, **options)
        self.contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: self.errors.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Failed to load resource" not in message.text
                else None)
        return page

    async def person(self, organisation_id: str, role: str, email: str,
                     contact_id: str | None = None) -> Person:
        """A person with an account; admins, publishers and approvers get an authenticator."""
        await self.api.person(organisation_id, role, email, contact_id)
        person = Person(email)
        if role in ("admin", "publisher", "approver"):
            person.seed = await self._enrol(email)
        return person

    async def _enrol(self, email: str) -> str:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            headers = {"Origin": self.url}

            async def call(path: str, body: Any = None) -> Any:
                async with http.post(self.url + path, json=body, headers=headers) as response:
                    data = await response.json()
                    assert response.status in (200, 201), data
                    if "csrf_token" in data:
                        headers["X-CSRF-Token"] = data["csrf_token"]
                    return data

            await call("/api/v1/session", {"email": email, "password": PASSWORD})
            seed = (await call("/api/v1/session/mfa/enrol"))["secret"]
            await call("/api/v1/session/mfa/confirm", {"code": self.code(seed, -1)})
        return str(seed)

    def code(self, seed: str, offset_steps: int = 0) -> str:
        """The authenticator code at the hub's clock; the sign-in page uses the next step,
        as enrolment used the one before (a used step is never accepted twice)."""
        totp = pyotp.TOTP(seed)
        return totp.at(self.clock.now.timestamp() + offset_steps * totp.interval)

    async def sign_in(self, page: Page, person: Person, *, here: bool = False) -> None:
        """Sign in through the pages, with the second factor when the person has one;
        `here`: on the sign-in page already open (a stranger sent there from a deep link)."""
        if not here:
            await page.goto("/login")
        await page.get_by_label("Email address").fill(person.email)
        await page.get_by_label("Password").fill(person.password)
        await page.get_by_role("button", name="Sign in").click()
        if person.seed:
            await page.wait_for_url(lambda url: "/login/mfa" in url)
            await page.get_by_label("Code from your authenticator app").fill(
                self.code(person.seed, 1))
            await page.get_by_role("button", name="Continue").click()
        await page.wait_for_url(lambda url: "/login" not in url)


async def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot of what the test saw, as a test artefact."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def sink() -> Any:
    server = Sink(free_port())
    server.start()
    yield server
    server.stop()


@contextlib.asynccontextmanager
async def running_hub(tmp_path: Path, sink: Sink, aiohttp_server: Any,
                      **overrides: Any) -> AsyncIterator[LiveHub]:
    """A hub on a free port with its worker, and Chromium to drive it; `overrides` change
    its settings (approval is off unless a test turns it on)."""
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs it (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    port, clock = free_port(), Clock()
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/vigil.db",
                        data_dir=tmp_path / "data", bootstrap_token=ADMIN_TOKEN,
                        smtp_url=f"smtp://127.0.0.1:{sink.port}",
                        public_url=f"http://127.0.0.1:{port}", approval_for="none",
                        tile_url="none")
    app = create_app(replace(settings, **overrides), clock=clock, worker=True)
    server = await aiohttp_server(app, port=port)
    app[DISPATCHER].rand = lambda: 0.5
    client: TestClient[Any, Any] = TestClient(server)
    await client.start_server()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        hub = LiveHub(f"http://127.0.0.1:{port}", Hub(client, clock), browser, sink, clock)
        try:
            yield hub
            # A page whose script failed, or that broke the CSP, fails its test.
            assert not hub.errors, hub.errors
        finally:
            for context in hub.contexts:
                await context.close()
            await browser.close()
            await client.close()


@pytest.fixture
async def live(tmp_path: Path, sink: Sink, aiohttp_server: Any) -> AsyncIterator[LiveHub]:
    async with running_hub(tmp_path, sink, aiohttp_server) as hub:
        yield hub
