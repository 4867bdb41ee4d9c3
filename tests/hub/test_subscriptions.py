"""Resident subscriptions over the API: double opt-in by email, own link only, rate limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlmodel import select

from hub.http import SESSIONS
from partners.models import Subscription
from tests.conftest import Clock, Hub
from tests.hub.conftest import Sink

HOME = {"email": "sam@resident.example", "lat": 43.6481, "lon": -79.3805, "radius_m": 500}


async def resident_hub(aiohttp_client: Any, make_app: Callable[..., web.Application],
                       clock: Clock, sink: Sink) -> Hub:
    return Hub(await aiohttp_client(make_app(smtp_url=f"smtp://127.0.0.1:{sink.port}")), clock)


async def test_double_opt_in_then_manage_with_the_link(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock,
        sink: Sink) -> None:
    hub = await resident_hub(aiohttp_client, make_app, clock, sink)
    answer = await hub.client.post("/api/v1/subscriptions", json=HOME)
    assert answer.status == 202 and (await answer.json())["status"] == "pending"
    secret = await sink.subscription_secret()
    assert sink.messages[-1]["To"] == HOME["email"]
    await hub.call("GET", "/api/v1/subscription", secret, expect=401)  # not confirmed yet
    confirmed = await hub.client.post("/api/v1/subscriptions/confirm", json={"token": secret})
    assert (await confirmed.json())["status"] == "active"
    mine = await hub.call("GET", "/api/v1/subscription", secret, expect=200)
    assert mine["radius_m"] == 500 and mine["email"] == HOME["email"]
    await hub.call("GET", "/api/v1/alerts", secret, expect=403)  # a resident is not staff
    await hub.call("DELETE", "/api/v1/subscription", secret, expect=200)
    await hub.call("GET", "/api/v1/subscription", secret, expect=401)


async def test_bad_sign_ups_are_refused_and_nothing_is_stored(hub: Hub) -> None:
    answer = await hub.call("POST", "/api/v1/subscriptions", expect=422, json={
        "email": "nope", "lat": 91, "lon": "x", "radius_m": 50_000, "name": "Sam"})
    assert set(answer["fields"]) == {"email", "lat", "lon", "radius_m", "name"}
    confirm = await hub.call("POST", "/api/v1/subscriptions/confirm", expect=404,
                             json={"token": "vgs_not-a-real-link"})
    assert set(confirm["fields"]) == {"token"}
    async with hub.client.app[SESSIONS]() as session:
        assert (await session.exec(select(Subscription))).all() == []


async def test_sign_up_is_rate_limited_per_address(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock,
        sink: Sink) -> None:
    hub = await resident_hub(aiohttp_client, make_app, clock, sink)
    statuses = []
    for n in range(6):
        response = await hub.client.post("/api/v1/subscriptions",
                                         json={**HOME, "email": f"r{n}@resident.example"})
        statuses.append(response.status)
    assert statuses == [202] * 5 + [429]
    assert int(response.headers["Retry-After"]) >= 1
    hub.clock.advance(int(response.headers["Retry-After"]))
    again = await hub.client.post("/api/v1/subscriptions", json=HOME)
    assert again.status == 202


async def test_without_an_email_server_sign_up_says_so(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock) -> None:
    hub = Hub(await aiohttp_client(make_app(smtp_url=None)), clock)
    answer = await hub.call("POST", "/api/v1/subscriptions", expect=409, json=HOME)
    assert answer["error"] == "email_off"


async def test_the_emailed_link_opens_a_page_that_confirms_with_one_click(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock,
        sink: Sink) -> None:
    hub = await resident_hub(aiohttp_client, make_app, clock, sink)
    await hub.client.post("/api/v1/subscriptions", json=HOME)
    secret = await sink.subscription_secret()
    page = await hub.client.get(f"/subscribe/confirm/{secret}")
    html = await page.text()
    assert page.status == 200 and "Confirm your alert subscription" in html
    await hub.call("GET", "/api/v1/subscription", secret, expect=401)  # opening is not enough
    token = re.search(r'name="csrf_token" value="(\w+)"', html)
    assert token is not None
    origin = str(hub.client.make_url("/")).rstrip("/")
    forged = await hub.client.post(f"/subscribe/confirm/{secret}", headers={"Origin": origin},
                                   data={"csrf_token": "0" * 64})
    assert forged.status == 403
    done = await hub.client.post(f"/subscribe/confirm/{secret}", headers={"Origin": origin},
                                 data={"csrf_token": token.group(1)})
    assert done.status == 200 and "You are subscribed" in await done.text()
    assert (await hub.call("GET", "/api/v1/subscription", secret, expect=200))["status"] == \
        "active"
    stale = await hub.client.post("/subscribe/confirm/vgs_not-a-link",
                                  headers={"Origin": origin},
                                  data={"csrf_token": token.group(1)})
    assert stale.status == 404
