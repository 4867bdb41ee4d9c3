"""The outbox end to end: real SMTP (aiosmtpd) and a real chat webhook, through the worker."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from sqlmodel import select

from hub.app import DISPATCHER, renderer
from hub.dispatch import Dispatcher, Timing
from hub.http import PUBLISHING, SESSIONS, SETTINGS
from hub.messages import Renderer
from hub.models import AuditEvent, Delivery
from tests.conftest import INSIDE, Clock, Hub
from tests.hub.conftest import Sink, attempts_of, free_port, scrape, settled, wait_rows


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


async def test_a_relay_outage_holds_the_mail_and_its_return_releases_it_at_once(
        working_hub: Any, clock: Clock) -> None:
    sink = Sink(free_port())  # nothing listens on this port yet
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    for n in range(5):
        await hub.contact(org, f"Guard {n}", email=f"guard{n}@example.org")
    alert = await hub.publish(publisher)
    rows = await wait_rows(hub, publisher, alert["id"], lambda rows: all(
        r["status"] == "failed" and r["attempts"] == 1 for r in rows))
    assert all("127.0.0.1" in r["last_error"] for r in rows)
    metrics = await scrape(hub)
    assert metrics["vigil_circuit_open"] == {
        (("channel", "email"), ("route", f"smtp://127.0.0.1:{sink.port}")): 1.0}
    # While the breaker is open nothing is tried again, however long the outage (the
    # clock passes every backoff) and however often the worker looks.
    for _ in range(10):
        clock.advance(120)
        hub.client.app[DISPATCHER].notify()
        await asyncio.sleep(0.05)
    assert len(await attempts_of(hub)) == 5
    sink.start()  # the relay is back: the next probe (a second apart) finds it
    try:
        rows = await wait_rows(hub, publisher, alert["id"],
                               lambda rows: all(r["status"] == "sent" for r in rows), rounds=100)
    finally:
        sink.stop()
    assert [(r["status"], r["attempts"], r["last_error"]) for r in rows] == [
        ("sent", 2, None)] * 5
    assert sorted(sink.recipients()) == [f"guard{n}@example.org" for n in range(5)]
    assert set(sink.recipients().values()) == {1}
    attempts = await attempts_of(hub)
    assert [a.ok for a in attempts] == [False] * 5 + [True] * 5
    metrics = await scrape(hub)
    assert set(metrics["vigil_circuit_open"].values()) == {0.0}
    assert metrics["vigil_deliveries_total"][(("channel", "email"), ("status", "sent"))] == 5


async def test_a_relay_back_before_the_breaker_opens_is_retried_after_the_backoff(
        working_hub: Any, clock: Clock) -> None:
    sink = Sink(free_port())
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.contact(org, "Guard 0", email="guard0@example.org")  # one failure: no breaker
    alert = await hub.publish(publisher)
    await wait_rows(hub, publisher, alert["id"], lambda rows: rows[0]["status"] == "failed")
    assert set((await scrape(hub))["vigil_circuit_open"].values()) == {0.0}
    sink.start()
    try:
        await asyncio.sleep(0.3)
        assert sink.messages == []  # not before its backoff
        clock.advance(5)
        rows = await settled(hub, publisher, alert["id"])
    finally:
        sink.stop()
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 2)]


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


async def test_one_bad_address_never_delays_the_others_nor_opens_the_breaker(
        working_hub: Any, sink: Sink, clock: Clock) -> None:
    sink.refuse["gone@example.org"] = "550 5.1.1 No such user"
    sink.refuse["full@example.org"] = "452 4.2.2 Mailbox full"
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    for n in range(60):
        await hub.contact(org, f"Guard {n}", email=f"guard{n}@example.org")
    await hub.contact(org, "Gone", email="gone@example.org")
    await hub.contact(org, "Full", email="full@example.org")
    alert = await hub.publish(publisher)
    rows = await wait_rows(hub, publisher, alert["id"], lambda rows: all(
        r["status"] != "pending" for r in rows))
    by_name = {r["recipient"].split(" <")[0]: r for r in rows}
    assert (by_name.pop("Gone")["status"], by_name.pop("Full")["status"]) == ("dead", "failed")
    assert {(r["status"], r["attempts"]) for r in by_name.values()} == {("sent", 1)}
    metrics = await scrape(hub)
    assert set(metrics["vigil_circuit_open"].values()) == {0.0}
    assert metrics["vigil_deliveries_total"][(("channel", "email"), ("status", "sent"))] == 60
    assert metrics["vigil_deliveries_total"][(("channel", "email"), ("status", "dead"))] == 1
    assert len(sink.messages) == 60


async def test_a_live_worker_keeps_its_claim_however_long_the_send_takes(
        aiohttp_client: Any, make_app: Any, sink: Sink, clock: Clock) -> None:
    app = make_app(worker=True, smtp_url=f"smtp://127.0.0.1:{sink.port}", delivery_lease_s=0.6)
    hub = Hub(await aiohttp_client(app), clock)
    sink.delay_s = 3.0  # five leases
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.contact(org, "Slow Guard", email="slow@example.org")
    alert = await hub.publish(publisher)
    assert await asyncio.to_thread(sink.receiving.wait, 10)
    other = Dispatcher(app[SESSIONS], app[PUBLISHING].channels, renderer(app[SETTINGS]),
                       clock, timing=Timing(lease_s=0.6))
    for _ in range(5):
        clock.advance(0.5)
        for _ in range(100):  # the worker renews its lease on its own
            async with app[SESSIONS]() as session:  # (SQLite: one connection, share it)
                row = (await session.exec(select(Delivery).where(
                    Delivery.channel == "email"))).one()
            if row.claimed_until is not None and row.claimed_until > clock():
                break
            await asyncio.sleep(0.05)
        assert row.claimed_until is not None and row.claimed_until > clock()
        assert await other.run_once() == 0  # nobody else may take it meanwhile
    rows = await settled(hub, publisher, alert["id"])
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 1)]
    assert len(sink.messages) == 1


async def test_an_alert_that_expires_while_its_relay_is_down_is_never_sent_late(
        working_hub: Any, clock: Clock) -> None:
    sink = Sink(free_port())  # nothing listens yet
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    for n in range(4):
        await hub.contact(org, f"Guard {n}", email=f"guard{n}@example.org")
    alert = await hub.publish(publisher)  # expires two hours after the clock's now
    await wait_rows(hub, publisher, alert["id"], lambda rows: all(
        r["status"] == "failed" for r in rows))
    assert set((await scrape(hub))["vigil_circuit_open"].values()) == {1.0}
    clock.advance(3 * 3600)  # the outage outlasts the alert
    sink.start()  # the probe finds the relay back and releases the held rows
    try:
        rows = await wait_rows(hub, publisher, alert["id"],
                               lambda rows: all(r["status"] == "dead" for r in rows), rounds=100)
    finally:
        sink.stop()
    assert {r["last_error"] for r in rows} == {"the alert expired before it could be sent"}
    assert sink.messages == []


async def test_a_message_that_cannot_be_rendered_is_recorded_and_logged(
        working_hub: Any, sink: Sink, tmp_path: Any, caplog: Any) -> None:
    # As a plain install without its templates was: the worker must say so, on the row.
    hub = await working_hub(sink.port)
    hub.client.app[DISPATCHER].renderer = Renderer("http://127.0.0.1:8080", tmp_path)
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.contact(org, "Guard", email="guard@example.org")
    alert = await hub.publish(publisher)
    rows = await wait_rows(hub, publisher, alert["id"],
                           lambda rows: bool(rows) and rows[0]["status"] == "failed")
    assert "cannot render the message" in rows[0]["last_error"]
    assert "TemplateNotFound" in rows[0]["last_error"]
    assert any("cannot render the message" in record.message for record in caplog.records)
    assert sink.messages == []
