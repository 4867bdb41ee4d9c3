"""Throttling: password guessing is slowed then refused; public endpoints have rate limits."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse

from tests.conftest import PASSWORD, Hub


async def sign_in(hub: Hub, email: str, password: str) -> ClientResponse:
    return await hub.client.post("/api/v1/session", json={"email": email, "password": password})


async def guess_until_refused(hub: Hub, email: str, patient: bool) -> tuple[int, ClientResponse]:
    """Guess wrong passwords; a patient attacker waits out every Retry-After but the last.
    Returns how many guesses were judged before a refusal that waiting would not fix soon."""
    judged = 0
    for _ in range(50):
        response = await sign_in(hub, email, f"guess number {judged:04d}")
        if response.status == 401:
            judged += 1
            continue
        assert response.status == 429, await response.text()
        wait = int(response.headers["Retry-After"])
        if not patient or wait >= 600:
            return judged, response
        hub.clock.advance(wait)
    raise AssertionError("fifty guesses were never refused")


async def test_brute_force_on_one_account_is_refused_after_at_most_ten_failures(
        hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    judged, refusal = await guess_until_refused(hub, "desk@bay.example", patient=True)
    assert judged <= 10
    assert (await refusal.json())["error"] == "too_many_requests"
    # Even the right password is refused during the cool-down, so guesses learn nothing.
    assert (await sign_in(hub, "desk@bay.example", PASSWORD)).status == 429
    hub.clock.advance(int(refusal.headers["Retry-After"]))
    assert (await sign_in(hub, "desk@bay.example", PASSWORD)).status == 201  # the real user


async def test_guessing_without_waiting_is_slowed_early(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    judged, refusal = await guess_until_refused(hub, "desk@bay.example", patient=False)
    assert judged <= 4
    assert 1 <= int(refusal.headers["Retry-After"]) <= 2


async def test_an_unknown_address_is_throttled_the_same_way(hub: Hub) -> None:
    judged, _ = await guess_until_refused(hub, "nobody@bay.example", patient=True)
    assert judged <= 10


async def test_a_success_forgets_the_accounts_failures(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security")
    await hub.person(org, "partner", "desk@bay.example")
    for _ in range(3):
        assert (await sign_in(hub, "desk@bay.example", "a wrong password")).status == 401
    assert (await sign_in(hub, "desk@bay.example", PASSWORD)).status == 201
    hub.client.session.cookie_jar.clear()  # another browser
    for _ in range(3):
        assert (await sign_in(hub, "desk@bay.example", "a wrong password")).status == 401


async def test_one_address_guessing_many_accounts_is_refused(hub: Hub) -> None:
    judged = 0
    for n in range(400):
        response = await sign_in(hub, f"person{n}@bay.example", "a wrong password")
        if response.status == 401:
            judged += 1
            continue
        assert response.status == 429
        wait = int(response.headers["Retry-After"])
        if wait >= 600:
            break
        hub.clock.advance(wait)
    else:
        raise AssertionError("the address was never refused")
    assert judged <= 100


async def test_invitation_acceptance_is_rate_limited_per_address(hub: Hub) -> None:
    answers: list[Any] = []
    for _ in range(12):
        response = await hub.client.post("/api/v1/invitations/accept", json={
            "token": "not-a-real-invitation", "name": "X", "password": PASSWORD})
        answers.append((response.status, response.headers.get("Retry-After")))
    assert [status for status, _ in answers[:10]] == [404] * 10
    status, retry_after = answers[10]
    assert status == 429 and retry_after is not None and int(retry_after) >= 1
    hub.clock.advance(int(retry_after))
    response = await hub.client.post("/api/v1/invitations/accept", json={
        "token": "not-a-real-invitation", "name": "X", "password": PASSWORD})
    assert response.status == 404
