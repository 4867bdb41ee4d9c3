"""Outbound deliveries written after the publish: one fanout row in the publish
transaction, its Delivery rows written exactly once by whoever settles it first."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import func, select

from channels.registry import Registry
from hub import db, fanout
from hub.access import Principal
from hub.alerts import read_alert
from hub.http import SESSIONS
from hub.models import Delivery, Fanout
from hub.publish import publish
from hub.settings import Settings
from partners.models import Contact, Organisation, Role, Site, Tier
from tests.conftest import INSIDE, OUTSIDE, Hub, alert_body
from tests.hub.conftest import scrape
from tests.services import fresh_postgres_database

EMAIL_ON = Registry.of(Settings(smtp_url="smtp://127.0.0.1:25"))


async def count(hub: Hub, table: type) -> int:
    async with hub.client.app[SESSIONS]() as session:
        return int((await session.exec(select(func.count()).select_from(table))).one())


async def test_a_publish_writes_its_emails_as_one_fanout_that_a_reader_settles_once(
        hub: Hub) -> None:
    publisher = await hub.publisher()
    org = await hub.organisation("Bay St Tower", "corporate", [INSIDE])
    for n in range(3):
        await hub.contact(org, f"Guard {n}")
    alert = await hub.publish(publisher)
    assert alert["targets"]["contacts"] == 3
    # No worker runs in this hub: the publish wrote the desk's row and one fanout.
    assert await count(hub, Delivery) == 1 and await count(hub, Fanout) == 1
    for _ in range(2):  # the first read writes the rows, the second finds them
        rows = await hub.call("GET", f"/api/v1/alerts/{alert['id']}/deliveries", publisher,
                              expect=200)
        assert Counter(r["channel"] for r in rows) == {"email": 3, "feed": 1}
        assert {r["status"] for r in rows} == {"pending"}
    assert await count(hub, Delivery) == 4 and await count(hub, Fanout) == 0


async def test_deliveries_not_yet_written_are_due_in_metrics_and_readiness(hub: Hub) -> None:
    publisher = await hub.publisher()
    org = await hub.organisation("Bay St Tower", "corporate", [INSIDE])
    for n in range(3):
        await hub.contact(org, f"Guard {n}")
    await hub.publish(publisher)
    assert await count(hub, Fanout) == 1
    assert (await scrape(hub))["vigil_outbox_due"] == {(("channel", "email"),): 3.0}
    ready = await hub.client.get("/readyz")
    assert (await ready.json())["outbox"]["due"] == {"email": 3}


async def test_an_update_straight_after_the_publish_reaches_its_email_contacts(
        hub: Hub) -> None:
    publisher = await hub.publisher()
    org = await hub.organisation("Bay St Tower", "corporate", [INSIDE])
    await hub.contact(org, "Tower Desk")
    alert = await hub.publish(publisher)
    # The update's area leaves the tower out; it still reaches whom the alert reached,
    # whose email rows were a fanout not yet written when the update came.
    lat, lon = OUTSIDE["lat"], OUTSIDE["lon"]
    elsewhere = {"type": "Polygon", "coordinates": [[
        [lon - 0.001, lat - 0.001], [lon + 0.001, lat - 0.001], [lon + 0.001, lat + 0.001],
        [lon - 0.001, lat + 0.001], [lon - 0.001, lat - 0.001]]]}
    update = await hub.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher,
                            expect=201, json={"headline": "Moved north", "area": elsewhere})
    rows = await hub.call("GET", f"/api/v1/alerts/{update['id']}/deliveries", publisher,
                          expect=200)
    assert Counter(r["channel"] for r in rows) == {"email": 1, "feed": 1}


async def test_a_contact_with_deliveries_still_to_be_written_is_kept_as_history(
        hub: Hub) -> None:
    publisher = await hub.publisher()
    org = await hub.organisation("Bay St Tower", "corporate", [INSIDE])
    contact = await hub.contact(org, "Tower Desk")
    await hub.publish(publisher)
    answer = await hub.call("DELETE", f"/api/v1/contacts/{contact}", expect=409)
    assert answer["error"] == "referenced" and "deliveries" in answer["detail"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/fanout.db"
        return
    async for url in fresh_postgres_database():
        yield url


async def test_two_settlers_at_once_write_each_delivery_exactly_once(
        database_url: str) -> None:
    # Two processes' engines on one database: a worker settling the oldest fanouts
    # (SKIP LOCKED) and a reader settling one alert's, at the same time.
    engines = [db.create_engine(database_url) for _ in range(2)]
    try:
        await db.upgrade(engines[0])
        sessions = [db.session_factory(engine) for engine in engines]
        async with sessions[0]() as session:
            police = Organisation(name="Police", kind="police")
            tower = Organisation(name="Tower", kind="corporate")
            session.add_all([police, tower])
            await session.flush()
            session.add(Site(organisation_id=tower.id, **INSIDE))
            session.add_all(Contact(organisation_id=tower.id, name=f"Guard {n:03d}",
                                    tier=Tier.PRIMARY,
                                    addresses={"email": f"guard{n}@example.org"})
                            for n in range(200))
            await session.commit()
        now = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
        principal = Principal(actor="token:test", role=Role.PUBLISHER,
                              organisation_id=police.id, contact_id=None, hub_admin=False)
        alerts = []
        for _ in range(5):
            async with sessions[0]() as session:
                published = await publish(session, principal, read_alert(alert_body(), now),
                                          now, EMAIL_ON)
                alerts.append(published.alert.id)

        async def worker() -> int:
            async with sessions[0]() as session:
                settled = await fanout.settle(session, limit=fanout.BATCH)
                await session.commit()
                return settled

        async def reader() -> int:
            async with sessions[1]() as session:
                settled = await fanout.settle(session, alerts)
                await session.commit()
                return settled

        settled = await asyncio.gather(worker(), reader())
        assert sum(settled) == 5
        async with sessions[0]() as session:
            rows = (await session.exec(select(Delivery.alert_id, Delivery.channel))).all()
            assert (await session.exec(select(func.count()).select_from(Fanout))).one() == 0
        assert Counter(alert for alert, channel in rows if channel == "email") == {
            alert: 200 for alert in alerts}
    finally:
        for engine in engines:
            await engine.dispose()
