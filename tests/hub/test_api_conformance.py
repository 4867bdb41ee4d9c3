"""The API and its OpenAPI document agree: schemathesis, with every check it has, finds nothing.

`st run` (its command line, as anyone would run it) goes through every operation with a
credential of each kind that may call it: the bootstrap admin token, a publisher's and a
partner's token, a resident's subscription link and a signed-in browser's cookie. Its
checks include status codes and content types the document does not declare, answers that
break their schema, `Allow` on 405, schema-valid input refused (a handler limit stricter
than the document) and invalid input accepted (a looser one). Path ids are pinned to real
resources, so each request reaches the handler's own checks rather than a 404.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web

from hub.directory import Need, ServicePlace, ServiceSchedule
from hub.http import LIMITS, SESSIONS
from hub.throttle import RateLimit
from partners.models import utcnow
from tests.conftest import ADMIN_TOKEN, INSIDE, alert_body
from tests.hub.conftest import Sink
from tests.hub.live_api import Server, ServerLog
from tests.hub.test_openapi import PNG

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
PASSWORD = "correct horse battery staple"
EXAMPLES = 10  # fuzzed cases per operation and credential, beside the coverage phase's own
ST = [sys.executable, "-m", "schemathesis.cli"]  # `st`, from this interpreter's packages
# A signed-in browser's two cookies (session and CSRF) go in one Cookie header, which
# schemathesis cannot take apart: its "session cookie missing" cases would still carry it.
# The other credentials run that check on every operation.
LEFT_OUT = {"browser": ("--exclude-checks", "negative_data_rejection")}
# Operations whose input has rules no JSON Schema can state, so a schema-valid body may
# still get a 422 naming the field: an expiry in the past, a ring that crosses itself, a
# CAP document's own rules, a police role for an organisation that is no police service,
# more beds free than a place has.
# Their limits are declared once for handler and document (hub.alerts.MAX_TEXT, hub.geo),
# and invalid input must still be refused.
SEMANTIC = frozenset({"alert_create", "alert_preview", "alert_update", "cap_import",
                      "token_create", "invitation_create", "report_create",
                      "standalone_report_create", "report_forward",
                      "capacity_update", "evidence_create"})
# A file's type is judged from its bytes (a photo or video, else 415), which no JSON Schema
# can state.
TYPED_FILES = frozenset({"tip_create", "tip_add_files", "report_create",
                         "standalone_report_create"})
# tus 1.0 answers a request without `Tus-Resumable: 1.0.0` with 412 (Precondition Failed),
# as the protocol says; and an HTTP server takes headers it does not know, so a request
# with an undocumented header is no invalid one.
TUS = frozenset({"upload_create", "upload_offset", "upload_append"})
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422",
            "428", "429"]


@dataclass
class World:
    """A hub with one of everything, and who may speak to it."""

    headers: dict[str, dict[str, str]]  # credential name -> headers to send
    ids: dict[str, dict[str, str]]  # operationId -> its path parameters, pinned
    # credential -> operationId -> headers of a second credential of that kind, for the
    # operation that ends one (signing out, cancelling a subscription) so the rest of the
    # run keeps its own
    spent: dict[str, dict[str, dict[str, str]]]


class Seeder:
    def __init__(self, session: requests.Session, url: str) -> None:
        self.session, self.url = session, url

    def post(self, path: str, token: str | None = ADMIN_TOKEN, expect: int = 201,
             **body: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.session.post(self.url + path, headers=headers, **body)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()

    def user(self, organisation: str, email: str) -> str:
        invited = self.post("/api/v1/invitations", json={
            "organisation_id": organisation, "email": email, "role": "admin"})
        return str(self.post("/api/v1/invitations/accept", token=None, json={
            "token": invited["token"], "name": "Desk Lead", "password": PASSWORD})["id"])

    def resident(self, sink: Sink, name: str) -> str:
        """The secret of a confirmed subscription's link."""
        sink.messages.clear()
        self.post("/api/v1/subscriptions", token=None, expect=202, json={
            "email": f"{name}@home.example", "lat": INSIDE["lat"], "lon": INSIDE["lon"],
            "radius_m": 500})
        link = asyncio.run(sink.subscription_secret())
        self.post("/api/v1/subscriptions/confirm", token=None, expect=200, json={"token": link})
        return link


