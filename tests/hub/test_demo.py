"""The demo data set: what it enrols, that re-seeding replaces tokens, and the welcome text."""

from __future__ import annotations

import json
import shlex
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
from aiohttp import web
from sqlmodel import func, select

from hub import audit, demo
from hub.alerts import read_alert
from hub.db import Sessions, create_engine, session_factory, upgrade
from hub.geo import parse_area
from hub.settings import Settings
from hub.targeting import organisations_in
from hub.welcome import welcome
from partners.credentials import find_token
from partners.models import Contact, Organisation, OrgKind, Role, Site, Tier
from tests.conftest import NOW, OUTSIDE, Clock


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[Sessions]:
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    yield session_factory(engine)
    await engine.dispose()


async def _count(sessions: Sessions, model: Any) -> int:
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def _org_ids(sessions: Sessions) -> dict[str, str]:
    async with sessions() as session:
        rows = (await session.exec(select(Organisation.name, Organisation.id))).all()
        return dict(rows)


async def test_seed_enrols_police_bias_and_desks_with_sites_and_both_tiers(
        sessions: Sessions) -> None:
    await demo.seed(sessions, clock=Clock())
    async with sessions() as session:
        organisations = (await session.exec(select(Organisation))).all()
        kinds = [org.kind for org in organisations]
        assert kinds.count(OrgKind.POLICE) >= 1
        assert kinds.count(OrgKind.BIA) >= 3
        assert sum(kind in (OrgKind.CORPORATE, OrgKind.VENUE) for kind in kinds) >= 5
        for org in organisations:
            sites = (await session.exec(select(Site).where(Site.organisation_id == org.id))).all()
            tiers = (await session.exec(
                select(Contact.tier).where(Contact.organisation_id == org.id))).all()
            assert sites, org.name
            assert Tier.PRIMARY in tiers and Tier.SECONDARY in tiers, org.name
        addresses = (await session.exec(select(Contact.addresses))).all()
    chat = [a["chat_url"] for a in addresses if "chat_url" in a]
    emails = [a.get("email") for a in addresses]
    assert chat and all(url and url.startswith("json://127.0.0.1:9/hooks/") for url in chat)
    assert all(email and email.endswith(("@example.org", "@example.com")) for email in emails)


async def test_seeding_twice_adds_nothing_and_replaces_the_tokens(sessions: Sessions) -> None:
    first = await demo.seed(sessions, clock=Clock())
    counts = [await _count(sessions, model) for model in (Organisation, Site, Contact)]
    second = await demo.seed(sessions, clock=Clock())
    assert [await _count(sessions, model) for model in (Organisation, Site, Contact)] == counts
    assert len(first.rows) == len(second.rows) == 3 + len(demo.PARTNERS)
    async with sessions() as session:
        for row in first.rows:
            assert await find_token(session, row.token) is None, row
        for row in second.rows:
            token = await find_token(session, row.token)
            assert token is not None and token.role == row.role, row
        verdict = await audit.verify(session)
    assert verdict.ok and verdict.checked > 0


async def test_reseeding_points_the_demo_chat_contacts_at_this_runs_catcher(
        sessions: Sessions) -> None:
    # A demo database from an older release (the discard port) or an earlier run on another
    # port: each start moves the demo's own chat URLs to its webhook catcher, and leaves a
    # chat URL an operator set alone.
    await demo.seed(sessions, clock=Clock())
    operator = "json://127.0.0.1:9/elsewhere/ops-room"
    async with sessions() as session:
        contact = next(c for c in (await session.exec(select(Contact))).all()
                       if "chat_url" not in c.addresses)
        contact.addresses = {**contact.addresses, "chat_url": operator}
        session.add(contact)
        await session.commit()
    for hooks in ("json://127.0.0.1:8081/demo/hooks", "json://127.0.0.1:9090/demo/hooks"):
        await demo.seed(sessions, clock=Clock(), hooks=hooks)
        async with sessions() as session:
            chat = {a["chat_url"] for a in (await session.exec(select(Contact.addresses))).all()
                    if "chat_url" in a}
        seeded = {f"{hooks}/{c.chat_hook}" for org in demo.ORGANISATIONS
                  for c in org.contacts if c.chat_hook}
        assert chat == seeded | {operator}
    async with sessions() as session:
        assert (await audit.verify(session)).ok


async def test_seed_keeps_an_organisation_enrolled_before_it(sessions: Sessions) -> None:
    async with sessions() as session:
        session.add(Organisation(name=demo.POLICE.name, kind=OrgKind.POLICE))
        await session.commit()
    credentials = await demo.seed(sessions, clock=Clock())
    async with sessions() as session:
        police = (await session.exec(
            select(Organisation).where(Organisation.name == demo.POLICE.name))).all()
        admin = await find_token(session, credentials.token(Role.ADMIN))
    assert len(police) == 1 and admin is not None and admin.organisation_id == police[0].id


def test_every_bia_boundary_is_a_valid_area_holding_its_sites() -> None:
    assert set(demo.BIA_BOUNDARIES) == {bia.name for bia in demo.BIAS}
    for bia in demo.BIAS:
        area = parse_area(demo.BIA_BOUNDARIES[bia.name])
        ring = demo.BIA_BOUNDARIES[bia.name]["coordinates"][0]
        assert ring[0] == ring[-1]
        lats = np.array([site.lat for site in bia.sites])
        lons = np.array([site.lon for site in bia.sites])
        assert area.contains(lats, lons).all(), bia.name


