"""Hostile and awkward input (issue 14), each case sent as named: bodies that arrive in
pieces, line breaks and characters XML cannot carry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from lxml import etree
from sqlalchemy import text
from sqlmodel import func, select

from hub.app import renderer
from hub.cap import MAX_DOCUMENT_BYTES
from hub.http import MAX_JSON_BODY, SESSIONS, SETTINGS
from hub.models import Alert
from hub.throttle import ACCOUNT
from tests.capdoc import cap_alert
from tests.conftest import ADMIN_TOKEN, INSIDE, PASSWORD, Hub, alert_body

RUNS = 10


async def in_pieces(data: bytes, piece: int = 16 * 1024) -> AsyncIterator[bytes]:
    """The body a slow phone sends: small chunks (no Content-Length), a pause between."""
    for start in range(0, len(data), piece):
        yield data[start:start + piece]
        await asyncio.sleep(0.001)


async def post_in_pieces(hub: Hub, path: str, token: str, data: bytes,
                         content_type: str) -> tuple[int, Any]:
    response = await hub.client.post(path, data=in_pieces(data), headers={
        **hub.auth(token), "Content-Type": content_type})
    return response.status, await response.json()


async def test_a_json_body_just_under_the_limit_is_read_whole_every_time(hub: Hub) -> None:
    publisher = await hub.publisher()
    # Valid JSON of 0.99 MiB: an alert whose description is too long for an alert, so the
    # answer names `description`, which only a body read to its end can say.
    body = alert_body(description="x" * (MAX_JSON_BODY - 12_000))
    data = json.dumps(body).encode()
    assert 0.98 * MAX_JSON_BODY < len(data) <= MAX_JSON_BODY
    for _ in range(RUNS):
        status, answer = await post_in_pieces(hub, "/api/v1/alerts/preview", publisher, data,
                                              "application/json")
        assert status == 422 and "body" not in answer["fields"], answer
        assert "description" in answer["fields"]


async def test_a_cap_document_of_1_9_mib_in_pieces_is_imported_every_time(hub: Hub) -> None:
    publisher = await hub.publisher()
    for run in range(RUNS):
        document = cap_alert(f"TFS-BIG-{run}")
        padding = b"<!--" + b" padding" * ((19 * MAX_DOCUMENT_BYTES // 20) // 8) + b"-->"
        document = document.replace(b"<identifier>", padding + b"<identifier>", 1)
        assert 0.9 * MAX_DOCUMENT_BYTES < len(document) <= MAX_DOCUMENT_BYTES
        status, answer = await post_in_pieces(hub, "/api/v1/cap", publisher, document,
                                              "application/cap+xml")
        assert status == 201, answer


async def alert_count(hub: Hub) -> int:
    async with hub.client.app[SESSIONS]() as session:
        return int((await session.exec(select(func.count()).select_from(Alert))).one())


@pytest.mark.parametrize("headline", [
    "one\ntwo", "one\r\ntwo", "one\vtwo", "one\ftwo", "one\u2028two", "one\x85two"])
async def test_a_line_break_in_the_headline_is_refused_naming_it(hub: Hub, headline: str) -> None:
    publisher = await hub.publisher()
    for path in ("/api/v1/alerts/preview", "/api/v1/alerts"):
        answer = await hub.call("POST", path, publisher, expect=422,
                                json=alert_body(headline=headline))
        assert set(answer["fields"]) == {"headline"}
    answer = await hub.call("POST", "/api/v1/alerts", publisher, expect=422,
                            json=alert_body(event="Suspicious\npackage"))
    assert set(answer["fields"]) == {"event"}
    assert await alert_count(hub) == 0


@pytest.mark.parametrize(("raw", "shown"), [
    ('"Road closed \\u0007"', "U+0007"), ('"Road\\u0000closed"', "U+0000"),
    ('"Road closed \\ud800"', "U+D800"), ('"Road closed \\uffff"', "U+FFFF")])
async def test_a_character_xml_cannot_carry_is_refused_naming_the_field(
        hub: Hub, raw: str, shown: str) -> None:
    publisher = await hub.publisher()
    body = json.dumps(alert_body(headline="HEADLINE")).replace('"HEADLINE"', raw)
    for path in ("/api/v1/alerts/preview", "/api/v1/alerts"):
        response = await hub.client.post(path, data=body, headers={
            **hub.auth(publisher), "Content-Type": "application/json"})
        answer = await response.json()
        assert response.status == 422 and shown in answer["fields"]["headline"], answer
    response = await hub.client.post("/api/v1/organisations", data=json.dumps(
        {"name": "X", "kind": "corporate"}).replace('"X"', raw), headers={
        **hub.auth(ADMIN_TOKEN), "Content-Type": "application/json"})
    answer = await response.json()
    assert response.status == 422 and set(answer["fields"]) == {"name"}, answer
    assert await alert_count(hub) == 0


async def test_text_stored_before_the_checks_never_breaks_a_feed_a_cap_or_a_mail(
        hub: Hub) -> None:
    publisher = await hub.publisher()
    alert = await hub.publish(publisher, tlp="TLP:CLEAR")
    async with hub.client.app[SESSIONS]() as session:
        row = await session.get(Alert, alert["id"])
        assert row is not None
        row.headline, row.description = "Road closed \u0007\nnow", "Bell \u0007 and NUL \u0000"
        session.add(row)
        await session.commit()
        stored = await session.get(Alert, alert["id"])
    for path in ("/feeds/alerts.atom", f"/feeds/alerts/{alert['id']}.cap"):
        response = await hub.client.get(path)
        assert response.status == 200, path
        etree.fromstring(await response.read())  # well-formed XML
    response = await hub.client.get(f"/api/v1/alerts/{alert['id']}/cap",
                                    headers=hub.auth(publisher))
    assert response.status == 200
    etree.fromstring(await response.read())
    assert stored is not None
    message = renderer(hub.client.app[SETTINGS]).alert(stored, html=True)
    assert "\n" not in message.subject and message.subject.endswith("Road closed \u0007 now")


async def test_twenty_sign_ins_at_once_are_counted_one_by_one(backend_hub: Hub) -> None:
    hub = backend_hub
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")

    async def sign_in(password: str) -> int:
        response = await hub.client.post("/api/v1/session", json={
            "email": "desk@bay.example", "password": password})
        return response.status

    # 19 wrong passwords and the right one at once, as the issue sent them, then 20 wrong.
    tries = [f"wrong guess {n:02d}" for n in range(19)] + [PASSWORD]
    statuses = await asyncio.gather(*(sign_in(p) for p in tries))
    assert all(status < 500 for status in statuses), statuses
    statuses += await asyncio.gather(*(sign_in(f"more {n}") for n in range(20)))
    assert all(status < 500 for status in statuses), statuses
    assert statuses.count(401) <= ACCOUNT.free + 1 + 1  # the free tries, and the first slowed
    # Then the right one: refused while the account is held.
    assert await sign_in(PASSWORD) == 429


DEEP = b"[" * 1000 + b"]" * 1000  # 2 KB
HUGE = "1" + "0" * 400  # 10^400, as JSON writes it


def with_huge(body: dict[str, Any], marker: float = 12345.678) -> bytes:
    """`body` as JSON with the number `marker` written as 10^400."""
    return json.dumps(body).replace(str(marker), HUGE).encode()


async def post_raw(hub: Hub, path: str, data: bytes, token: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", **(hub.auth(token) if token else {})}
    response = await hub.client.post(path, data=data, headers=headers)
    return response.status, await response.json()


async def test_json_nested_a_thousand_deep_is_refused_even_signed_out(hub: Hub) -> None:
    publisher = await hub.publisher()
    for path, token in (("/api/v1/session", None), ("/api/v1/subscriptions", None),
                        ("/api/v1/alerts", publisher)):
        status, answer = await post_raw(hub, path, DEEP, token)
        assert status == 422 and set(answer["fields"]) == {"body"}, (path, answer)
    assert await alert_count(hub) == 0


async def test_an_integer_of_400_digits_is_refused_naming_its_field(hub: Hub) -> None:
    publisher = await hub.publisher()
    square = alert_body()["area"]["coordinates"][0]
    vertex = alert_body(area={"type": "Polygon", "coordinates": [
        [[12345.678, square[0][1]], *square[1:]]]})
    cases = [
        ("/api/v1/alerts", publisher, with_huge(vertex), "area"),
        ("/api/v1/alerts", publisher, with_huge(alert_body(ack_within_s=12345.678)),
         "ack_within_s"),
        ("/api/v1/organisations", ADMIN_TOKEN, with_huge({
            "name": "Tower", "kind": "corporate",
            "sites": [{"name": "HQ", "lat": 12345.678, "lon": -79.38}]}), "sites"),
        ("/api/v1/subscriptions", None, with_huge({
            "email": "me@home.example", "lat": 12345.678, "lon": -79.38, "radius_m": 500}),
         "lat"),
        ("/api/v1/subscriptions", None, with_huge({
            "email": "me@home.example", "lat": 43.65, "lon": -79.38, "radius_m": 12345.678}),
         "radius_m"),
    ]
    for path, token, data, field in cases:
        assert HUGE.encode() in data
        status, answer = await post_raw(hub, path, data, token)
        assert status in (400, 422) and any(field in name for name in answer["fields"]), (
            path, field, answer)
    assert await alert_count(hub) == 0


async def test_an_origin_that_matches_only_its_own_host_header_is_refused(hub: Hub) -> None:
    # DNS rebinding: evil.example resolves to this hub, so the browser sends both.
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    rebound = {"Host": "evil.example", "Origin": "http://evil.example"}
    with pytest.raises(WSServerHandshakeError) as refused:
        await hub.client.ws_connect("/api/v1/feed", headers={**hub.auth(desk), **rebound})
    assert refused.value.status == 403
    publisher = await hub.publisher()
    response = await hub.client.post("/api/v1/alerts", json=alert_body(),
                                     headers={**hub.auth(publisher), **rebound})
    assert response.status == 403
    assert await alert_count(hub) == 0
    # The configured public origin, and this address typed as digits, still may.
    own = f"http://{hub.client.host}:{hub.client.port}"
    async with hub.client.ws_connect("/api/v1/feed", headers={**hub.auth(desk),
                                                             "Origin": own}) as ws:
        assert not ws.closed


async def test_a_full_disk_is_a_503_with_retry_after_and_said_in_healthz(hub: Hub) -> None:
    publisher = await hub.publisher()
    org = await hub.organisation("Bay St Tower", "corporate", [INSIDE])
    for n in range(3):
        await hub.contact(org, f"Guard {n}")
    assert (await (await hub.client.get("/healthz")).json())["storage"] == {"status": "ok"}
    # SQLite's own "database or disk is full" (SQLITE_FULL), without filling this machine's
    # disk: the database may not grow by a single page (the hub has one connection).
    async with hub.client.app[SESSIONS]() as session:
        connection = await session.connection()
        pages = (await connection.execute(text("PRAGMA page_count"))).scalar_one()
        await connection.execute(text(f"PRAGMA max_page_count = {pages}"))
    response = await hub.client.post("/api/v1/alerts", json=alert_body(
        description="x" * 20_000), headers=hub.auth(publisher))
    answer = await response.json()
    assert response.status == 503 and answer["error"] == "storage_full", answer
    assert int(response.headers["Retry-After"]) >= 1
    health = await (await hub.client.get("/healthz")).json()
    assert health["status"] == "degraded" and health["storage"]["status"] == "full"
    async with hub.client.app[SESSIONS]() as session:
        await (await session.connection()).execute(text("PRAGMA max_page_count = 1073741823"))
    assert await alert_count(hub) == 0  # nothing half written
    await hub.publish(publisher)  # room again: publishing works


# Issue 14.8: what schemathesis found, each sent as it found it (the whole run is in
# tests/hub/test_api_conformance.py).
async def test_an_undeclared_method_is_a_405_that_says_what_is_allowed(hub: Hub) -> None:
    for path, allowed in (("/api/v1/alerts", {"GET", "HEAD", "POST"}),
                          ("/api/v1/alerts/preview", {"POST"})):
        response = await hub.client.request("TRACE", path, headers=hub.auth(ADMIN_TOKEN))
        assert response.status == 405, path
        assert set(response.headers["Allow"].split(",")) == allowed, path
        assert (await response.json())["error"] == "method_not_allowed"


async def test_a_multipart_body_without_its_boundary_is_a_422(hub: Hub) -> None:
    _, partner = await hub.partner("Bay St Tower", INSIDE)
    alert = (await hub.publish(await hub.publisher()))["id"]
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=" + "b" * 71):
        response = await hub.client.post(f"/api/v1/alerts/{alert}/reports", headers={
            **hub.auth(partner), "Content-Type": content_type}, data=b"")
        answer = await response.json()
        assert response.status == 422 and set(answer["fields"]) == {"body"}, answer


async def test_null_is_refused_where_the_document_does_not_allow_it(hub: Hub) -> None:
    org = await hub.organisation("Bay St Tower")
    contact = await hub.contact(org, "Tower Desk")
    cases = [
        ("POST", "/api/v1/tokens", {"organisation_id": org, "role": "partner", "label": None},
         "label"),
        ("POST", "/api/v1/invitations", {"organisation_id": org, "role": "partner",
                                         "email": "a@bay.example", "contact_id": None},
         "contact_id"),
        ("POST", f"/api/v1/organisations/{org}/contacts", {
            "name": "Lobby", "email": "lobby@bay.example", "tier": None}, "tier"),
        ("POST", "/api/v1/alerts/preview", alert_body(severity=None), "severity"),
    ]
    publisher = await hub.publisher()
    for method, path, body, field in cases:
        token = publisher if "alerts" in path else ADMIN_TOKEN
        answer = await hub.call(method, path, token, expect=422, json=body)
        assert answer["fields"][field].startswith("must not be null"), answer
    # Where null means something, it is taken: no expiry, clear the language.
    await hub.call("POST", "/api/v1/alerts/preview", publisher, expect=200,
                   json=alert_body(expires=None, ack_within_s=None))
    await hub.call("PATCH", f"/api/v1/contacts/{contact}", expect=200, json={"language": None})


async def test_a_whole_number_written_with_a_point_is_a_whole_number(hub: Hub) -> None:
    origin = f"http://{hub.client.host}:{hub.client.port}"
    response = await hub.client.post("/api/v1/subscriptions", headers={"Origin": origin},
                                     json={"email": "sam@home.example", "lat": 43.6481,
                                           "lon": -79.3805, "radius_m": 3252.0})
    assert response.status == 202, await response.text()
    response = await hub.client.post("/api/v1/subscriptions", headers={"Origin": origin},
                                     json={"email": "alex@home.example", "lat": 43.6481,
                                           "lon": -79.3805, "radius_m": 3252.5})
    assert response.status == 422 and "radius_m" in (await response.json())["fields"]


async def test_a_request_aiohttp_cannot_parse_is_a_400_and_a_warning_not_an_error(
        hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection(hub.client.host, hub.client.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Probe: \x00\r\n\r\n")
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"400", status_line
    for _ in range(50):  # aiohttp logs it once the answer is on its way
        if any(r.name == "aiohttp.server" for r in caplog.records):
            break
        await asyncio.sleep(0.01)
    logged = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert logged and all(r.levelname == "WARNING" and r.exc_info is None for r in logged)
    assert "400" in logged[0].getMessage()