def build_world(server: Server, sink: Sink) -> World:
    url = server.url
    with requests.Session() as session:
        session.headers["Origin"] = url  # the public endpoints take only the hub's own
        seed = Seeder(session, url)
        partner = seed.post("/api/v1/organisations", json={
            "name": "Bay St Tower", "kind": "corporate", "sites": [INSIDE]})["id"]
        contact = seed.post(f"/api/v1/organisations/{partner}/contacts", json={
            "name": "Tower Desk", "chat_url": "json://127.0.0.1:9/hook"})["id"]
        spare_contact = seed.post(f"/api/v1/organisations/{partner}/contacts", json={
            "name": "Night Desk", "email": "night@tower.example"})["id"]
        spare_site = seed.post(f"/api/v1/organisations/{partner}/sites", json={
            **INSIDE, "name": "Annex"})["id"]
        police = seed.post("/api/v1/organisations", json={
            "name": "Toronto Police Service", "kind": "police"})["id"]
        tokens = {role: seed.post("/api/v1/tokens", json={
            "organisation_id": organisation, "role": role, **extra})["token"]
            for role, organisation, extra in (
                ("publisher", police, {}), ("partner", partner, {"contact_id": contact}))}
        spare_token = seed.post("/api/v1/tokens", json={
            "organisation_id": partner, "role": "partner"})["id"]
        alert = seed.post("/api/v1/alerts", tokens["publisher"], json=alert_body())["id"]
        revised = seed.post("/api/v1/alerts", tokens["publisher"], json=alert_body())["id"]
        sent = seed.post(f"/api/v1/alerts/{alert}/reports", tokens["partner"], data={
            "text": "Package by the east door", "lat": "43.6481", "lon": "-79.3805"},
            files={"file": ("door.png", PNG, "image/png")})
        report, report_file = sent["id"], sent["files"][0]["id"]
        attached = seed.post(f"/api/v1/alerts/{revised}/update", tokens["publisher"],
                             json={"attach": [report_file]})["id"]
        tips = seed_tips(seed, tokens["publisher"])
        link, spare_link = (seed.resident(sink, name) for name in ("sam", "alex"))
        disabled = seed.user(partner, "relief@tower.example")
        seed.user(partner, "lead@tower.example")
    browser, spare_browser = (sign_in(url, "lead@tower.example") for _ in range(2))
    place = asyncio.run_coroutine_threadsafe(shelter(server.app, partner),
                                             server.loop).result(timeout=30)
    headers = {"admin": bearer(ADMIN_TOKEN), "publisher": bearer(tokens["publisher"]),
               "partner": bearer(tokens["partner"]), "resident": bearer(link),
               "browser": browser}
    ids = {operation: partner for operation in (
        "organisation_show", "contact_create", "contact_list", "site_create", "token_list")}
    ids |= {operation: alert for operation in (
        "alert_show", "alert_chain", "alert_approve", "alert_reject", "alert_withdraw",
        "alert_cap", "ack_create",
        "ack_list", "delivery_list", "report_create", "report_list")}
    ids |= {"alert_update": revised, "alert_cancel": revised, "site_delete": spare_site,
            "contact_update": contact, "contact_delete": spare_contact,
            "token_revoke": spare_token, "user_disable": disabled, "user_enable": disabled,
            "report_file": report, "report_share": report, "report_review": report,
            "report_forward": report, "service_show": place, "capacity_update": place,
            "hsds_service_show": str(uuid.UUID(hex=place))}
    pinned = {operation: {"id": value} for operation, value in ids.items()} | tips | {
        "report_file_show": {"id": report, "file": report_file},
        "alert_attachment": {"id": attached, "n": "0"}}
    spent = {"resident": {"subscription_cancel": bearer(spare_link)},
             "browser": {"session_delete": spare_browser}}
    return World(headers, pinned, spent)


async def shelter(app: web.Application, organisation_id: str) -> str:
    """A place the partner's organisation runs, beside its tower (places come from
    `vigil services import`, which the API does not offer)."""
    async with app[SESSIONS]() as session:
        place = ServicePlace(name="Tower Shelter", need=Need.SHELTER, lat=INSIDE["lat"],
                             lon=INSIDE["lon"], hours="24/7", capacity=10, available=5,
                             capacity_updated_at=utcnow(), organisation_id=organisation_id)
        session.add(place)
        session.add(ServiceSchedule(place_id=place.id, byday="MO,TU,WE,TH,FR,SA,SU",
                                    opens_at=0, closes_at=24 * 60))
        await session.commit()
        return place.id


