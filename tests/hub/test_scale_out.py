"""Scale-out: two web processes on one PostgreSQL database, woken through Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from hub.app import create_app
from hub.settings import Settings
from tests.conftest import INSIDE, Clock, Hub, next_frame
from tests.services import fresh_postgres_database, redis_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def pg_settings(settings: Settings) -> AsyncIterator[Settings]:
    broker = await redis_url()
    async for url in fresh_postgres_database():
        yield replace(settings, database_url=url, broker_url=broker)


async def test_alert_published_on_one_process_reaches_a_desk_on_another(
        aiohttp_client: Any, pg_settings: Settings, clock: Clock) -> None:
    # The feed's database poll is a safety net every 5 s; arriving well inside that proves
    # the Redis wake-up did the work. Process B starts after A has migrated the database.
    web_a = Hub(await aiohttp_client(create_app(pg_settings, clock=clock, worker=False)), clock)
    web_b = Hub(await aiohttp_client(
        create_app(pg_settings, clock=clock, migrate=False, worker=False)), clock)
    publisher = await web_a.publisher()
    _, desk = await web_a.partner("Bay Tower Security", INSIDE)
    ws = await web_b.client.ws_connect("/api/v1/feed", headers=web_b.auth(desk))
    await ws.send_json({"type": "resume", "since": 0})
    await asyncio.sleep(0.5)  # B's desk is live and B's feed is idle, waiting on a wake-up
    only_a = await web_a.publish(publisher, headline="Published on A only")
    assert (await next_frame(ws, 3))["seq"] == only_a["seq"]
    published = await asyncio.gather(*(
        (web_a if n % 2 else web_b).publish(publisher, headline=f"Alert {n}") for n in range(12)
    ))
    expected = sorted(p["seq"] for p in published)
    got = []
    for _ in expected:
        got.append((await next_frame(ws, 4))["seq"])
    assert got == expected  # every alert, once, in seq order, across both processes
    await ws.send_json({"type": "ack", "alert_id": published[0]["id"], "status": "received"})
    assert (await next_frame(ws, 4))["type"] == "acked"
    acks = await web_a.call("GET", f"/api/v1/alerts/{published[0]['id']}/acks", publisher)
    assert [a["status"] for a in acks] == ["received"]
    await ws.close()
