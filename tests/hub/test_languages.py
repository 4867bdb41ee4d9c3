"""Alerts in several languages: each recipient reads the one they chose (a contact's or a
resident's language, a browser's Accept-Language), else the alert's first."""

from __future__ import annotations

import email.message
import re
from collections.abc import Callable
from email.header import decode_header, make_header
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from sqlmodel import select

from hub.cap_alerts import accepted_languages, texts
from hub.http import SESSIONS
from hub.models import Alert
from partners.models import Subscription
from tests.capdoc import cap_alert, info
from tests.conftest import INSIDE, Browser, Clock, Hub
from tests.hub.conftest import Sink, settled

ENGLISH = info("en-CA", "Gas leak, Bay St", "Gas leak",
               description="Crews are on site.", instruction="Stay away from the area.")
FRENCH = info("fr-CA", "Fuite de gaz, rue Bay", "Fuite de gaz",
              description="Les équipes sont sur place.", instruction="Éloignez-vous du secteur.")
FORM = {"email": "sam@resident.example", "lat": "43.6481", "lon": "-79.3805",
        "radius_m": "500"}


def bilingual(identifier: str = "TFS-2026-0100") -> bytes:
    return cap_alert(identifier, infos=(ENGLISH, FRENCH))


async def import_cap(hub: Hub, token: str, document: bytes) -> str:
    response = await hub.client.post("/api/v1/cap", data=document, headers={
        **hub.auth(token), "Content-Type": "application/cap+xml"})
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


async def stored_alert(hub: Hub, alert_id: str) -> Alert:
    async with hub.client.app[SESSIONS]() as session:
        alert = await session.get(Alert, alert_id)
    assert alert is not None
    return alert


def subject(message: email.message.Message) -> str:
    return str(make_header(decode_header(str(message["Subject"]))))


def bodies(message: email.message.Message) -> dict[str, str]:
    """The text and html parts of a message, decoded."""
    found: dict[str, str] = {}
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            charset = part.get_content_charset() or "utf-8"
            found[part.get_content_subtype()] = payload.decode(charset)
    return found


def mail_to(sink: Sink, address: str) -> email.message.Message:
    [message] = [m for m in sink.messages if m["To"] == address]
    return message


# -- picking a language ---------------------------------------------------------------------

async def test_texts_pick_the_exact_tag_then_the_primary_language_then_the_first(
        hub: Hub) -> None:
    alert = await stored_alert(hub, await import_cap(hub, await hub.publisher(), bilingual()))
    assert texts(alert, ["fr-CA"]).headline == "Fuite de gaz, rue Bay"
    assert texts(alert, ["FR-ca"]).language == "fr-CA"
    assert texts(alert, ["fr"]).language == "fr-CA"  # same primary language
    assert texts(alert, ["fr-FR"]).instruction == "Éloignez-vous du secteur."
    assert texts(alert, ["de", "fr"]).language == "fr-CA"  # the first wanted it has
    assert texts(alert, ["en-GB", "fr"]).language == "en-CA"
    assert texts(alert, ["de"]).headline == "Gas leak, Bay St"  # none: the first language
    assert texts(alert, []).language == "en-CA"
    assert accepted_languages("en;q=0.5, fr-CA, fr;q=0.8, *") == ["fr-CA", "fr", "en"]


# -- email ----------------------------------------------------------------------------------

