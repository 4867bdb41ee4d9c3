"""People's accounts: invitations, sign-in, sessions and their timeouts, the second factor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import INSIDE, PASSWORD, Browser, Hub, alert_body


async def police(hub: Hub) -> str:
    return await hub.organisation("Toronto Police Service", "police")


async def test_an_invited_partner_signs_in_and_uses_the_api_with_the_cookie(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    org, _ = await hub.partner("Bay Tower Security", INSIDE)
    await hub.person(org, "partner", "desk@bay.example")
    browser = browsers()
    signed = await browser.sign_in("DESK@bay.example")  # addresses are case-insensitive
    assert signed["step"] == "done" and signed["user"]["role"] == "partner"
    assert await browser.call("GET", "/api/v1/alerts", 200) == []
    me = await browser.call("GET", "/api/v1/session", 200)
    assert me["user"]["email"] == "desk@bay.example"


async def test_session_cookie_flags(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    response = await hub.client.post("/api/v1/session", json={
        "email": "desk@bay.example", "password": PASSWORD})
    assert response.status == 201
    cookie = response.cookies["vigil_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # served over plain HTTP here (a laptop demo)


async def test_over_https_cookies_take_the_host_prefix_and_secure(
        aiohttp_client: Any, make_app: Callable[..., Any]) -> None:
    client: TestClient[Any, Any] = await aiohttp_client(make_app(
        public_url="https://vigil.example"))
    hub = Hub(client, None)  # type: ignore[arg-type]
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    response = await client.post("/api/v1/session", json={
        "email": "desk@bay.example", "password": PASSWORD})
    cookie = response.cookies["__Host-vigil_session"]
    assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"]
    assert "__Host-vigil_csrf" in response.cookies
    assert "max-age" in response.headers["Strict-Transport-Security"]


async def test_every_sign_in_gets_a_new_session_id(hub: Hub,
                                                   browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    browser = browsers()
    await browser.sign_in("desk@bay.example")
    first = browser.cookie("vigil_session")
    await browser.sign_in("desk@bay.example")
    assert browser.cookie("vigil_session") not in (None, first)


async def test_a_forged_session_cookie_is_not_adopted(hub: Hub,
                                                      browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    browser = browsers()
    browser.http.cookie_jar.update_cookies({"vigil_session": "attacker-chosen"})
    assert (await browser.call("GET", "/api/v1/alerts", 401))["error"] == "unauthenticated"
    await browser.sign_in("desk@bay.example")
    assert browser.cookie("vigil_session") != "attacker-chosen"


async def test_wrong_password_and_unknown_address_get_the_same_answer(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    answers = []
    for email in ("desk@bay.example", "nobody@bay.example"):
        response = await hub.client.post("/api/v1/session", json={
            "email": email, "password": "not the password"})
        answers.append((response.status, await response.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401


async def test_sign_out_ends_the_session(hub: Hub, browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    browser = browsers()
    await browser.sign_in("desk@bay.example")
    stolen = browser.cookie("vigil_session")
    await browser.call("DELETE", "/api/v1/session", 200)
    await browser.call("GET", "/api/v1/alerts", 401)
    thief = browsers()
    thief.http.cookie_jar.update_cookies({"vigil_session": stolen or ""})
    await thief.call("GET", "/api/v1/alerts", 401)


async def test_inactivity_timeout(hub: Hub, browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    browser = browsers()
    await browser.sign_in("desk@bay.example")
    hub.clock.advance(29 * 60)
    await browser.call("GET", "/api/v1/alerts", 200)  # activity restarts the idle clock
    hub.clock.advance(29 * 60)
    await browser.call("GET", "/api/v1/alerts", 200)
    hub.clock.advance(31 * 60)
    await browser.call("GET", "/api/v1/alerts", 401)


async def test_absolute_timeout_however_active(hub: Hub,
                                               browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    browser = browsers()
    await browser.sign_in("desk@bay.example")
    for _ in range(12 * 3 - 1):
        hub.clock.advance(20 * 60)
        await browser.call("GET", "/api/v1/alerts", 200)
    hub.clock.advance(20 * 60 + 1)  # 12 hours and a second after signing in
    await browser.call("GET", "/api/v1/alerts", 401)


async def test_disabling_an_account_ends_all_its_sessions(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Bay Tower Security")
    user = await hub.person(org, "partner", "desk@bay.example")
    laptop, phone = browsers(), browsers()
    await laptop.sign_in("desk@bay.example")
    await phone.sign_in("desk@bay.example")
    done = await hub.call("POST", f"/api/v1/users/{user}/disable", expect=200)
    assert done["disabled"] and done["sessions_ended"] == 2
    await laptop.call("GET", "/api/v1/alerts", 401)
    await phone.call("GET", "/api/v1/alerts", 401)
    await laptop.sign_in("desk@bay.example", expect=401)
    await hub.call("POST", f"/api/v1/users/{user}/enable", expect=200)
    await laptop.sign_in("desk@bay.example")


async def test_publisher_must_enrol_a_second_factor_before_anything_else(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    await hub.person(await police(hub), "publisher", "pat@tps.example")
    browser = browsers()
    assert (await browser.sign_in("pat@tps.example"))["step"] == "enrol"
    await browser.call("GET", "/api/v1/alerts", 401)  # a password alone opens nothing
    enrol = await browser.call("POST", "/api/v1/session/mfa/enrol", 200)
    assert enrol["otpauth_uri"].startswith("otpauth://totp/Vigil:pat%40tps.example")
    assert enrol["qr_svg"].startswith("data:image/svg+xml")
    browser.seed = enrol["secret"]
    wrong = str((int(browser.code()) + 1) % 1_000_000).zfill(6)
    await browser.call("POST", "/api/v1/session/mfa/confirm", 401, json={"code": wrong})
    before = browser.cookie("vigil_session")
    done = await browser.call("POST", "/api/v1/session/mfa/confirm", 200,
                              json={"code": browser.code()})
    assert done["step"] == "done" and len(done["recovery_codes"]) == 10
    assert browser.cookie("vigil_session") != before  # a new id for the new privilege
    await browser.call("POST", "/api/v1/alerts", 201, json=alert_body())


async def test_second_factor_at_sign_in_refuses_a_replayed_code(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    await hub.person(await police(hub), "approver", "ann@tps.example")
    browser = browsers()
    await browser.sign_in("ann@tps.example")
    await browser.enrol()
    used = browser.code()  # the code that just confirmed the enrolment
    await browser.call("DELETE", "/api/v1/session", 200)
    assert (await browser.sign_in("ann@tps.example"))["step"] == "code"
    await browser.call("GET", "/api/v1/alerts", 401)
    await browser.call("POST", "/api/v1/session/mfa", 401, json={"code": used})
    hub.clock.advance(30)
    done = await browser.call("POST", "/api/v1/session/mfa", 200, json={"code": browser.code()})
    assert done["step"] == "done"
    await browser.call("GET", "/api/v1/alerts", 200)


async def test_a_recovery_code_works_once(hub: Hub, browsers: Callable[[], Browser]) -> None:
    await hub.person(await police(hub), "publisher", "pat@tps.example")
    browser = browsers()
    await browser.sign_in("pat@tps.example")
    codes = await browser.enrol()
    for expect in (200, 401):
        await browser.call("DELETE", "/api/v1/session", 200)
        await browser.sign_in("pat@tps.example")
        await browser.call("POST", "/api/v1/session/mfa", expect,
                           json={"recovery_code": codes[0].upper()})


async def test_a_password_alone_cannot_replace_the_second_factor(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    await hub.person(await police(hub), "publisher", "pat@tps.example")
    owner, attacker = browsers(), browsers()
    await owner.sign_in("pat@tps.example")
    await owner.enrol()
    await attacker.sign_in("pat@tps.example")  # knows the password, not the authenticator
    await attacker.call("POST", "/api/v1/session/mfa/enrol", 403)
    await attacker.call("POST", "/api/v1/session/mfa/confirm", 403, json={"code": "123456"})
    await owner.call("POST", "/api/v1/session/mfa/enrol", 200)  # the real person may


async def test_partner_admin_invites_staff_of_its_own_organisation_only(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    other = await hub.organisation("Harbour Mall")
    admin = await hub.token(org, "admin")
    invite = {"organisation_id": org, "email": "guard@bay.example", "role": "partner"}
    made = await hub.call("POST", "/api/v1/invitations", admin, expect=201, json=invite)
    assert made["accept_url"].endswith(f"/invite/{made['token']}")
    await hub.call("POST", "/api/v1/invitations", admin, expect=403,
                   json={**invite, "email": "boss@bay.example", "role": "publisher"})
    await hub.call("POST", "/api/v1/invitations", admin, expect=403,
                   json={**invite, "organisation_id": other, "email": "x@mall.example"})
    users = await hub.call("GET", "/api/v1/users", admin, expect=200)
    assert users == []  # the invitation is not an account until it is accepted


async def test_invitation_unhappy_paths(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    invitation = await hub.call("POST", "/api/v1/invitations", expect=201, json={
        "organisation_id": org, "email": "guard@bay.example", "role": "partner"})
    bad = await hub.call("POST", "/api/v1/invitations", expect=422, json={
        "organisation_id": org, "email": "not-an-address", "role": "chief"})
    assert set(bad["fields"]) == {"email", "role"}
    accept = {"token": invitation["token"], "name": "Guard"}
    short = await hub.call("POST", "/api/v1/invitations/accept", expect=422,
                           json={**accept, "password": "short"})
    assert set(short["fields"]) == {"password"}
    hub.clock.advance(timedelta(days=8).total_seconds())
    expired = await hub.call("POST", "/api/v1/invitations/accept", expect=404,
                             json={**accept, "password": PASSWORD})
    assert set(expired["fields"]) == {"token"}
    assert await hub.call("GET", "/api/v1/users", expect=200) == []


async def test_an_invitation_is_used_once(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    invitation = await hub.call("POST", "/api/v1/invitations", expect=201, json={
        "organisation_id": org, "email": "guard@bay.example", "role": "partner"})
    body = {"token": invitation["token"], "name": "Guard", "password": PASSWORD}
    await hub.call("POST", "/api/v1/invitations/accept", expect=201, json=body)
    await hub.call("POST", "/api/v1/invitations/accept", expect=404, json=body)

