"""The live feed: targeting, resume, authentication, origin, heartbeats, acks on the socket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError

from hub.http import FEED
from tests.conftest import INSIDE, OUTSIDE, SQUARE, Hub, next_frame

OUTSIDE_SQUARE = [[-79.3940, 43.6700], [-79.3900, 43.6700], [-79.3900, 43.6720],
                  [-79.3940, 43.6720], [-79.3940, 43.6700]]


async def resumed(hub: Hub, token: str, since: int = 0) -> Any:
    ws = await hub.client.ws_connect("/api/v1/feed", headers=hub.auth(token))
    await ws.send_json({"type": "resume", "since": since})
    return ws


async def test_desk_inside_receives_and_desk_outside_does_not(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, inside = await hub.partner("Bay Tower Security", INSIDE)
    _, outside = await hub.partner("Yorkville Offices", OUTSIDE)
    ws_in, ws_out = await resumed(hub, inside), await resumed(hub, outside)
    first = await hub.publish(publisher)
    assert first["targets"]["organisations"] == 1
    frame = await next_frame(ws_in)
    assert frame["type"] == "alert"
    assert frame["seq"] == first["seq"]
    assert frame["alert"]["id"] == first["id"]
    assert frame["alert"]["headline"] == "Suspicious package, King St W & Bay St"
    # A second alert only the outside desk may see: it must be the first thing it hears,
    # which proves the first alert never reached it.
    second = await hub.publish(publisher, area={"type": "Polygon",
                                                "coordinates": [OUTSIDE_SQUARE]})
    frame = await next_frame(ws_out)
    assert (frame["seq"], frame["alert"]["id"]) == (second["seq"], second["id"])
    await ws_in.close()
    await ws_out.close()


@pytest.mark.parametrize("area", [
    {"type": "MultiPolygon", "coordinates": [[SQUARE], [OUTSIDE_SQUARE]]},
    {"circle": {"lat": 43.6600, "lon": -79.3860, "radius_m": 2500}},
], ids=["multipolygon", "circle"])
async def test_multipolygon_and_circle_reach_each_desk_inside(hub: Hub, area: Any) -> None:
    publisher = await hub.publisher()
    _, bay = await hub.partner("Bay Tower Security", INSIDE)
    _, yorkville = await hub.partner("Yorkville Offices", OUTSIDE)
    _, far = await hub.partner("Scarborough Depot", {"name": "Depot", "lat": 43.7764,
                                                    "lon": -79.2318})
    desks = [await resumed(hub, token) for token in (bay, yorkville, far)]
    created = await hub.publish(publisher, area=area)
    assert created["targets"]["organisations"] == 2
    for ws in desks[:2]:
        assert (await next_frame(ws))["alert"]["id"] == created["id"]
    marker = await hub.publish(publisher, area={"circle": {"lat": 43.7764, "lon": -79.2318,
                                                           "radius_m": 100}})
    assert (await next_frame(desks[2]))["alert"]["id"] == marker["id"]
    for ws in desks:
        await ws.close()


async def test_resume_replays_exactly_the_missed_alerts_in_order_then_live(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    ws = await resumed(hub, desk)
    seen = (await hub.publish(publisher, headline="Before the drop"))["seq"]
    assert (await next_frame(ws))["seq"] == seen
    await ws.close()
    missed = [await hub.publish(publisher, headline=f"Missed {n}") for n in range(3)]
    ws = await resumed(hub, desk, since=seen)
    frames = [await next_frame(ws) for _ in missed]
    assert [f["seq"] for f in frames] == [m["seq"] for m in missed]
    assert [f["alert"]["headline"] for f in frames] == ["Missed 0", "Missed 1", "Missed 2"]
    live = await hub.publish(publisher, headline="Live again")
    frame = await next_frame(ws)
    assert (frame["seq"], frame["alert"]["headline"]) == (live["seq"], "Live again")
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=0.3)
    await ws.close()


async def test_alerts_published_during_a_replay_arrive_once_in_order(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    backlog = [await hub.publish(publisher, headline=f"Backlog {n}") for n in range(5)]
    ws = await resumed(hub, desk, since=0)
    racing = await asyncio.gather(*(hub.publish(publisher, headline=f"Race {n}")
                                    for n in range(5)))
    expected = sorted(a["seq"] for a in backlog + list(racing))
    got = [(await next_frame(ws))["seq"] for _ in expected]
    assert got == expected
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=0.3)
    await ws.close()


async def test_a_desk_that_never_resumes_gets_live_alerts(hub: Hub) -> None:
    publisher = await hub.publisher()
    await hub.publish(publisher, headline="History")
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    async with hub.client.ws_connect("/api/v1/feed", headers=hub.auth(desk)) as ws:
        live = await hub.publish(publisher, headline="Now")
        assert (await next_frame(ws))["seq"] == live["seq"]


async def test_first_message_authentication(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    async with hub.client.ws_connect("/api/v1/feed") as ws:
        await ws.send_json({"type": "auth", "token": desk})
        await ws.send_json({"type": "resume", "since": 0})
        created = await hub.publish(publisher)
        assert (await next_frame(ws))["alert"]["id"] == created["id"]


async def test_bad_first_message_token_closes_the_socket(hub: Hub) -> None:
    async with hub.client.ws_connect("/api/v1/feed") as ws:
        await ws.send_json({"type": "auth", "token": "not-a-token"})
        frame = await next_frame(ws)
        assert frame["error"] == "unauthenticated"
        closing = await ws.receive(timeout=5)
        assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
        assert ws.close_code == 4401


async def test_bad_header_token_is_refused_before_upgrade(hub: Hub) -> None:
    with pytest.raises(WSServerHandshakeError) as refused:
        await hub.client.ws_connect("/api/v1/feed", headers=hub.auth("wrong"))
    assert refused.value.status == 401


@pytest.mark.parametrize("query", ["token", "access_token", "Token"])
async def test_token_in_the_url_is_refused(hub: Hub, query: str) -> None:
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    with pytest.raises(WSServerHandshakeError) as refused:
        await hub.client.ws_connect(f"/api/v1/feed?{query}={desk}")
    assert refused.value.status == 400
    response = await hub.client.get(f"/api/v1/feed?{query}={desk}")
    assert (await response.json())["error"] == "token_in_url"


async def test_foreign_origin_is_refused_and_own_origin_allowed(hub: Hub) -> None:
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    with pytest.raises(WSServerHandshakeError) as refused:
        await hub.client.ws_connect("/api/v1/feed", headers={
            **hub.auth(desk), "Origin": "https://evil.example"})
    assert refused.value.status == 403
    own = f"http://{hub.client.host}:{hub.client.port}"
    async with hub.client.ws_connect("/api/v1/feed", headers={**hub.auth(desk),
                                                             "Origin": own}) as ws:
        assert not ws.closed


async def test_heartbeat_drops_a_half_open_connection(aiohttp_client: Any, make_app: Any) -> None:
    hub = Hub(await aiohttp_client(make_app(feed_heartbeat_s=0.2)), None)  # type: ignore[arg-type]
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    # autoping=False: the client never answers pings, like a peer whose network vanished.
    ws = await hub.client.ws_connect("/api/v1/feed", headers=hub.auth(desk), autoping=False)
    feed = hub.client.app[FEED]
    for _ in range(50):
        if feed.desks:
            break
        await asyncio.sleep(0.02)
    assert len(feed.desks) == 1
    for _ in range(100):
        message = await ws.receive(timeout=5)
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            break
    else:
        pytest.fail("the server never closed the silent connection")
    for _ in range(50):
        if not feed.desks:
            break
        await asyncio.sleep(0.02)
    assert not feed.desks
    await ws.close()


async def test_ack_over_the_socket_is_stored_once(hub: Hub) -> None:
    publisher = await hub.publisher()
    org, desk = await hub.partner("Bay Tower Security", INSIDE)
    ws = await resumed(hub, desk)
    created = await hub.publish(publisher)
    await next_frame(ws)
    for _ in range(3):
        await ws.send_json({"type": "ack", "alert_id": created["id"], "status": "acknowledged"})
        reply = await next_frame(ws)
        assert reply["type"] == "acked" and reply["status"] == "acknowledged"
    acks = await hub.call("GET", f"/api/v1/alerts/{created['id']}/acks", publisher, expect=200)
    assert [(a["organisation_id"], a["status"], a["via"]) for a in acks] == [
        (org, "acknowledged", "feed")]
    await ws.send_json({"type": "ack", "alert_id": created["id"], "status": "sideways"})
    reply = await next_frame(ws)
    assert reply["type"] == "error" and "status" in reply["fields"]
    await ws.close()


async def test_feed_delivery_is_marked_delivered_when_the_desk_hears_it(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    created = await hub.publish(publisher)
    rows = await hub.call("GET", f"/api/v1/alerts/{created['id']}/deliveries", publisher)
    assert {r["channel"]: r["status"] for r in rows} == {"feed": "pending", "email": "pending"}
    ws = await resumed(hub, desk, since=0)
    await next_frame(ws)
    # The record is written in a batch off the hot path, a moment after the frame.
    for _ in range(100):
        rows = await hub.call("GET", f"/api/v1/alerts/{created['id']}/deliveries", publisher)
        feed = next(r for r in rows if r["channel"] == "feed")
        if feed["status"] == "delivered":
            break
        await asyncio.sleep(0.05)
    assert feed["status"] == "delivered" and feed["delivered_at"] is not None
    await ws.close()


async def test_a_frame_is_encoded_once_per_alert_not_per_socket(
        hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.feed as feed_module

    calls: list[str] = []
    real_encode = feed_module.encode

    def counting_encode(alert: Any) -> str:
        calls.append(alert.id)
        return real_encode(alert)

    monkeypatch.setattr(feed_module, "encode", counting_encode)
    publisher = await hub.publisher()
    _, token = await hub.partner("Bay Tower Security", INSIDE)
    desks = [await resumed(hub, token) for _ in range(5)]
    await asyncio.sleep(0.5)  # all five are live, past their replay
    calls.clear()
    created = await hub.publish(publisher)
    for ws in desks:
        assert (await next_frame(ws))["alert"]["id"] == created["id"]
    assert calls == [created["id"]]
    for ws in desks:
        await ws.close()


async def test_a_desk_resumed_past_the_fan_out_does_not_hear_an_alert_twice(hub: Hub) -> None:
    feed = hub.client.app[FEED]
    await feed.loop.close()  # this test runs the fan-out's rounds itself
    publisher = await hub.publisher()
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    fanned = (await hub.publish(publisher, headline="Fanned out"))["seq"]
    await feed.fan_out_new()
    waiting = (await hub.publish(publisher, headline="Not fanned out yet"))["seq"]
    ws = await resumed(hub, desk, since=0)
    heard = [json.loads((await ws.receive(timeout=5)).data) for _ in range(3)]
    assert [f.get("seq", f.get("last_seq")) for f in heard] == [fanned, waiting, waiting]
    assert heard[2]["type"] == "replayed"
    # The replay went past the fan-out: the desk is live and holds an alert the fan-out has
    # yet to send, which it must drop rather than write again.
    assert feed.high_water == fanned and all(d.live for d in feed.desks)
    await feed.fan_out_new()
    assert feed.high_water == waiting
    later = (await hub.publish(publisher, headline="After the replay"))["seq"]
    await feed.fan_out_new()
    assert (await next_frame(ws))["seq"] == later  # not `waiting` again
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=0.3)
    await ws.close()
