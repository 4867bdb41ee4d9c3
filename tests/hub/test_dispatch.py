"""The outbox end to end: real SMTP (aiosmtpd) and a real chat webhook, through the worker."""

from __future__ import annotations

import asyncio
import email
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlmodel import col, select

from hub.app import DISPATCHER
from hub.http import SESSIONS
from hub.models import AuditEvent, DeliveryAttempt
from tests.conftest import INSIDE, Clock, Hub


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Sink:
    """An SMTP server that keeps what it accepts and refuses whom it is told to."""

    port: int
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    messages: list[EmailMessage] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

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


async def attempts_of(hub: Hub) -> list[DeliveryAttempt]:
    async with hub.client.app[SESSIONS]() as session:
        return list((await session.exec(select(DeliveryAttempt)
                                        .order_by(col(DeliveryAttempt.id)))).all())


async def test_an_alert_reaches_200_contacts_by_email_and_chat_exactly_once(
        working_hub: Any, sink: Sink, webhook: tuple[str, Counter[str]]) -> None:
    hub = await working_hub(sink.port)
    chat_base, hits = webhook
    publisher = await hub.publisher()
    for o in range(20):
        org = await hub.organisation(f"Tower {o}", sites=[INSIDE])
        for c in range(10):
            await hub.contact(org, f"Guard {o}-{c}", email=f"guard{o}-{c}@example.org",
                              chat_url=f"{chat_base}/room-{o}-{c}")
    alert = await hub.publish(publisher)
    assert alert["targets"]["contacts"] == 200
    rows = await settled(hub, publisher, alert["id"])
    assert Counter(r["status"] for r in rows if r["channel"] != "feed") == {"sent": 400}
    assert all(r["attempts"] == 1 for r in rows if r["channel"] != "feed")
    assert len(sink.messages) == 200 and set(sink.recipients().values()) == {1}
    assert len(hits) == 200 and set(hits.values()) == {1}
    first = sink.messages[0]
    assert str(first["Subject"]).startswith("[TLP:GREEN] SEVERE: Suspicious package")
    text = next(p for p in first.walk() if p.get_content_type() == "text/plain")
    assert str(text.get_payload(decode=True).decode()).startswith("TLP:GREEN")
    assert {p.get_content_type() for p in first.walk()} >= {"text/plain", "text/html"}
    # Running the worker again sends nothing more: sent rows are never claimed again.
    assert await hub.client.app[DISPATCHER].run_once() == 0
    assert len(sink.messages) == 200


async def test_email_sent_after_the_smtp_server_comes_back(working_hub: Any, clock: Clock) -> None:
    sink = Sink(free_port())  # nothing listens on this port yet
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    for n in range(5):
        await hub.contact(org, f"Guard {n}", email=f"guard{n}@example.org")
    alert = await hub.publish(publisher)
    for tries in (1, 2):  # two failed rounds while the server is down
        rows = await wait_rows(hub, publisher, alert["id"], lambda rows, t=tries: all(
            r["status"] == "failed" and r["attempts"] == t for r in rows))
        assert all(r["last_error"] for r in rows)
        clock.advance(3600)  # past any backoff
    sink.start()
    try:
        rows = await settled(hub, publisher, alert["id"])
    finally:
        sink.stop()
    assert [(r["status"], r["attempts"], r["last_error"]) for r in rows] == [
        ("sent", 3, None)] * 5
    assert sorted(sink.recipients()) == [f"guard{n}@example.org" for n in range(5)]
    assert set(sink.recipients().values()) == {1}
    attempts = await attempts_of(hub)
    assert [a.ok for a in attempts] == [False] * 10 + [True] * 5
    assert all(a.error for a in attempts if not a.ok)


async def test_a_550_goes_dead_after_one_attempt_and_is_shown(working_hub: Any,
                                                              sink: Sink) -> None:
    sink.refuse["gone@example.org"] = "550 5.1.1 No such user"
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.contact(org, "Gone Guard", email="gone@example.org")
    await hub.contact(org, "Here Guard", email="here@example.org")
    alert = await hub.publish(publisher)
    rows = await settled(hub, publisher, alert["id"])
    by_name = {r["recipient"].split(" <")[0]: r for r in rows}
    assert by_name["Gone Guard"]["status"] == "dead"
    assert by_name["Gone Guard"]["attempts"] == 1
    assert "550" in by_name["Gone Guard"]["last_error"]
    assert by_name["Here Guard"]["status"] == "sent"
    async with hub.client.app[SESSIONS]() as session:
        dead = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "delivery.dead"))).all()
    assert [e.subject for e in dead] == [alert["id"]]


async def test_red_alert_never_reaches_a_chat_url(working_hub: Any, sink: Sink,
                                                  webhook: tuple[str, Counter[str]]) -> None:
    hub = await working_hub(sink.port)
    chat_base, hits = webhook
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.contact(org, "Ana Lima", email="ana@example.org", chat_url=f"{chat_base}/ana")
    await hub.contact(org, "Ops Room", chat_url=f"{chat_base}/ops")
    red = await hub.publish(publisher, tlp="TLP:RED")
    rows = await settled(hub, publisher, red["id"])
    assert [(r["channel"], r["status"]) for r in rows] == [("email", "sent")]
    green = await hub.publish(publisher, tlp="TLP:GREEN")
    await settled(hub, publisher, green["id"])
    assert hits == {"ana": 1, "ops": 1}  # only the GREEN alert reached the chat rooms
    assert [str(m["Subject"])[:9] for m in sink.messages] == ["[TLP:RED]", "[TLP:GREE"]
