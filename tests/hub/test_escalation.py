"""Escalation: an unanswered deadline alerts the secondary tier, an answer stops it."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from hub.app import DISPATCHER, ESCALATOR
from hub.http import SESSIONS
from hub.models import AuditEvent, Escalation
from tests.conftest import INSIDE, Clock, Hub, alert_body
from tests.hub.conftest import Sink, settled, wait_rows


async def enrol(hub: Hub) -> tuple[str, str]:
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.contact(org, "Primary Pat", email="pat@example.org")
    await hub.contact(org, "Second Sam", tier="secondary", email="sam@example.org")
    return org, await hub.token(org, "partner")


async def fire_due(hub: Hub) -> int:
    fired = int(await hub.client.app[ESCALATOR].run_once())
    hub.client.app[DISPATCHER].notify()
    return fired


async def test_missed_deadline_alerts_the_secondary_tier(working_hub: Any, sink: Sink,
                                                          clock: Clock) -> None:
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    org, _ = await enrol(hub)
    alert = await hub.publish(publisher, ack_within_s=300)
    await settled(hub, publisher, alert["id"])
    assert sorted(sink.recipients()) == ["pat@example.org"]
    clock.advance(299)
    assert await fire_due(hub) == 0  # not yet
    clock.advance(2)
    assert await fire_due(hub) == 1
    rows = await settled(hub, publisher, alert["id"])
    assert [(r["recipient"].split(" <")[0], r["reason"], r["status"]) for r in rows] == [
        ("Primary Pat", "publish", "sent"), ("Second Sam", "escalation", "sent")]
    assert sorted(sink.recipients()) == ["pat@example.org", "sam@example.org"]
    assert await fire_due(hub) == 0  # a fired timer never fires again
    async with hub.client.app[SESSIONS]() as session:
        events = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "alert.escalate"))).all()
    assert [(e.subject, e.detail["organisation_id"]) for e in events] == [(alert["id"], org)]


async def test_an_ack_before_the_deadline_means_no_escalation(working_hub: Any, sink: Sink,
                                                               clock: Clock) -> None:
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    _, desk = await enrol(hub)
    alert = await hub.publish(publisher, ack_within_s=300)
    clock.advance(120)
    await hub.call("POST", f"/api/v1/alerts/{alert['id']}/acks", desk, expect=201,
                   json={"status": "received"})
    clock.advance(3600)
    assert await fire_due(hub) == 0
    rows = await settled(hub, publisher, alert["id"])
    assert [r["reason"] for r in rows] == ["publish"]
    assert sorted(sink.recipients()) == ["pat@example.org"]
    async with hub.client.app[SESSIONS]() as session:
        timer = (await session.exec(select(Escalation))).one()
    assert timer.status == "cancelled" and timer.settled_by and timer.settled_by.startswith(
        "token:")


async def test_no_deadline_no_timer(hub: Hub) -> None:
    publisher = await hub.publisher()
    await enrol(hub)
    body = alert_body()
    del body["ack_within_s"]
    response = await hub.client.post("/api/v1/alerts", headers=hub.auth(publisher), json=body)
    assert response.status == 201
    async with hub.client.app[SESSIONS]() as session:
        assert (await session.exec(select(Escalation))).all() == []


async def test_timers_survive_a_restart(aiohttp_client: Any, make_app: Any, sink: Sink,
                                        clock: Clock) -> None:
    first = Hub(await aiohttp_client(make_app()), clock)  # no worker: it "crashes" idle
    publisher = await first.publisher()
    await enrol(first)
    alert = await first.publish(publisher, ack_within_s=60)
    await first.client.close()
    clock.advance(61)
    again = Hub(await aiohttp_client(make_app(worker=True,
                                              smtp_url=f"smtp://127.0.0.1:{sink.port}")), clock)
    again.client.app[DISPATCHER].rand = lambda: 0.5
    # The restarted process's own scheduler finds the overdue timer in the database.
    rows = await wait_rows(again, publisher, alert["id"], lambda rows: any(
        r["reason"] == "escalation" and r["status"] == "sent" for r in rows))
    assert [r["reason"] for r in rows].count("escalation") == 1
    await settled(again, publisher, alert["id"])
    assert sorted(sink.recipients()) == ["pat@example.org", "sam@example.org"]
    assert await fire_due(again) == 0