async def test_a_bilingual_cap_alert_reaches_each_recipient_in_their_language(
        working_hub: Any, sink: Sink) -> None:
    hub = await working_hub(sink.port)
    publisher = await hub.publisher()
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.contact(org, "Anne Roy", email="anne@example.org", language="fr-CA")
    await hub.contact(org, "Bob Lee", email="bob@example.org", language="en-CA")
    await hub.contact(org, "Cy Doe", email="cy@example.org")  # no language: the first
    await hub.contact(org, "Dana Kim", email="dana@example.org", language="de")  # not sent in
    resident = await hub.client.post("/api/v1/subscriptions", json={
        "email": FORM["email"], "lat": 43.6481, "lon": -79.3805, "radius_m": 500},
        headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert resident.status == 202
    secret = await sink.subscription_secret()
    confirmed = await hub.client.post("/api/v1/subscriptions/confirm", json={"token": secret})
    assert confirmed.status == 200
    sink.messages.clear()

    alert_id = await import_cap(hub, publisher, bilingual())
    rows = await settled(hub, publisher, alert_id)
    assert {r["status"] for r in rows} == {"sent"} and len(rows) == 5

    french = mail_to(sink, "anne@example.org")
    assert subject(french) == "[TLP:CLEAR] SEVERE: Fuite de gaz, rue Bay"
    text, html = bodies(french)["plain"], bodies(french)["html"]
    assert "Fuite de gaz, rue Bay" in text and "Les équipes sont sur place." in text
    assert "Éloignez-vous du secteur." in text and "Gas leak" not in text
    assert '<html lang="fr-CA">' in html and "Éloignez-vous du secteur." in html
    assert "Stay away" not in html
    for address in ("bob@example.org", "cy@example.org", "dana@example.org"):
        english = mail_to(sink, address)
        assert subject(english) == "[TLP:CLEAR] SEVERE: Gas leak, Bay St", address
        text, html = bodies(english)["plain"], bodies(english)["html"]
        assert "Stay away from the area." in text and "Fuite" not in text
        assert '<html lang="en-CA">' in html and "Fuite" not in html
    # The resident chose French by their browser when they subscribed.
    mine = mail_to(sink, FORM["email"])
    assert subject(mine).endswith("Fuite de gaz, rue Bay")
    assert "Éloignez-vous du secteur." in bodies(mine)["plain"]
    assert "List-Unsubscribe" in mine


# -- contacts -------------------------------------------------------------------------------

async def test_a_contact_language_is_checked_kept_changed_and_cleared(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    path = f"/api/v1/organisations/{org}/contacts"
    for bad in ("français", "f", "fr_CA", "fr-CA-toolongsubtag", 7, "x" * 36):
        answer = await hub.call("POST", path, expect=422, json={
            "name": "Anne Roy", "email": "anne@example.org", "language": bad})
        assert set(answer["fields"]) == {"language"}, (bad, answer)
    assert await hub.call("GET", path, expect=200) == []
    made = await hub.call("POST", path, expect=201, json={
        "name": "Anne Roy", "email": "anne@example.org", "language": "fr-CA"})
    assert made["language"] == "fr-CA"
    plain = await hub.call("POST", path, expect=201, json={
        "name": "Bob Lee", "email": "bob@example.org"})
    assert plain["language"] is None
    contact = f"/api/v1/contacts/{made['id']}"
    refused = await hub.call("PATCH", contact, expect=422, json={"language": "en CA"})
    assert set(refused["fields"]) == {"language"}
    assert (await hub.call("PATCH", contact, expect=200, json={"name": "Anne R."}))[
        "language"] == "fr-CA"  # a change elsewhere keeps it
    assert (await hub.call("PATCH", contact, expect=200, json={"language": "es-419"}))[
        "language"] == "es-419"
    assert (await hub.call("PATCH", contact, expect=200, json={"language": None}))[
        "language"] is None
    assert (await hub.call("PATCH", contact, expect=200, json={"language": "fr"}))[
        "language"] == "fr"
    assert (await hub.call("PATCH", contact, expect=200, json={"language": ""}))[
        "language"] is None
    listed = await hub.call("GET", path, expect=200)
    assert {c["name"]: c["language"] for c in listed} == {"Anne R.": None, "Bob Lee": None}


async def test_the_openapi_contact_schemas_describe_the_language(hub: Hub) -> None:
    document = await hub.call("GET", "/api/v1/openapi.json", expect=200)
    schemas = document["components"]["schemas"]

    def valid(name: str, instance: Any) -> bool:
        validator = Draft202012Validator({**schemas[name], "components": document["components"]})
        return bool(validator.is_valid(instance))

    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    made = await hub.call("POST", f"/api/v1/organisations/{org}/contacts", expect=201, json={
        "name": "Anne Roy", "email": "anne@example.org", "language": "fr-CA"})
    assert valid("Contact", made) and not valid("Contact", {
        k: v for k, v in made.items() if k != "language"})
    cleared = await hub.call("PATCH", f"/api/v1/contacts/{made['id']}", expect=200,
                             json={"language": None})
    assert valid("Contact", cleared)
    for name in ("ContactCreate", "ContactUpdate"):
        body = {"name": "Anne Roy", "email": "anne@example.org"}
        for language in ("fr-CA", "es-419", "", None):
            assert valid(name, {**body, "language": language}), (name, language)
        for language in ("fr_CA", "français", 7):
            assert not valid(name, {**body, "language": language}), (name, language)
        assert "language tag" in schemas[name]["properties"]["language"]["description"]


async def test_the_organisation_page_has_a_language_field_for_contacts(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    await hub.person(org, "admin", "boss@bay.example")
    browser = browsers()
    await browser.sign_in("boss@bay.example")
    await browser.enrol()
    html = await browser.call("GET", f"/organisations/{org}", 200)
    assert re.search(r'<input id="contact-language" name="language" type="text"[^>]*'
                     r'placeholder="fr-CA"', html), html


# -- residents ------------------------------------------------------------------------------

async def page_form(hub: Hub, path: str, form: dict[str, str],
                    accept_language: str) -> tuple[int, str]:
    """Post a page's form as a browser whose languages are `accept_language`."""
    headers = {"Accept-Language": accept_language}
    page = await hub.client.get(path, headers=headers)
    found = re.search(r'name="csrf_token" value="(\w+)"', await page.text())
    assert found is not None
    origin = str(hub.client.make_url("/")).rstrip("/")
    response = await hub.client.post(path, data={"csrf_token": found.group(1), **form},
                                     headers={**headers, "Origin": origin})
    return response.status, await response.text()


async def languages_stored(hub: Hub) -> dict[str, str | None]:
    async with hub.client.app[SESSIONS]() as session:
        return {row.email: row.language
                for row in (await session.exec(select(Subscription))).all()}


async def test_the_subscribe_form_keeps_the_residents_language(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock,
        sink: Sink) -> None:
    hub = Hub(await aiohttp_client(make_app(smtp_url=f"smtp://127.0.0.1:{sink.port}")), clock)
    page = await hub.client.get("/subscribe", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
    html = await page.text()
    assert re.search(r'<input id="language" name="language"[^>]*value="fr-CA"', html), html
    # The form as the page filled it in.
    status, html = await page_form(hub, "/subscribe", {**FORM, "language": "fr-CA"},
                                   "fr-CA,fr;q=0.9")
    assert status == 200 and "Check your email" in html
    # The field left blank: the browser's first language.
    status, _ = await page_form(hub, "/subscribe", {**FORM, "email": "lea@resident.example",
                                                    "language": ""}, "fr-CA,en;q=0.5")
    assert status == 200
    # Another language chosen on the form wins over the browser's.
    status, _ = await page_form(hub, "/subscribe", {**FORM, "email": "ana@resident.example",
                                                    "language": "es"}, "fr-CA")
    assert status == 200
    # Through the API (as scripts sign up), from the header, or as given.
    answer = await hub.client.post("/api/v1/subscriptions", headers={
        "Accept-Language": "fr-CA"}, json={"email": "max@resident.example", "lat": 43.6481,
                                           "lon": -79.3805, "radius_m": 500})
    assert answer.status == 202
    answer = await hub.client.post("/api/v1/subscriptions", json={
        "email": "ola@resident.example", "lat": 43.6481, "lon": -79.3805, "radius_m": 500,
        "language": "pl"})
    assert answer.status == 202
    assert await languages_stored(hub) == {
        FORM["email"]: "fr-CA", "lea@resident.example": "fr-CA", "ana@resident.example": "es",
        "max@resident.example": "fr-CA", "ola@resident.example": "pl"}


async def test_a_bad_language_on_the_subscribe_form_is_422_naming_it(hub: Hub) -> None:
    status, html = await page_form(hub, "/subscribe", {**FORM, "language": "French!"}, "en")
    assert status == 422 and 'id="language-error"' in html and 'value="French!"' in html
    answer = await hub.call("POST", "/api/v1/subscriptions", expect=422, json={
        "email": FORM["email"], "lat": 43.6481, "lon": -79.3805, "radius_m": 500,
        "language": "fr_CA"})
    assert set(answer["fields"]) == {"language"}
    assert await languages_stored(hub) == {}


async def test_without_a_language_anywhere_none_is_stored(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock,
        sink: Sink) -> None:
    hub = Hub(await aiohttp_client(make_app(smtp_url=f"smtp://127.0.0.1:{sink.port}")), clock)
    answer = await hub.client.post("/api/v1/subscriptions", headers={"Accept-Language": "*"},
                                   json={"email": FORM["email"], "lat": 43.6481,
                                         "lon": -79.3805, "radius_m": 500})
    assert answer.status == 202
    assert await languages_stored(hub) == {FORM["email"]: None}


# -- the public page ------------------------------------------------------------------------

async def test_the_public_page_shows_each_alert_in_the_viewers_language(hub: Hub) -> None:
    await import_cap(hub, await hub.publisher(), bilingual())
    french = await (await hub.client.get("/public", headers={
        "Accept-Language": "fr"})).text()
    assert '<span lang="fr-CA">Fuite de gaz, rue Bay</span>' in french
    assert '<span lang="fr-CA">Fuite de gaz</span>' in french
    assert '<p class="text" lang="fr-CA">Les équipes sont sur place.</p>' in french
    assert '<span lang="fr-CA">Éloignez-vous du secteur.</span>' in french
    assert "Gas leak, Bay St" not in french
    assert re.search(r'Also in:\s*<a href="/public\?lang=en-CA#alert-\w+" hreflang="en-CA" '
                     r'lang="en-CA">en-CA</a>', french)
    english = await (await hub.client.get("/public", headers={
        "Accept-Language": "de-DE, en;q=0.5"})).text()
    assert '<span lang="en-CA">Gas leak, Bay St</span>' in english and "Fuite" not in english
    assert 'hreflang="fr-CA"' in english
    neither = await (await hub.client.get("/public")).text()
    assert '<span lang="en-CA">Gas leak, Bay St</span>' in neither
    picked = await (await hub.client.get("/public?lang=fr-CA", headers={
        "Accept-Language": "en"})).text()
    assert '<span lang="fr-CA">Fuite de gaz, rue Bay</span>' in picked


async def test_the_public_page_lists_an_alert_that_only_names_places(hub: Hub) -> None:
    named = info("en-CA", "Boil water advisory", "Boil water", polygons=(),
                 geocodes=(("profile:CAP-CP:Location:0.3", "3520005"),),
                 area_desc="City of Toronto")
    await import_cap(hub, await hub.publisher(), cap_alert("TFS-2026-0101", infos=(named,)))
    response = await hub.client.get("/public")
    html = await response.text()
    assert response.status == 200 and "Boil water advisory" in html
    assert "Named places only (no map outline): City of Toronto." in html
    assert "data-area='null'" in html
    assert "Also in:" not in html
