"""The police pages for imported CAP alerts, without a browser: the dashboard's CAP panel
(signature, withheld, languages, named areas, resources, parameters) and alerts whose areas
are only named (no geometry) on the dashboard, the approval queue and the console."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.capdoc import cap_alert, info
from tests.conftest import Browser, Clock, Hub

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "cap-samples"
GEOCODE = ("profile:CAP-CP:Location:0.3", "3520005")
EXTRA = ("<web>https://tfs.example/incidents/1</web>"
         "<parameter><valueName>layer:EC-MSC-SMC:1.0:Alert_Name</valueName>"
         "<value>gas leak</value></parameter>"
         "<resource><resourceDesc>Map of the closure</resourceDesc><mimeType>image/png"
         "</mimeType><size>2048</size><uri>https://tfs.example/map.png</uri></resource>"
         "<resource><resourceDesc>Trick link</resourceDesc><mimeType>text/html</mimeType>"
         "<uri>javascript:alert(1)</uri></resource>")


@pytest.fixture
async def hub(aiohttp_client: Any, make_app: Callable[..., web.Application],
              clock: Clock) -> Hub:
    # Extreme alerts wait for an approver, so the approval queue can show one.
    return Hub(await aiohttp_client(make_app(approval_for="Extreme")), clock)


async def police(hub: Hub, browsers: Callable[[], Browser], role: str = "publisher",
                 organisation: str | None = None) -> tuple[str, str, Browser]:
    """The police service, a publisher token of it, and a person of `role` signed in."""
    org = organisation or await hub.organisation("Toronto Police Service", "police")
    token = await hub.token(org, "publisher")
    await hub.person(org, role, f"{role}@tps.example")
    browser = browsers()
    if (await browser.sign_in(f"{role}@tps.example"))["step"] == "enrol":
        await browser.enrol()
    return org, token, browser


async def import_cap(hub: Hub, token: str, document: bytes) -> Any:
    response = await hub.client.post("/api/v1/cap", data=document, headers={
        **hub.auth(token), "Content-Type": "application/cap+xml"})
    body = await response.json()
    assert response.status == 201, body
    return body


def named_only(language: str, headline: str, area: str, *, severity: str = "Severe",
               extra: str = "") -> str:
    return info(language, headline, polygons=(), geocodes=(GEOCODE,), area_desc=area,
                severity=severity, extra=extra)


def section(page: str, element_id: str) -> str:
    """The text of the element with this id, up to the next section (enough to look in)."""
    start = page.index(f'id="{element_id}"')
    end = page.find("</section>", start)
    return page[start:end]


def text_of(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))


async def test_a_geocode_only_alert_shows_its_named_places_and_every_language(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    _, token, browser = await police(hub, browsers)
    created = await import_cap(hub, token, cap_alert("TFS-NAMED-1", infos=(
        named_only("en-CA", "Gas leak, City of Toronto", "City of Toronto", extra=EXTRA),
        named_only("fr-CA", "Fuite de gaz, Ville de Toronto", "Ville de Toronto"))))
    alert = await hub.call("GET", f"/api/v1/alerts/{created['id']}", token, expect=200)
    assert alert["area"] is None
    assert [i["language"] for i in alert["cap"]["infos"]] == ["en-CA", "fr-CA"]

    page = await browser.call("GET", f"/alerts/{created['id']}", 200)
    panel = section(page, "cap")
    words = text_of(panel)
    assert f'data-message="{created["id"]}"' in panel
    for expected in ("Sender cap@tfs.example", "Identifier TFS-NAMED-1", "CAP status Actual",
                     "Scope Public", "Signature absent", "en-CA Gas leak, City of Toronto",
                     "fr-CA Fuite de gaz, Ville de Toronto",
                     "City of Toronto (named only) profile:CAP-CP:Location:0.3: 3520005",
                     "Ville de Toronto", "layer:EC-MSC-SMC:1.0:Alert_Name gas leak",
                     "Map of the closure image/png, 2048 bytes", "Trick link text/html"):
        assert expected in words, expected
    assert "Reached nobody" not in words  # it was delivered, just to nobody by geofence
    assert 'lang="fr-CA"' in panel and 'id="cap-info-1"' in panel
    assert '<a href="https://tfs.example/map.png"' in panel
    assert 'href="javascript:' not in page and "javascript:alert(1)" in words
    # The map has no geometry to draw: the area is the named places, in words.
    named = section(page, "area-named")
    assert not re.match(r'id="area-named"[^>]*hidden', named)
    assert "Named places only" in named
    assert "City of Toronto (profile:CAP-CP:Location:0.3: 3520005)" in text_of(named)
    assert '<a href="/api/v1/alerts/' in page  # the CAP XML of the message stays linked


async def test_a_signed_expired_alert_shows_a_valid_signature_and_why_it_reached_nobody(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    _, token, browser = await police(hub, browsers)
    created = await import_cap(hub, token, (SAMPLES / "earthquake_signed.cap").read_bytes())
    assert created["withheld"] == "it had expired when it arrived"
    page = await browser.call("GET", f"/alerts/{created['id']}", 200)
    panel = section(page, "cap")
    assert 'class="signature sig-valid"' in panel
    words = text_of(panel)
    assert "Signature valid" in words and "The signature is intact" in words
    assert "Reached nobody: it had expired when it arrived." in words
    assert "Sender http://www.cisn.org/ncmc.html" in words
    assert "Identifier USGS-earthquakes-nc71635010.28103893.20110906T171538.586Z" in words
    # It has a geometry, so the named-places note stays hidden.
    assert re.search(r'id="area-named"[^>]*hidden', page)


async def test_a_tampered_signature_is_a_warning_and_a_draft_reaches_nobody(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    _, token, browser = await police(hub, browsers)
    signed = (SAMPLES / "earthquake_signed.cap").read_bytes()
    created = await import_cap(hub, token, signed.replace(b"<headline>", b"<headline>X", 1))
    page = await browser.call("GET", f"/alerts/{created['id']}", 200)
    panel = section(page, "cap")
    assert 'class="signature sig-invalid"' in panel
    assert "Warning: the signature is invalid." in text_of(panel)

    draft = await import_cap(hub, token, cap_alert("TFS-DRAFT-1", status="Draft",
                                                   scope="Restricted",
                                                   restriction="TLP:AMBER police only"))
    words = text_of(section(await browser.call("GET", f"/alerts/{draft['id']}", 200), "cap"))
    assert "Reached nobody: its CAP status is Draft" in words
    assert "Scope Restricted: TLP:AMBER police only" in words
    assert "CAP status Draft" in words


async def test_an_alert_written_in_vigil_has_no_cap_panel(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    _, token, browser = await police(hub, browsers)
    alert = await hub.publish(token)
    page = await browser.call("GET", f"/alerts/{alert['id']}", 200)
    assert re.search(r'<section id="cap"[^>]*data-message=""[^>]*hidden', page)
    assert "Signature" not in page


async def test_the_queue_and_the_console_name_the_places_of_an_alert_without_geometry(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    org, token, publisher = await police(hub, browsers)
    held = await import_cap(hub, token, cap_alert("TFS-NAMED-2", infos=(
        named_only("en-CA", "Chlorine release, Port Lands", "Port Lands", severity="Extreme"),)))
    assert held["status"] == "pending"
    _, _, approver = await police(hub, browsers, "approver", org)
    queue = await approver.call("GET", "/approvals", 200)
    item = queue[queue.index(f'id="held-{held["id"]}"'):]
    assert "data-area=" not in item  # no map without geometry
    assert "Named places only" in item
    assert "Port Lands (profile:CAP-CP:Location:0.3: 3520005)" in text_of(item)

    console = await publisher.call("GET", "/", 200)
    recent = text_of(console[console.index('id="recent-heading"'):])
    assert "Chlorine release, Port Lands" in recent
    assert "Named places only: Port Lands (profile:CAP-CP:Location:0.3: 3520005)" in recent
    assert 'id="cap-import-form"' in console and 'accept=".cap,.xml' in console
