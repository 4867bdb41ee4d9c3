"""CAP over the API: import (samples, violations, hostile XML), export and round trip,
updates and cancels by CAP, withheld messages, signatures, and the public feeds."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from hub.cap import MAX_DOCUMENT_BYTES, parse
from hub.cap.signature import sign, verify
from tests.cap.conftest import SAMPLES, VALID_SAMPLES
from tests.capdoc import AROUND_INSIDE, AROUND_OUTSIDE, cap_alert, info, reference
from tests.conftest import INSIDE, NOW, OUTSIDE, SQUARE, Browser, Clock, Hub

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).parents[1] / "data" / "CAP-v1.2.xsd")))
ATOM = "{http://www.w3.org/2005/Atom}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""


async def send(hub: Hub, token: str, data: bytes, expect: int | None = 201,
               content_type: str = "application/cap+xml") -> Any:
    response = await hub.client.post("/api/v1/cap", data=io.BytesIO(data), headers={
        **hub.auth(token), "Content-Type": content_type})
    body = await response.json()
    if expect is not None:
        assert response.status == expect, body
    return body


async def export(hub: Hub, token: str, alert_id: str) -> bytes:
    response = await hub.client.get(f"/api/v1/alerts/{alert_id}/cap", headers=hub.auth(token))
    assert response.status == 200, await response.text()
    assert response.content_type == "application/cap+xml"
    return await response.read()


async def alert_count(hub: Hub, token: str) -> int:
    return len(await hub.call("GET", "/api/v1/alerts", token, expect=200))


@pytest.fixture
async def other_hub(aiohttp_client: Any, make_app: Callable[..., web.Application],
                    tmp_path: Path, clock: Clock) -> Hub:
    """A second, separate hub: where an exported alert is imported for the round trip."""
    app = make_app(database_url=f"sqlite+aiosqlite:///{tmp_path}/other.db",
                   data_dir=tmp_path / "other-data")
    return Hub(await aiohttp_client(app), clock)


@pytest.mark.parametrize("name", VALID_SAMPLES)
async def test_every_valid_sample_imports_with_its_areas_languages_and_references(
        hub: Hub, name: str) -> None:
    publisher = await hub.publisher()
    data = (SAMPLES / name).read_bytes()
    message = parse(data)
    created = await send(hub, publisher, data)
    alert = await hub.call("GET", f"/api/v1/alerts/{created['id']}", publisher, expect=200)
    cap = alert["cap"]
    assert (cap["identifier"], cap["sender"]) == (message.identifier, message.sender)
    assert [i["language"] for i in cap["infos"]] == [i.language for i in message.infos]
    assert [[a["description"] for a in i["areas"]] for i in cap["infos"]] == \
        [[a.description for a in i.areas] for i in message.infos]
    assert [[len(a["geocodes"]) for a in i["areas"]] for i in cap["infos"]] == \
        [[len(a.geocodes) for a in i.areas] for i in message.infos]
    assert [(r["sender"], r["identifier"]) for r in cap["references"]] == \
        [(r.sender, r.identifier) for r in message.references]
    has_geometry = any(a.polygons or a.circles for i in message.infos for a in i.areas)
    assert (alert["area"] is not None) == has_geometry
    if message.infos:
        assert alert["language"] == message.infos[0].language
        assert alert["event"] == message.infos[0].event[:200]
    # These are archived alerts, long expired (or with no info at all): kept, sent to nobody.
    assert created["targets"] == {"organisations": 0, "contacts": 0, "residents": 0}
    # Exporting an imported alert gives back the very document that came in.
    assert await export(hub, publisher, created["id"]) == data


async def test_the_iso_8859_1_sample_is_decoded_by_its_declaration(hub: Hub) -> None:
    publisher = await hub.publisher()
    created = await send(hub, publisher, (SAMPLES / "earthquake-iso8859-1.cap").read_bytes())
    alert = await hub.call("GET", f"/api/v1/alerts/{created['id']}", publisher, expect=200)
    text = alert["headline"] + alert["description"] + str(alert["cap"])
    assert "Ã" not in text  # mojibake: Latin-1 bytes read as UTF-8 would give these
    assert any(ord(c) > 127 for c in text)


@pytest.mark.parametrize(("name", "expected"), [
    ("invalid.cap", {"/alert/scope"}),
    ("noaa_errors.cap", {"/alert/info[1]/urgency",
                         "/alert/info[1]/severity", "/alert/info[1]/certainty",
                         "/alert/info[1]/area[1]/polygon[1]"}),
])
async def test_invalid_samples_are_refused_with_every_violation(hub: Hub, name: str,
                                                               expected: set[str]) -> None:
    publisher = await hub.publisher()
    body = await send(hub, publisher, (SAMPLES / name).read_bytes(), expect=422)
    assert body["error"] == "invalid_cap"
    assert {v["path"] for v in body["violations"]} >= expected
    assert set(body["fields"]) == {v["path"] for v in body["violations"]}
    assert await alert_count(hub, publisher) == 0  # nothing half-written


@pytest.mark.parametrize("data", [(SAMPLES / "xee.cap").read_bytes(), BILLION_LAUGHS],
                         ids=["xee", "billion-laughs"])
async def test_entities_and_dtds_are_refused_unexpanded(hub: Hub, data: bytes) -> None:
    publisher = await hub.publisher()
    body = await send(hub, publisher, data, expect=422)
    assert [v["path"] for v in body["violations"]] == ["/"]
    assert "DTD" in body["violations"][0]["message"]
    assert "lollol" not in str(body) and "passwd" not in str(body)
    assert await alert_count(hub, publisher) == 0


async def test_unhappy_requests_get_a_clear_4xx(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, partner = await hub.partner("Bay Tower Security", INSIDE)
    body = await send(hub, publisher, b'{"headline": "x"}', expect=415,
                      content_type="application/json")
    assert "application/cap+xml" in body["detail"]
    body = await send(hub, publisher, b"<" * (MAX_DOCUMENT_BYTES + 1), expect=413)
    assert body["fields"] == {"body": f"must be at most {MAX_DOCUMENT_BYTES} bytes"}
    body = await send(hub, publisher, b"", expect=422)
    body = await send(hub, publisher, b"<alert", expect=422)
    assert body["violations"][0]["path"] == "/"
    ack = cap_alert("TFS-ACK", msg_type="Ack", references=reference("TFS-1"))
    body = await send(hub, publisher, ack, expect=422)
    assert body["fields"] == {"/alert/msgType": body["violations"][0]["message"]}
    await send(hub, partner, cap_alert(), expect=403)
    assert await alert_count(hub, publisher) == 0
    # The same message twice is refused, naming the alert it already is.
    first = await send(hub, publisher, cap_alert())
    again = await send(hub, publisher, cap_alert(), expect=409)
    assert again["error"] == "duplicate" and first["id"] in again["detail"]


async def test_a_live_cap_alert_reaches_the_partners_in_its_area(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, partner = await hub.partner("Bay Tower Security", INSIDE)
    await hub.partner("Yorkville Offices", OUTSIDE)
    created = await send(hub, publisher, cap_alert())
    assert created["status"] == "published" and created["withheld"] is None
    assert created["targets"]["organisations"] == 1
    assert created["signature"]["status"] == "absent"
    seen = await hub.call("GET", f"/api/v1/alerts/{created['id']}", partner, expect=200)
    assert seen["headline"] == "Gas leak, Bay St" and seen["tlp"] == "TLP:CLEAR"
    assert seen["area"]["type"] == "Polygon"


async def test_test_messages_and_expired_ones_are_kept_but_reach_nobody(hub: Hub) -> None:
    publisher = await hub.publisher()
    await hub.partner("Bay Tower Security", INSIDE)
    test = await send(hub, publisher, cap_alert("TFS-T", status="Test"))
    assert test["targets"]["organisations"] == 0 and "Test" in test["withheld"]
    old = await send(hub, publisher, cap_alert("TFS-OLD", infos=(
        info(expires=NOW - timedelta(minutes=1)),)))
    assert old["targets"]["organisations"] == 0 and "expired" in old["withheld"]


async def test_restricted_scope_carries_the_tlp_label(hub: Hub) -> None:
    publisher = await hub.publisher()
    await hub.partner("Bay Tower Security", INSIDE)
    amber = await send(hub, publisher, cap_alert("R1", scope="Restricted",
                                                 restriction="TLP:AMBER+STRICT partners"))
    red = await send(hub, publisher, cap_alert("R2", scope="Private", infos=(info(),))
                     .replace(b"<scope>Private</scope>",
                              b"<scope>Private</scope><addresses>desk@bay.example</addresses>"))
    plain = await send(hub, publisher, cap_alert("R3", scope="Restricted",
                                                 restriction="emergency managers only"))
    tlps = [(await hub.call("GET", f"/api/v1/alerts/{a['id']}", publisher))["tlp"]
            for a in (amber, red, plain)]
    assert tlps == ["TLP:AMBER+STRICT", "TLP:RED", "TLP:AMBER"]


async def test_geocode_only_areas_are_kept_and_reach_nobody(hub: Hub) -> None:
    publisher = await hub.publisher()
    await hub.partner("Bay Tower Security", INSIDE)
    created = await send(hub, publisher, cap_alert(infos=(info(
        polygons=(), geocodes=(("profile:CAP-CP:Location:0.3", "3520005"),),
        area_desc="City of Toronto"),)))
    assert created["targets"]["organisations"] == 0
    alert = await hub.call("GET", f"/api/v1/alerts/{created['id']}", publisher)
    assert alert["area"] is None
    assert alert["cap"]["infos"][0]["areas"] == [{
        "description": "City of Toronto", "polygons": 0, "circles": 0, "altitude": None,
        "ceiling": None,
        "geocodes": [{"name": "profile:CAP-CP:Location:0.3", "value": "3520005"}]}]


async def test_a_cap_update_reaches_the_original_audience_and_the_new_area(hub: Hub) -> None:
    publisher = await hub.publisher()
    org_in, _ = await hub.partner("Bay Tower Security", INSIDE)
    org_out, partner_out = await hub.partner("Yorkville Offices", OUTSIDE)
    original = await send(hub, publisher, cap_alert("TFS-1"))
    assert original["targets"]["organisations"] == 1
    hub.clock.advance(600)
    moved = info(headline="Gas leak spreading", polygons=(AROUND_OUTSIDE,))
    update = await send(hub, publisher, cap_alert(
        "TFS-2", msg_type="Update", references=reference("TFS-1"), sent=NOW + timedelta(
            minutes=10), infos=(moved,)))
    assert update["msg_type"] == "Update" and update["references"] == original["id"]
    assert update["targets"]["organisations"] == 2  # the first partner still hears of it
    deliveries = await hub.call("GET", f"/api/v1/alerts/{update['id']}/deliveries", publisher)
    assert {d["organisation_id"] for d in deliveries} == {org_in, org_out}
    cancel = await send(hub, publisher, cap_alert(
        "TFS-3", msg_type="Cancel", references=f"{reference('TFS-1')} {reference('TFS-2')}",
        infos=(info(headline="All clear: gas leak fixed", polygons=(AROUND_INSIDE,)),)))
    assert cancel["msg_type"] == "Cancel" and cancel["references"] == original["id"]
    assert cancel["targets"]["organisations"] == 2
    # The chain is over: a second cancel of it is refused.
    again = await send(hub, publisher, cap_alert(
        "TFS-4", msg_type="Cancel", references=reference("TFS-1")), expect=409)
    assert again["error"] == "cancelled"
    assert (await hub.call("GET", f"/api/v1/alerts/{cancel['id']}", partner_out))["msg_type"] \
        == "Cancel"


async def test_a_cancel_of_an_alert_never_received_is_kept_but_sent_to_nobody(hub: Hub) -> None:
    publisher = await hub.publisher()
    await hub.partner("Bay Tower Security", INSIDE)
    cancel = await send(hub, publisher, cap_alert(
        "TFS-9", msg_type="Cancel", references=reference("TFS-UNKNOWN")))
    assert cancel["targets"]["organisations"] == 0
    assert "never received" in cancel["withheld"]


async def test_an_update_may_not_loosen_the_label(hub: Hub) -> None:
    publisher = await hub.publisher()
    await send(hub, publisher, cap_alert("A1", scope="Restricted", restriction="TLP:GREEN"))
    body = await send(hub, publisher, cap_alert("A2", msg_type="Update",
                                                references=reference("A1")), expect=422)
    assert list(body["fields"]) == ["/alert/scope"]


def _strip_volatile(alert: dict[str, Any]) -> dict[str, Any]:
    keep = ("headline", "event", "category", "severity", "urgency", "certainty", "tlp",
            "description", "instruction", "language", "area", "expires", "ack_within_s",
            "msg_type")
    return {k: alert[k] for k in keep}


@pytest.mark.parametrize("overrides", [
    {},
    {"tlp": "TLP:CLEAR", "area": {"circle": {"lat": 43.648, "lon": -79.3806,
                                             "radius_m": 250}}},
    {"tlp": "TLP:RED", "area": {"type": "MultiPolygon", "coordinates": [
        [SQUARE], [[[-79.3930, 43.6700], [-79.3910, 43.6700], [-79.3910, 43.6720],
                    [-79.3930, 43.6700]]]]}, "instruction": "", "language": "fr-CA"},
], ids=["polygon-green", "circle-clear", "multipolygon-red"])
async def test_an_exported_alert_imports_as_the_same_alert(hub: Hub, other_hub: Hub,
                                                           overrides: dict[str, Any]) -> None:
    publisher = await hub.publisher()
    original = await hub.publish(publisher, **overrides)
    document = await export(hub, publisher, original["id"])
    SCHEMA.assertValid(etree.fromstring(document))
    # Importing it here again is a duplicate of the alert it came from...
    again = await send(hub, publisher, document, expect=409)
    assert original["id"] in again["detail"]
    # ...and on another hub it is the same alert.
    elsewhere = await other_hub.publisher()
    imported = await send(other_hub, elsewhere, document)
    mine = await hub.call("GET", f"/api/v1/alerts/{original['id']}", publisher)
    theirs = await other_hub.call("GET", f"/api/v1/alerts/{imported['id']}", elsewhere)
    assert _strip_volatile(theirs) == _strip_volatile(mine)


async def test_updates_and_cancels_export_with_references_to_the_whole_chain(hub: Hub) -> None:
    publisher = await hub.publisher()
    imported = await send(hub, publisher, cap_alert("TFS-1"))
    update = await hub.call("POST", f"/api/v1/alerts/{imported['id']}/update", publisher,
                            expect=201, json={"headline": "Gas leak contained"})
    cancel = await hub.call("POST", f"/api/v1/alerts/{imported['id']}/cancel", publisher,
                            expect=201, json={"note": "Fixed"})
    update_doc = parse(await export(hub, publisher, update["id"]))
    assert update_doc.msg_type == "Update"
    assert [(r.sender, r.identifier) for r in update_doc.references] == \
        [("cap@tfs.example", "TFS-1")]
    cancel_xml = await export(hub, publisher, cancel["id"])
    SCHEMA.assertValid(etree.fromstring(cancel_xml))
    cancel_doc = parse(cancel_xml)
    assert cancel_doc.msg_type == "Cancel"
    assert [r.identifier for r in cancel_doc.references] == ["TFS-1", update_doc.identifier]


def _key_and_certificate() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Toronto Fire Services CAP")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - timedelta(days=1))
                   .not_valid_after(NOW + timedelta(days=365)).sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            certificate.public_bytes(serialization.Encoding.PEM))


async def test_signatures_on_import_are_reported(hub: Hub) -> None:
    publisher = await hub.publisher()
    key, certificate = _key_and_certificate()
    signed = sign(cap_alert("S1"), key, certificate)
    valid = await send(hub, publisher, signed)
    assert valid["signature"]["status"] == "valid"
    assert "Toronto Fire Services CAP" in valid["signature"]["signer"]
    tampered = sign(cap_alert("S2"), key, certificate).replace(b"Gas leak, Bay St",
                                                               b"Gas leak, Bay Sx")
    invalid = await send(hub, publisher, tampered)
    assert invalid["signature"]["status"] == "invalid"
    canada = await send(hub, publisher, (SAMPLES / "canada_signed.cap").read_bytes())
    assert canada["signature"]["status"] == "valid"


async def test_exports_are_signed_when_a_key_is_configured(
        aiohttp_client: Any, make_app: Callable[..., web.Application], tmp_path: Path,
        clock: Clock) -> None:
    key, certificate = _key_and_certificate()
    (tmp_path / "cap.key").write_bytes(key)
    (tmp_path / "cap.crt").write_bytes(certificate)
    hub = Hub(await aiohttp_client(make_app(cap_signing_key=tmp_path / "cap.key",
                                            cap_signing_cert=tmp_path / "cap.crt")), clock)
    publisher = await hub.publisher()
    alert = await hub.publish(publisher)
    document = await export(hub, publisher, alert["id"])
    check = verify(document)
    assert check.status == "valid" and "Toronto Fire Services CAP" in (check.signer or "")
    SCHEMA.assertValid(etree.fromstring(document))


async def test_the_atom_feed_lists_current_public_alerts_with_their_cap(hub: Hub) -> None:
    publisher = await hub.publisher()
    public = await hub.publish(publisher, tlp="TLP:CLEAR",
                               expires=(NOW + timedelta(hours=1)).isoformat())
    partners_only = await hub.publish(publisher, tlp="TLP:GREEN")
    imported = await send(hub, publisher, cap_alert("TFS-1"))
    feed = etree.fromstring(await (await hub.client.get("/feeds/alerts.atom")).read())
    entries = {e.findtext(f"{ATOM}title"): e for e in feed.iter(f"{ATOM}entry")}
    assert set(entries) == {"Suspicious package, King St W & Bay St", "Gas leak, Bay St"}
    entry = entries["Gas leak, Bay St"]
    link = entry.find(f"{ATOM}link[@type='application/cap+xml']")
    assert link is not None and link.get("rel") == "alternate"
    assert entry.findtext(f"{CAP}severity") == "Severe"
    assert entry.findtext(f"{CAP}areaDesc") == "King & Bay"
    assert entry.findtext(f"{CAP}polygon")
    # The linked document is public, byte for byte what came in.
    path = link.get("href", "").removeprefix("http://127.0.0.1:8080")
    response = await hub.client.get(path)
    assert response.status == 200 and response.content_type == "application/cap+xml"
    assert await response.read() == cap_alert("TFS-1")
    assert imported["id"] in path
    # Only public alerts have a public document.
    hidden = await hub.client.get(f"/feeds/alerts/{partners_only['id']}.cap")
    assert hidden.status == 404
    native = await hub.client.get(f"/feeds/alerts/{public['id']}.cap")
    SCHEMA.assertValid(etree.fromstring(await native.read()))
    # Expiry withdraws an alert from the feed on time, and so does a cancel.
    hub.clock.advance(3601)
    await hub.call("POST", f"/api/v1/alerts/{imported['id']}/cancel", publisher, expect=201)
    feed = etree.fromstring(await (await hub.client.get("/feeds/alerts.atom")).read())
    assert list(feed.iter(f"{ATOM}entry")) == []


async def test_pending_alerts_need_approval_when_imported(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock) -> None:
    hub = Hub(await aiohttp_client(make_app(approval_for="Extreme")), clock)
    publisher = await hub.publisher()
    await hub.partner("Bay Tower Security", INSIDE)
    held = await send(hub, publisher, cap_alert(infos=(info(severity="Extreme"),)))
    assert held["status"] == "pending" and held["seq"] is None



async def test_empty_references_and_polygon_import_with_warnings_shown_on_the_dashboard(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    # Point 7 of issue 15: Canada's NAAD sends <references/>, the US National Weather Service
    # an empty <polygon/>; both are read as other CAP consumers read them, and said.
    org = await hub.organisation("Toronto Police Service", "police")
    publisher = await hub.token(org, "publisher")
    created = await send(hub, publisher, (SAMPLES / "canada_errors.cap").read_bytes())
    assert [w["path"] for w in created["warnings"]] == ["/alert/references"]
    nws = (SAMPLES / "thunderstorm.cap").read_bytes()
    nws = nws.replace(b"</polygon>", b"</polygon><polygon/>", 1)
    created = await send(hub, publisher, nws)
    assert [w["path"] for w in created["warnings"]] == ["/alert/info[1]/area[1]/polygon[2]"]
    alert = await hub.call("GET", f"/api/v1/alerts/{created['id']}", publisher, expect=200)
    assert alert["cap"]["warnings"] == created["warnings"]
    assert alert["area"] is not None  # the real polygon still draws the area
    await hub.person(org, "publisher", "pub@tps.example")
    browser = browsers()
    await browser.sign_in("pub@tps.example")
    await browser.enrol()
    page = await browser.call("GET", f"/alerts/{created['id']}", 200)
    assert 'id="cap-warnings"' in page and "Read with 1 warning:" in page
    assert "/alert/info[1]/area[1]/polygon[2]" in page and "is empty" in page
