"""Public tips: anyone sends text, photos and videos with no account; nothing of who sent it
is kept or logged; police read them with each file's hash, and every look is on the record."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hub.http import LIMITS
from hub.models import Tip, TipFile, TipUpload
from tests.conftest import INSIDE, Clock, Hub
from tests.hub.test_reports import executable_bytes, photo_with_location
from tests.hub.tips_scene import (
    TUS,
    audit_rows,
    png,
    police,
    production_hub,
    rows,
    send_tip,
    stored_files,
    tip_form,
    upload,
    video,
)

# What a phone behind a proxy would send, each unique enough to find anywhere it lands.
IDENTIFYING = {"User-Agent": "TipsterPhone/9.1 (Pixel 0; build q7x3)",
               "X-Forwarded-For": "203.0.113.77", "X-Real-IP": "198.51.100.23",
               "Forwarded": "for=192.0.2.60", "Referer": "https://news.example/story-5521"}


async def test_a_tip_with_a_photo_gets_a_receipt_and_police_see_its_hash(
        backend_hub: Hub) -> None:
    hub = backend_hub  # on SQLite and PostgreSQL
    scene = await police(hub)
    photo = photo_with_location()
    answer = await send_tip(hub, tip_form(
        {"text": "A grey van drove off north on Spadina", "contact": "sam@example.org",
         "evidence_request": scene.request["slug"]}, [("IMG_2231.jpg", photo)]), 201)
    assert answer["receipt"].startswith("VT-")
    digest = hashlib.sha256(photo).hexdigest()
    assert answer["files"] == [{"name": "IMG_2231.jpg", "size": len(photo), "sha256": digest}]
    listed = await hub.call("GET", "/api/v1/tips", scene.publisher, expect=200)
    assert [t["text"] for t in listed] == ["A grey van drove off north on Spadina"]
    tip = listed[0]
    assert tip["evidence_request_id"] == scene.request["id"] and tip["status"] == "new"
    assert tip["contact"] == "sam@example.org"
    assert [(f["name"], f["size"], f["sha256"]) for f in tip["files"]] == [
        ("IMG_2231.jpg", len(photo), digest)]
    shown = await hub.call("GET", f"/api/v1/tips/{tip['id']}", scene.approver, expect=200)
    assert shown == tip
    # The original, byte for byte: its location metadata is what police need.
    got = await hub.client.get(tip["files"][0]["url"], headers=hub.auth(scene.publisher))
    assert got.status == 200 and await got.read() == photo
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert "IMG_2231" not in got.headers["Content-Disposition"]
    trail = [(e.actor, e.action, e.subject) for e in await audit_rows(hub)]
    file_id = tip["files"][0]["id"]
    assert ("public:tip", "tip.receive", tip["id"]) in trail
    views = [(action, subject) for _, action, subject in trail
             if action in ("tip.view", "tip.file.download")]
    assert views == [("tip.view", tip["id"]), ("tip.view", tip["id"]),
                     ("tip.file.download", file_id)]


async def test_a_general_tip_needs_no_request_and_the_receipt_adds_files(
        hub: Hub, tmp_path: Path) -> None:
    scene = await police(hub)
    first = await send_tip(hub, tip_form({"text": "Someone keeps checking car doors on "
                                                  "Augusta Ave at night"}), 201)
    clip = video()
    more = await send_tip(hub, tip_form(files=[("door.mp4", clip)],
                                        uploads=[await upload(hub, png(), "still.png")]),
                          201, path=f"/api/v1/tips/{first['receipt']}/files")
    assert more["receipt"] == first["receipt"]
    assert [f["name"] for f in more["files"]] == ["door.mp4", "still.png"]
    general = await hub.call("GET", "/api/v1/tips?evidence_request=none", scene.publisher,
                             expect=200)
    assert len(general) == 1 and general[0]["evidence_request_id"] is None
    assert {f["sha256"] for f in general[0]["files"]} == {
        hashlib.sha256(clip).hexdigest(), hashlib.sha256(png()).hexdigest()}
    assert await hub.call("GET", "/api/v1/tips?evidence_request=" + scene.request["id"],
                          scene.publisher, expect=200) == []
    # A receipt no tip has finds nothing; the uploads folder is empty again.
    await send_tip(hub, tip_form(files=[("x.mp4", clip)]), 404,
                   path="/api/v1/tips/VT-AAAA-BBBB/files")
    assert [p for p in stored_files(tmp_path / "data") if not p.startswith("files/")] == []


async def test_an_anonymous_tip_stores_no_address_or_identifying_header(
        make_app: Callable[..., web.Application], clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with production_hub(make_app(), clock) as hub:
        scene = await police(hub)
        await hub.client.get("/healthz", headers=IDENTIFYING)  # the log does capture lines
        assert any("203.0.113.77" in r.getMessage() or "TipsterPhone" in r.getMessage()
                   for r in caplog.records)
        caplog.clear()
        url = await upload_with(hub, video(), IDENTIFYING)
        await send_tip(hub, tip_form({"text": "Van plate starts CKRT",
                                      "evidence_request": scene.request["slug"]},
                                     [("van.jpg", photo_with_location())], [url]), 201,
                       headers=IDENTIFYING)
        page = await hub.client.get(f"/tips/{scene.request['slug']}", headers=IDENTIFYING)
        assert page.status == 200
        style = await hub.client.get("/static/vigil.css", headers={
            **IDENTIFYING, "Referer": f"{hub.client.make_url('/tips')}"})
        assert style.status == 200
        logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
        stored = [repr(vars(row)) for row in await rows(hub)]
        trail = [repr(vars(event)) for event in await audit_rows(hub)]
    assert any("tip" in r.getMessage() for r in caplog.records)  # the requests were logged
    for where, text in (("log", logged), ("rows", "\n".join(stored)),
                        ("audit", "\n".join(trail))):
        for value in [*IDENTIFYING.values(), "127.0.0.1", "address:"]:
            assert value not in text, (where, value)
        assert url.rsplit("/", 1)[-1] not in text, (where, "the upload's secret")
    tip_events = [e for e in trail if "tip.receive" in e]
    assert len(tip_events) == 1 and "public:tip" in tip_events[0]


async def upload_with(hub: Hub, data: bytes, headers: dict[str, str]) -> str:
    created = await hub.client.post("/api/v1/tips/uploads", headers={
        **headers, **TUS, "Upload-Length": str(len(data))})
    assert created.status == 201
    url = created.headers["Location"]
    done = await hub.client.patch(url, data=data, headers={
        **headers, **TUS, "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0"})
    assert done.status == 204
    return url


async def test_a_refused_tip_writes_no_address_either(hub: Hub) -> None:
    answer = await send_tip(hub, tip_form({"text": "x"}), 403,
                            headers={"Origin": "https://evil.example"})
    assert "cross-site" in answer["detail"]
    denial = [e for e in await audit_rows(hub) if e.action == "access.deny"]
    assert [e.actor for e in denial] == ["public:tip"]


async def test_the_rate_limits_hold_and_know_no_address(hub: Hub) -> None:
    for n in range(5):
        await send_tip(hub, tip_form({"text": f"tip {n}"}), 201)
    refused = await hub.client.post("/api/v1/tips", data=tip_form({"text": "one more"}))
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    hub.clock.advance(60)  # one a minute after the first five
    await send_tip(hub, tip_form({"text": "a minute later"}), 201)
    for _ in range(20):
        made = await hub.client.post("/api/v1/tips/uploads",
                                     headers={**TUS, "Upload-Length": "100"})
        assert made.status == 201
    over = await hub.client.post("/api/v1/tips/uploads", headers={**TUS, "Upload-Length": "100"})
    assert over.status == 429 and "Retry-After" in over.headers
    assert len(await rows(hub, Tip)) == 6 and len(await rows(hub, TipUpload)) == 20
    limits = hub.client.app[LIMITS]
    assert all("127.0.0.1" not in key for key in [*limits["tip"].buckets,
                                                   *limits["tip_upload"].buckets])


async def test_partners_and_residents_get_403_or_404_on_every_tip_endpoint(
        hub: Hub, tmp_path: Path) -> None:
    """Every endpoint that shows or changes what police hold; sending a tip is for anyone
    (a partner may be a witness too) and shows nothing back but its own receipt."""
    from tests.hub.test_access_matrix import resident
    scene = await police(hub)
    sent = await send_tip(hub, tip_form({"text": "seen", "evidence_request":
                                         scene.request["slug"]},
                                        [("a.jpg", photo_with_location())]), 201)
    tip = (await hub.call("GET", "/api/v1/tips", scene.publisher, expect=200))[0]
    org_a, partner = await hub.partner("Bay Tower Security", INSIDE)
    partner_admin = await hub.token(org_a, "admin")
    callers = {"partner": partner, "partner admin": partner_admin,
               "resident": await resident(hub)}
    request_id = scene.request["id"]
    endpoints: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/v1/tips", {}), ("GET", f"/api/v1/tips/{tip['id']}", {}),
        ("PATCH", f"/api/v1/tips/{tip['id']}", {"json": {"status": "relevant"}}),
        ("GET", tip["files"][0]["url"], {}),
        ("GET", "/api/v1/evidence-requests", {}),
        ("POST", "/api/v1/evidence-requests", {"json": {"title": "T", "description": "D"}}),
        ("POST", f"/api/v1/evidence-requests/{request_id}/close", {}),
        ("GET", f"/api/v1/evidence-requests/{request_id}/bundle", {}),
        ("GET", f"/evidence/{request_id}", {}), ("GET", "/evidence", {})]
    wrong = []
    for who, token in callers.items():
        for method, path, body in endpoints:
            response = await hub.client.request(method, path, headers=hub.auth(token),
                                                allow_redirects=False, **body)
            if response.status not in (403, 404):
                wrong.append(f"{who} {method} {path}: {response.status}")
    assert wrong == []
    assert (await hub.call("GET", f"/api/v1/tips/{tip['id']}", scene.publisher))["status"] \
        == "new"
    assert sent["receipt"]


async def test_a_closed_request_refuses_a_tip(hub: Hub, tmp_path: Path) -> None:
    scene = await police(hub)
    slug, request_id = scene.request["slug"], scene.request["id"]
    first = await send_tip(hub, tip_form({"text": "before", "evidence_request": slug}), 201)
    closed = await hub.call("POST", f"/api/v1/evidence-requests/{request_id}/close",
                            scene.publisher, expect=200)
    assert closed["status"] == "closed" and closed["closed_by"].startswith("token:")
    before = await rows(hub)
    answer = await send_tip(hub, tip_form({"text": "after", "evidence_request": slug},
                                          [("late.jpg", photo_with_location())]), 409)
    assert answer["error"] == "closed"
    await send_tip(hub, tip_form(files=[("later.jpg", photo_with_location())]), 409,
                   path=f"/api/v1/tips/{first['receipt']}/files")
    assert len(await rows(hub)) == len(before)
    assert [p for p in stored_files(tmp_path / "data") if not p.startswith("files/")] == []
    page = await hub.client.get(f"/tips/{slug}")
    assert page.status == 200 and "closed" in (await page.text()).lower()


BAD_TIPS: dict[str, tuple[dict[str, str], list[tuple[str, bytes]], int, str]] = {
    "no text and no file": ({}, [], 422, "text"),
    "a blank text": ({"text": "   "}, [], 422, "text"),
    "text past 10,000 characters": ({"text": "x" * 10_001}, [], 422, "text"),
    "a control character": ({"text": "bad \x07 bell"}, [], 422, "text"),
    "a contact with a line break": ({"text": "ok", "contact": "sam\r\nBcc: x"}, [], 422,
                                    "contact"),
    "a contact too long": ({"text": "ok", "contact": "c" * 401}, [], 422, "contact"),
    "an unknown field": ({"text": "ok", "colour": "red"}, [], 422, "colour"),
    "no such evidence request": ({"text": "ok", "evidence_request": "nope-1234"}, [], 404,
                                 "evidence_request"),
    "a renamed executable": ({"text": "ok"}, [("photo.jpg", executable_bytes())], 415,
                             "file"),
}


@pytest.mark.parametrize("case", BAD_TIPS)
async def test_bad_tip_fields_give_a_4xx_naming_the_field(hub: Hub, tmp_path: Path,
                                                         case: str) -> None:
    fields, files, status, field = BAD_TIPS[case]
    answer = await send_tip(hub, tip_form(fields, files), status)
    assert field in answer["fields"], answer
    assert await rows(hub) == [] and stored_files(tmp_path / "data") == []


async def test_bad_upload_references_are_named(hub: Hub, tmp_path: Path) -> None:
    unknown = await send_tip(hub, tip_form({"text": "ok"}, uploads=["not-an-upload"]), 404)
    assert "upload" in unknown["fields"]
    made = await hub.client.post("/api/v1/tips/uploads", headers={**TUS, "Upload-Length": "9"})
    unfinished = await send_tip(hub, tip_form({"text": "ok"},
                                              uploads=[made.headers["Location"]]), 422)
    assert "upload" in unfinished["fields"]
    url = await upload(hub, video(5000))
    twice = await send_tip(hub, tip_form({"text": "ok"}, uploads=[url, url]), 422)
    assert "upload" in twice["fields"]
    assert await rows(hub, Tip, TipFile) == []
    await send_tip(hub, tip_form({"text": "ok"}, uploads=[url]), 201)
    again = await send_tip(hub, tip_form({"text": "again"}, uploads=[url]), 404)
    assert "upload" in again["fields"]  # taken into the first tip, so gone


async def test_bad_evidence_requests_give_422_naming_the_field(hub: Hub) -> None:
    scene = await police(hub)
    for body, field in (
            ({"description": "d"}, "title"),
            ({"title": "two\nlines", "description": "d"}, "title"),
            ({"title": "t"}, "description"),
            ({"title": "t", "description": "d", "area": {"type": "Point"}}, "area.type"),
            ({"title": "t", "description": "d", "starts": "yesterday"}, "starts"),
            ({"title": "t", "description": "d", "starts": "2026-11-21T18:00:00"}, "starts"),
            ({"title": "t", "description": "d", "starts": "2026-11-21T18:00:00Z",
              "ends": "2026-11-21T17:00:00Z"}, "ends"),
            ({"title": "t", "description": "d", "tlp": "TLP:RED"}, "tlp")):
        answer = await hub.call("POST", "/api/v1/evidence-requests", scene.publisher,
                                expect=422, json=body)
        assert field in answer["fields"], (body, answer)
    listed = await hub.call("GET", "/api/v1/evidence-requests", scene.publisher, expect=200)
    assert [r["id"] for r in listed] == [scene.request["id"]]


async def test_police_moderate_tips_with_who_and_when(hub: Hub) -> None:
    scene = await police(hub)
    for text in ("first", "the same again"):
        await send_tip(hub, tip_form({"text": text, "evidence_request":
                                      scene.request["slug"]}), 201)
    second, first = await hub.call("GET", "/api/v1/tips", scene.publisher, expect=200)
    hub.clock.advance(90)
    marked = await hub.call("PATCH", f"/api/v1/tips/{second['id']}", scene.approver,
                            expect=200, json={"status": "duplicate",
                                              "duplicate_of": first["id"]})
    assert (marked["status"], marked["duplicate_of"]) == ("duplicate", first["id"])
    assert marked["moderated_by"].startswith("token:")
    assert marked["moderated"] == hub.clock().isoformat()
    await hub.call("PATCH", f"/api/v1/tips/{first['id']}", scene.publisher, expect=200,
                   json={"status": "relevant"})
    relevant = await hub.call("GET", "/api/v1/tips?status=relevant", scene.publisher,
                              expect=200)
    assert [t["id"] for t in relevant] == [first["id"]]
    for body, field in (({"status": "spam"}, "status"),
                        ({"status": "relevant", "duplicate_of": first["id"]}, "duplicate_of"),
                        ({"status": "duplicate", "duplicate_of": second["id"]},
                         "duplicate_of"),
                        ({"status": "duplicate", "duplicate_of": "f" * 32}, "duplicate_of")):
        answer = await hub.call("PATCH", f"/api/v1/tips/{second['id']}", scene.publisher,
                                json=body)
        assert field in answer["fields"], (body, answer)
    await hub.call("GET", "/api/v1/tips?status=spam", scene.publisher, expect=422)
    moderated = [e.detail for e in await audit_rows(hub) if e.action == "tip.moderate"]
    assert moderated == [{"status": "duplicate", "duplicate_of": first["id"]},
                         {"status": "relevant", "duplicate_of": None}]


async def test_another_police_service_sees_only_general_tips(hub: Hub) -> None:
    scene = await police(hub)
    await send_tip(hub, tip_form({"text": "for Toronto", "evidence_request":
                                  scene.request["slug"]}), 201)
    await send_tip(hub, tip_form({"text": "for anyone"}), 201)
    other = await hub.organisation("York Regional Police", "police")
    neighbour = await hub.token(other, "publisher")
    seen = await hub.call("GET", "/api/v1/tips", neighbour, expect=200)
    assert [t["text"] for t in seen] == ["for anyone"]
    mine = await hub.call("GET", "/api/v1/tips", scene.publisher, expect=200)
    toronto = next(t for t in mine if t["text"] == "for Toronto")
    await hub.call("GET", f"/api/v1/tips/{toronto['id']}", neighbour, expect=404)
    await hub.call("GET", f"/api/v1/evidence-requests/{scene.request['id']}/bundle",
                   neighbour, expect=404)
    assert await hub.call("GET", "/api/v1/evidence-requests", neighbour, expect=200) == []
