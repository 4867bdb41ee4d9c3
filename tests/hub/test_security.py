"""CSRF and Origin checks, security headers, the feed handshake, and denials in the audit."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp
from sqlmodel import select
from yarl import URL

from hub.http import SESSIONS
from hub.models import AuditEvent
from tests.conftest import ADMIN_TOKEN, INSIDE, PASSWORD, Browser, Hub, alert_body, next_frame


async def signed_in_partner(hub: Hub, browsers: Callable[[], Browser]) -> tuple[Browser, str]:
    org, _ = await hub.partner("Bay Tower Security", INSIDE)
    await hub.person(org, "partner", "desk@bay.example")
    browser = browsers()
    await browser.sign_in("desk@bay.example")
    publisher = await hub.publisher()
    alert = await hub.publish(publisher)
    return browser, alert["id"]


async def test_a_cookie_request_without_the_csrf_token_is_refused(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser, alert = await signed_in_partner(hub, browsers)
    ack = {"status": "acknowledged"}
    path = f"/api/v1/alerts/{alert}/acks"
    missing = await browser.call("POST", path, 403, csrf=None, json=ack)
    assert "CSRF" in missing["detail"]
    await browser.call("POST", path, 403, csrf="0" * 64, json=ack)  # forged
    assert await hub.call("GET", path, expect=200) == []  # nothing was recorded
    await browser.call("POST", path, 201, json=ack)


async def test_a_cookie_request_from_a_foreign_origin_is_refused(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser, alert = await signed_in_partner(hub, browsers)
    path = f"/api/v1/alerts/{alert}/acks"
    ack = {"status": "acknowledged"}
    await browser.call("POST", path, 403, origin="https://evil.example", json=ack)
    await browser.call("POST", path, 403, origin=None, json=ack)  # neither Origin nor Referer
    await browser.call("POST", path, 201, origin=None, json=ack,
                       headers={"Referer": f"{browser.origin}/desk"})


async def test_the_csrf_token_of_one_session_does_not_work_in_another(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser, alert = await signed_in_partner(hub, browsers)
    old = browser.csrf
    await browser.sign_in("desk@bay.example")  # a new session: a new token
    await browser.call("POST", f"/api/v1/alerts/{alert}/acks", 403, csrf=old,
                       json={"status": "received"})


async def test_the_login_form_needs_its_csrf_token(hub: Hub,
                                                    browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    browser = browsers()
    page = await browser.call("GET", "/login", 200)
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token is not None
    form = {"email": "desk@bay.example", "password": PASSWORD}
    await browser.call("POST", "/login", 403, data=form)
    await browser.call("POST", "/login", 403, data={**form, "csrf_token": "f" * 64})
    await browser.call("POST", "/login", 403, origin="https://evil.example",
                       data={**form, "csrf_token": token.group(1)})
    await browser.call("POST", "/login", 303, data={**form, "csrf_token": token.group(1)})
    account = await browser.call("GET", "/account", 200)
    assert "desk@bay.example" in account


async def test_a_page_that_needs_a_session_sends_a_stranger_to_sign_in(hub: Hub) -> None:
    response = await hub.client.get("/account?tab=codes", allow_redirects=False)
    assert response.status == 303
    location = URL(response.headers["Location"])
    assert (location.path, location.query["next"]) == ("/login", "/account?tab=codes")
    with_token = await hub.client.get("/account", headers=hub.auth(ADMIN_TOKEN))
    assert with_token.status == 403  # pages are for people, not API tokens


async def test_security_headers_on_pages_api_answers_and_errors(hub: Hub) -> None:
    for path, status in (("/login", 200), ("/api/v1/openapi.json", 200),
                         ("/api/v1/alerts", 401), ("/no/such/page", 404)):
        response = await hub.client.get(path)
        assert response.status == status
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


async def test_feed_handshake_from_a_foreign_origin_is_refused(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser, _ = await signed_in_partner(hub, browsers)
    url = browser.origin.replace("http", "ws") + "/api/v1/feed"
    for headers in ({"Origin": "https://evil.example"}, {}):
        try:
            async with browser.http.ws_connect(url, headers=headers):
                raise AssertionError("the handshake should have been refused")
        except aiohttp.WSServerHandshakeError as error:
            assert error.status == 403


async def test_feed_with_the_session_cookie_from_our_own_page(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser, alert = await signed_in_partner(hub, browsers)
    url = browser.origin.replace("http", "ws") + "/api/v1/feed"
    async with browser.http.ws_connect(url, headers={"Origin": browser.origin}) as ws:
        await ws.send_json({"type": "resume", "since": 0})
        frame = await next_frame(ws)
        assert frame["type"] == "alert" and frame["alert"]["id"] == alert


async def audit_actions(hub: Hub) -> list[tuple[str, str, dict[str, Any]]]:
    async with hub.client.app[SESSIONS]() as session:
        rows = (await session.exec(select(AuditEvent).order_by(AuditEvent.id))).all()
    return [(row.actor, row.action, row.detail) for row in rows]


async def test_denials_are_recorded_in_the_audit_trail(hub: Hub) -> None:
    _, partner = await hub.partner("Bay Tower Security", INSIDE)
    await hub.call("POST", "/api/v1/alerts", partner, expect=403, json=alert_body())
    denials = [(actor, detail) for actor, action, detail in await audit_actions(hub)
               if action == "access.deny"]
    assert len(denials) == 1
    actor, detail = denials[0]
    assert actor.startswith("token:") and detail["method"] == "POST"


async def test_sign_ins_and_their_failures_are_recorded(hub: Hub,
                                                        browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Bay Tower Security")
    user = await hub.person(org, "partner", "desk@bay.example")
    browser = browsers()
    await browser.sign_in("desk@bay.example", "not the password", expect=401)
    await browser.sign_in("desk@bay.example")
    await browser.call("DELETE", "/api/v1/session", 200)
    actions = [(actor, action) for actor, action, _ in await audit_actions(hub)]
    assert ("address:127.0.0.1", "login.fail") in actions
    assert (f"user:{user}", "login.password") in actions
    assert (f"user:{user}", "logout") in actions


async def test_a_revoked_token_or_disabled_person_hears_nothing_more_on_the_feed(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser, _ = await signed_in_partner(hub, browsers)
    orgs = {o["name"]: o["id"] for o in await hub.call("GET", "/api/v1/organisations",
                                                        expect=200)}
    bay = orgs["Bay Tower Security"]
    issued = await hub.call("POST", "/api/v1/tokens", expect=201,
                            json={"organisation_id": bay, "role": "partner"})
    users = await hub.call("GET", "/api/v1/users", expect=200)
    publisher = await hub.token(orgs["Toronto Police Service"], "publisher")
    url = browser.origin.replace("http", "ws") + "/api/v1/feed"
    async with browser.http.ws_connect(url, headers={"Origin": browser.origin}) as person, \
            browser.http.ws_connect(url, headers={"Authorization": f"Bearer {issued['token']}"},
                                    ) as system:
        for ws in (person, system):  # both hear alerts while their credentials hold
            await ws.send_json({"type": "ping"})
            assert (await ws.receive_json(timeout=5))["type"] == "pong"
        await hub.call("POST", f"/api/v1/tokens/{issued['id']}/revoke", expect=200)
        await hub.call("POST", f"/api/v1/users/{users[0]['id']}/disable", expect=200)
        await hub.publish(publisher, headline="After the revocation")
        for ws in (person, system):
            closing = await ws.receive(timeout=5)
            assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4401
