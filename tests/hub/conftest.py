"""Fixtures for outbox tests: a real SMTP server, a real chat webhook, a hub with its worker."""

from __future__ import annotations

import asyncio
import email
import logging
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from email.message import Message as EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col, select

from hub.app import DISPATCHER, ESCALATOR, create_app
from hub.http import SESSIONS
from hub.models import DeliveryAttempt
from hub.settings import Settings
from tests.conftest import Clock, Hub
from tests.hub.live_api import Server, ServerLog, free_port
from tests.services import fresh_postgres_database


@pytest.fixture
def server_log() -> Iterator[ServerLog]:
    handler = ServerLog()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.fixture
def server(make_app: Callable[..., web.Application]) -> Iterator[Server]:
    running = Server(make_app())
    running.start()
    yield running
    running.stop()


@dataclass
class Sink:
    """An SMTP server that keeps what it accepts and refuses whom it is told to."""

    port: int
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    messages: list[EmailMessage] = field(default_factory=list)
    controller: Controller | None = None
    delay_s: float = 0.0  # before each DATA is answered
    receiving: threading.Event = field(default_factory=threading.Event)  # a DATA under way

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        await asyncio.sleep(self.delay_s)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def subscription_secret(self) -> str:
        """The secret of the newest subscription link emailed (notices go in the background)."""
        for _ in range(100):
            if self.messages:
                body = self.messages[-1].get_payload(decode=True)
                assert isinstance(body, bytes)
                found = re.search(r"/subscribe/confirm/(vgs_[\w-]+)", body.decode())
                assert found is not None, body
                return found.group(1)
            await asyncio.sleep(0.05)
        raise AssertionError("no confirmation email arrived")

    def recipients(self) -> Counter[str]:
        return Counter(str(m["To"]) for m in self.messages)


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def webhook(aiohttp_server: Any) -> AsyncIterator[tuple[str, Counter[str]]]:
    hits: Counter[str] = Counter()

    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        assert body["title"] and body["message"]
        hits[request.match_info["room"]] += 1
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hooks/{room}", receive)
    server = await aiohttp_server(app)
    yield f"json://127.0.0.1:{server.port}/hooks", hits


@pytest.fixture
def working_hub(aiohttp_client: Any, make_app: Callable[..., web.Application],
                clock: Clock) -> Callable[[int], Any]:
    async def start(smtp_port: int) -> Hub:
        app = make_app(worker=True, smtp_url=f"smtp://127.0.0.1:{smtp_port}")
        hub = Hub(await aiohttp_client(app), clock)
        hub.client.app[DISPATCHER].rand = lambda: 0.5  # the only randomness: retry jitter
        # Tests move the clock and fire timers themselves, so stop the background scheduler.
        await hub.client.app[ESCALATOR].close()
        return hub
    return start


async def wait_rows(hub: Hub, token: str, alert_id: str,
                    done: Callable[[list[Any]], bool], rounds: int = 300) -> list[Any]:
    """Poll the alert's outbound deliveries until `done` holds (a bounded wait)."""
    rows: list[Any] = []
    for _ in range(rounds):
        rows = [r for r in await hub.call("GET", f"/api/v1/alerts/{alert_id}/deliveries", token)
                if r["channel"] != "feed"]
        if done(rows):
            return rows
        hub.client.app[DISPATCHER].notify()
        await asyncio.sleep(0.05)
    pytest.fail(f"deliveries never reached the expected state: {rows}")


async def settled(hub: Hub, token: str, alert_id: str) -> list[Any]:
    return await wait_rows(hub, token, alert_id,
                           lambda rows: all(r["status"] not in ("pending", "failed") for r in rows))


Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


async def scrape(hub: Hub) -> Samples:
    """/metrics, parsed as Prometheus would: {sample name: {sorted labels: value}}."""
    response = await hub.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    return samples


async def attempts_of(hub: Hub) -> list[DeliveryAttempt]:
    async with hub.client.app[SESSIONS]() as session:
        return list((await session.exec(select(DeliveryAttempt)
                                        .order_by(col(DeliveryAttempt.id)))).all())


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend_hub(request: pytest.FixtureRequest, aiohttp_client: Any, settings: Settings,
                      clock: Clock) -> AsyncIterator[Hub]:
    if request.param == "sqlite":
        yield Hub(await aiohttp_client(create_app(settings, clock=clock, worker=False)), clock)
        return
    async for url in fresh_postgres_database():
        yield Hub(await aiohttp_client(create_app(replace(settings, database_url=url),
                                                  clock=clock, worker=False)), clock)
