"""Shared fixtures: a real hub over SQLite in tmp_path, driven through aiohttp's test client."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.settings import Settings

ADMIN_TOKEN = "test-admin-token-0123456789"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)

# King St W & Bay St, Toronto, and a square around it (lon, lat as GeoJSON says).
KING_AND_BAY = (43.6480, -79.3806)
SQUARE = [[-79.3830, 43.6465], [-79.3780, 43.6465], [-79.3780, 43.6495],
          [-79.3830, 43.6495], [-79.3830, 43.6465]]
INSIDE = {"name": "Bay St tower", "lat": 43.6481, "lon": -79.3805}
OUTSIDE = {"name": "Yorkville office", "lat": 43.6710, "lon": -79.3920}


PASSWORD = "correct horse battery staple"


class Clock:
    """The only thing tests control besides randomness: what time it is."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def alert_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "headline": "Suspicious package, King St W & Bay St", "event": "Suspicious package",
        "category": "Security", "severity": "Severe", "urgency": "Immediate",
        "certainty": "Observed", "tlp": "TLP:GREEN", "description": "Unattended bag.",
        "instruction": "Keep staff away from the north lobby.",
        "area": {"type": "Polygon", "coordinates": [SQUARE]},
        "expires": (NOW + timedelta(hours=2)).isoformat(), "ack_within_s": 300,
        "language": "en-CA",
    }
    body.update(overrides)
    return body


async def next_frame(ws: Any, wait_s: float = 5.0) -> dict[str, Any]:
    """The next frame of a feed socket, past the `replayed` marker that ends each resume."""
    while True:
        message = await ws.receive(timeout=wait_s)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frame = dict(json.loads(message.data))
        if frame.get("type") != "replayed":
            return frame


@dataclass
class Hub:
    """A running hub and shortcuts to enrol partners through its own API."""

    client: TestClient[Any, web.Application]
    clock: Clock

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, token: str = ADMIN_TOKEN,
                   expect: int | None = None, **kwargs: Any) -> Any:
        response = await self.client.request(method, path, headers=self.auth(token), **kwargs)
        data = await response.json()
        if expect is not None:
            assert response.status == expect, (response.status, data)
        return data

    async def organisation(self, name: str, kind: str = "corporate",
                           sites: list[dict[str, Any]] | None = None) -> str:
        data = await self.call("POST", "/api/v1/organisations", expect=201,
                               json={"name": name, "kind": kind, "sites": sites or []})
        return str(data["id"])

    async def contact(self, organisation_id: str, name: str, tier: str = "primary",
                      **addresses: str) -> str:
        body = {"name": name, "tier": tier, **addresses}
        if not addresses:
            body["email"] = f"{name.lower().replace(' ', '.')}@example.org"
        data = await self.call("POST", f"/api/v1/organisations/{organisation_id}/contacts",
                               expect=201, json=body)
        return str(data["id"])

    async def token(self, organisation_id: str, role: str, contact_id: str | None = None) -> str:
        body = {"organisation_id": organisation_id, "role": role}
        if contact_id:
            body["contact_id"] = contact_id
        data = await self.call("POST", "/api/v1/tokens", expect=201, json=body)
        return str(data["token"])

    async def partner(self, name: str, site: dict[str, Any]) -> tuple[str, str]:
        """An enrolled partner with one primary contact; returns (organisation id, token)."""
        org = await self.organisation(name, "corporate", [site])
        await self.contact(org, f"{name} Desk")
        return org, await self.token(org, "partner")

    async def publisher(self) -> str:
        org = await self.organisation("Toronto Police Service", "police")
        return await self.token(org, "publisher")

    async def person(self, organisation_id: str, role: str, email: str,
                     contact_id: str | None = None, password: str = PASSWORD) -> str:
        """A person with an account, invited by the hub admin; returns their user id."""
        body = {"organisation_id": organisation_id, "role": role, "email": email}
        if contact_id:
            body["contact_id"] = contact_id
        invitation = await self.call("POST", "/api/v1/invitations", expect=201, json=body)
        response = await self.client.post("/api/v1/invitations/accept", json={
            "token": invitation["token"], "name": email.split("@")[0], "password": password})
        assert response.status == 201, await response.text()
        return str((await response.json())["id"])

    async def publish(self, token: str, expect: int = 201, **overrides: Any) -> Any:
        return await self.call("POST", "/api/v1/alerts", token, expect=expect,
                               json=alert_body(**overrides))