def test_every_site_is_in_downtown_toronto() -> None:
    for org in demo.ORGANISATIONS:
        for site in org.sites:
            assert 43.63 < site.lat < 43.68 and -79.41 < site.lon < -79.36, site


async def test_sample_alert_reaches_the_king_and_bay_towers_only(sessions: Sessions) -> None:
    await demo.seed(sessions, clock=Clock())
    ids = await _org_ids(sessions)
    area = parse_area(demo.sample_alert(NOW)["area"])
    async with sessions() as session:
        reached = set(await organisations_in(session, area))
    assert {ids["Royal Bank Plaza"], ids["First Canadian Place"]} <= reached
    for name in ("Rogers Centre", "Bloor-Yorkville BIA", "Union Station", "Roy Thomson Hall"):
        assert ids[name] not in reached, name
    assert not area.contains(np.array([OUTSIDE["lat"]]), np.array([OUTSIDE["lon"]])).any()


def test_sample_alert_is_a_valid_publish_body() -> None:
    body = demo.sample_alert(NOW)
    draft = read_alert(body, NOW)
    assert draft.headline == "Suspicious package, King St W & Bay St"
    assert demo.SAMPLE_ALERT.keys() | {"expires"} == body.keys()
    body["area"]["coordinates"].clear()
    assert demo.SAMPLE_AREA["coordinates"], "sample_alert must hand out a copy"


def _command(text: str, marker: str) -> list[str]:
    """The words of the first shell command containing `marker`, continuation lines joined."""
    joined = text.replace("\\\n", " ")
    line = next(line for line in joined.splitlines() if marker in line)
    return shlex.split(line)


def _heredoc(text: str, opener: str) -> str:
    start = text.index(opener + " <<'EOF'\n") + len(opener + " <<'EOF'\n")
    return text[start:text.index("\nEOF", start)]


async def test_welcome_lists_urls_every_token_and_a_working_walkthrough(
        sessions: Sessions) -> None:
    credentials = await demo.seed(sessions, clock=Clock())
    text = welcome("http://127.0.0.1:8080/", credentials)
    for url in ("http://127.0.0.1:8080/api/v1", "ws://127.0.0.1:8080/api/v1/feed",
                "http://127.0.0.1:8080/healthz", "http://127.0.0.1:8080/api/v1/openapi.json"):
        assert url in text
    for row in credentials.rows:
        assert row.token in text and row.organisation in text
    body = json.loads(_heredoc(text, "cat > vigil-alert.json"))
    assert body == demo.sample_alert(credentials.seeded_at)
    compile(_heredoc(text, "python3 -"), "watch.py", "exec")
    ack = _command(text, "-X POST \"$API/alerts/$ALERT_ID/acks\"")
    desk = credentials.token(Role.PARTNER, demo.SAMPLE_DESK)
    assert f"Authorization: Bearer {desk}" in ack
    assert json.loads(ack[ack.index("-d") + 1])["status"] == "acknowledged"
    publish = _command(text, "-X POST \"$API/alerts\"")
    assert f"Authorization: Bearer {credentials.token(Role.PUBLISHER)}" in publish
    assert "wss://vigil.example.org/api/v1/feed" in welcome(
        "https://vigil.example.org", credentials)


async def test_walkthrough_runs_against_the_seeded_hub(
        sessions: Sessions, aiohttp_client: Any, make_app: Callable[..., web.Application],
        clock: Clock) -> None:
    credentials = await demo.seed(sessions, clock=clock)
    client = await aiohttp_client(make_app())

    def auth(role: Role, organisation: str = demo.POLICE.name) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.token(role, organisation)}"}

    published = await client.post("/api/v1/alerts", headers=auth(Role.PUBLISHER),
                                  json=demo.sample_alert(clock()))
    assert published.status == 201, await published.json()
    alert_id = (await published.json())["id"]
    ack = await client.post(f"/api/v1/alerts/{alert_id}/acks",
                            headers=auth(Role.PARTNER, demo.SAMPLE_DESK),
                            json={"status": "acknowledged", "note": "Lobby cleared."})
    assert ack.status == 201, await ack.json()
    hidden = await client.get(f"/api/v1/alerts/{alert_id}",
                              headers=auth(Role.PARTNER, "Rogers Centre"))
    assert hidden.status == 404
    admin = await client.get("/api/v1/organisations", headers=auth(Role.ADMIN))
    assert admin.status == 200 and len(await admin.json()) == len(demo.ORGANISATIONS)


async def test_demo_logins_sign_in_and_change_on_every_start(
        sessions: Sessions, aiohttp_client: Any, make_app: Callable[..., web.Application],
        clock: Clock) -> None:
    first = await demo.seed(sessions, clock=clock)
    second = await demo.seed(sessions, clock=clock)
    client = await aiohttp_client(make_app())
    steps = {}
    for login in second.logins:
        client.session.cookie_jar.clear()
        answer = await client.post("/api/v1/session", json={"email": login.email,
                                                             "password": login.password})
        assert answer.status == 201, await answer.json()
        steps[login.role] = (await answer.json())["step"]
    assert steps == {Role.ADMIN: "enrol", Role.PUBLISHER: "enrol", Role.APPROVER: "enrol",
                     Role.PARTNER: "done"}
    client.session.cookie_jar.clear()
    stale = await client.post("/api/v1/session", json={"email": first.logins[0].email,
                                                        "password": first.logins[0].password})
    assert stale.status == 401
    text = welcome("http://127.0.0.1:8080", second)
    assert "http://127.0.0.1:8080/login" in text
    assert all(login.password in text and login.email in text for login in second.logins)