def seed_tips(seed: Seeder, publisher: str) -> dict[str, dict[str, str]]:
    """An open evidence request with a tip and its photo, a spare request to close, and an
    upload under way; the path parameters of the tip operations that name them."""
    appeal = seed.post("/api/v1/evidence-requests", publisher, json={
        "title": "Collision at Queen & Spadina", "description": "Did you see it?"})
    spare = seed.post("/api/v1/evidence-requests", publisher, json={
        "title": "Spare appeal", "description": "To be closed"})
    sent = seed.post("/api/v1/tips", token=None, data={
        "text": "A van drove off", "evidence_request": appeal["slug"]},
        files={"file": ("van.png", PNG, "image/png")})
    tip = seed.session.get(seed.url + "/api/v1/tips", headers=bearer(publisher)).json()[0]
    upload = seed.session.post(seed.url + "/api/v1/tips/uploads", headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": "1000000"}).headers["Location"]
    return {"tip_show": {"id": tip["id"]}, "tip_moderate": {"id": tip["id"]},
            "tip_file": {"id": tip["id"], "file": tip["files"][0]["id"]},
            "tip_add_files": {"receipt": sent["receipt"]},
            "evidence_bundle": {"id": appeal["id"]}, "evidence_close": {"id": spare["id"]},
            "upload_offset": {"id": upload.rsplit("/", 1)[-1]},
            "upload_append": {"id": upload.rsplit("/", 1)[-1]}}


def sign_in(url: str, email: str) -> dict[str, str]:
    """The headers of a browser signed in as `email`: its cookies, Origin and CSRF token."""
    with requests.Session() as session:
        signed_in = session.post(f"{url}/api/v1/session", headers={"Origin": url}, json={
            "email": email, "password": PASSWORD})
        assert signed_in.status_code == 201, signed_in.text
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    return {"Cookie": cookie, "Origin": url, "X-CSRF-Token": signed_in.json()["csrf_token"]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def config(world: World, credential: str) -> str:
    """The schemathesis.toml of one credential's run."""
    lines = [f"hooks = {json.dumps(str(HOOKS))}"]
    lines.append("[headers]")
    lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in world.headers[credential].items()]
    # The feed is a WebSocket: its handshake is in the document, but an HTTP fuzzer cannot
    # speak what follows the 101 (tests/hub/test_feed*.py do).
    lines += ["[[operations]]", 'include-operation-id = "feed_connect"', "enabled = false"]
    spent = world.spent.get(credential, {})
    for operation in sorted({*world.ids, *SEMANTIC, *spent, *TUS, *TYPED_FILES}):
        lines += ["[[operations]]", f"include-operation-id = {json.dumps(operation)}"]
        if operation in world.ids:
            lines.append("parameters = { " + ", ".join(
                f'"path.{name}" = {json.dumps(value)}'
                for name, value in world.ids[operation].items()) + " }")
        if operation in spent:
            lines.append("headers = { " + ", ".join(
                f"{json.dumps(k)} = {json.dumps(v)}" for k, v in spent[operation].items()) + " }")
        if operation in SEMANTIC or operation in TYPED_FILES:
            # Refusals on meaning (422) or on a file's bytes (415) a valid body may still get.
            meaning = ', "422"' if operation in SEMANTIC else ""
            typed = ', "415"' if operation in TYPED_FILES else ""
            lines.append("checks.positive_data_acceptance.expected-statuses = "
                         f'["2xx", "401", "403", "404", "409"{typed}{meaning}, "429"]')
        if operation in TUS:
            lines += ["checks.missing_required_header.expected-statuses = "
                      '["400", "401", "403", "406", "412", "415", "422"]',
                      "checks.negative_data_rejection.expected-statuses = "
                      + json.dumps(REFUSALS), "generation.allow-extra-parameters = false"]
    return "\n".join(lines) + "\n"


def run(url: str, folder: Path, world: World, credential: str) -> subprocess.Popen[str]:
    (folder / f"{credential}.toml").write_text(config(world, credential))
    return subprocess.Popen(
        [*ST, "--no-color", "--config-file", str(folder / f"{credential}.toml"), "run",
         f"{url}/api/v1/openapi.json", "--checks", "all", "--phases",
         "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES),
         "--generation-deterministic", "--workers", "1", "--request-timeout", "10",
         "--suppress-health-check", "all", *LEFT_OUT.get(credential, ())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=folder)  # where it keeps its cache


def failures(output: str) -> str:
    """The FAILURES section of the report (where schemathesis lists each with a curl line)."""
    found = re.search(r"=+ FAILURES =+\n(.*?)\n=+ SUMMARY", output, re.S)
    return found.group(1) if found else output[-6000:]


@pytest.fixture
def mailed_server(make_app: Callable[..., web.Application], sink: Sink) -> Iterator[Server]:
    running = Server(make_app(smtp_url=f"smtp://127.0.0.1:{sink.port}"))
    # What is fuzzed here is what the tip endpoints do with what they are sent: a tipster's
    # budget (a few a minute, held by tests/hub/test_tips.py) would leave them answering 429.
    running.app[LIMITS].update(tip=RateLimit(burst=10_000, per_minute=10_000),
                               tip_upload=RateLimit(burst=10_000, per_minute=10_000))
    running.start()
    yield running
    running.stop()


def test_schemathesis_finds_nothing(mailed_server: Server, sink: Sink, server_log: ServerLog,
                                    tmp_path: Path) -> None:
    world = build_world(mailed_server, sink)
    runs = {credential: run(mailed_server.url, tmp_path, world, credential)
            for credential in world.headers}
    outputs = {credential: process.communicate(timeout=600)[0]
               for credential, process in runs.items()}
    for credential, output in outputs.items():  # kept beside the configs, for a look
        (tmp_path / f"{credential}.txt").write_text(output)
    broken = {credential: failures(output) for credential, output in outputs.items()
              if runs[credential].returncode != 0}
    logged = server_log.drain()
    if broken or logged:  # every credential's findings at once
        report = "\n\n".join(f"##### as {credential}\n{text}"
                             for credential, text in broken.items())
        pytest.fail(f"{report}\n\n##### the hub logged\n{logged}", pytrace=False)
    for credential, output in outputs.items():  # a run that tested nothing proves nothing
        assert re.search(r"Tested: +(\d+)", output), (credential, output[-2000:])