@dataclass
class Browser:
    """One person's browser: its own cookie jar, sending Origin and the CSRF token as our
    pages do. Close it with `await browser.close()` (the `browsers` fixture does)."""

    http: aiohttp.ClientSession
    origin: str
    clock: Clock
    csrf: str = ""
    seed: str = ""  # the authenticator seed, once enrolled

    async def call(self, method: str, path: str, expect: int | None = None, *,
                   origin: str | None = "", csrf: str | None = "", **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if origin is not None:
            headers["Origin"] = origin or self.origin
        if csrf is not None and (csrf or self.csrf):
            headers["X-CSRF-Token"] = csrf or self.csrf
        async with self.http.request(method, self.origin + path, headers=headers,
                                     allow_redirects=False, **kwargs) as response:
            data = await response.json() if response.content_type == "application/json" \
                else await response.text()
            if expect is not None:
                assert response.status == expect, (response.status, data)
            if isinstance(data, dict) and "csrf_token" in data:
                self.csrf = data["csrf_token"]
            return data

    def code(self, offset_steps: int = 0) -> str:
        """The authenticator's code at the hub's (fake) time."""
        totp = pyotp.TOTP(self.seed)
        return totp.at(self.clock.now.timestamp() + offset_steps * totp.interval)

    async def sign_in(self, email: str, password: str = PASSWORD, expect: int = 201) -> Any:
        return await self.call("POST", "/api/v1/session", expect,
                               json={"email": email, "password": password})

    async def enrol(self) -> list[str]:
        """Set up the authenticator after a password sign-in; returns the recovery codes."""
        data = await self.call("POST", "/api/v1/session/mfa/enrol", 200)
        self.seed = data["secret"]
        done = await self.call("POST", "/api/v1/session/mfa/confirm", 200,
                               json={"code": self.code()})
        return list(done["recovery_codes"])

    def cookie(self, name: str) -> str | None:
        found = [m for m in self.http.cookie_jar if m.key == name]
        found.sort(key=lambda m: bool(m["domain"]))  # the hub's own cookie last
        return found[-1].value if found else None

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def browsers(hub: Hub) -> Any:
    """Make browsers against the test hub; each gets its own cookies."""
    opened: list[Browser] = []

    def make() -> Browser:
        origin = str(hub.client.make_url("/")).rstrip("/")
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, an IP address
        opened.append(Browser(aiohttp.ClientSession(cookie_jar=jar), origin, hub.clock))
        return opened[-1]

    yield make
    for browser in opened:
        await browser.close()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite file for the `vigil` command, named by the environment as a user would."""
    path = tmp_path / "cli.db"
    monkeypatch.setenv("VIGIL_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/vigil.db",
                    data_dir=tmp_path / "data", bootstrap_token=ADMIN_TOKEN,
                    # Email is on so outbox rows are written; nothing sends them yet.
                    smtp_url="smtp://127.0.0.1:1025",
                    feed_heartbeat_s=20.0,
                    # Approval has its own tests; elsewhere TLP:RED publishes at once.
                    approval_for="none")


@pytest.fixture
def make_app(settings: Settings, clock: Clock) -> Callable[..., web.Application]:
    def make(worker: bool = False, **overrides: Any) -> web.Application:
        # The delivery worker is off unless a test asks for it, so outbox rows stay put.
        return create_app(replace(settings, **overrides), clock=clock, worker=worker)
    return make


@pytest.fixture
async def hub(aiohttp_client: Any, make_app: Callable[..., web.Application],
              clock: Clock) -> Hub:
    return Hub(await aiohttp_client(make_app()), clock)
