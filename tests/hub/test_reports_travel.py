"""Field reports that travel: on no alert, with several files and a time seen; reviewed by
police (who and when); listed across alerts; forwarded to more partners within TLP."""

from __future__ import annotations

import hashlib
from typing import Any

import aiohttp

from tests.conftest import INSIDE, Hub
from tests.hub.test_reports import form, location_in, photo_with_location, post_report, scene


def standalone(text: str = "Van idling by the loading dock", **extra: str) -> aiohttp.FormData:
    data = form(text=text)
    for name, value in extra.items():
        data.add_field(name, value)
    return data


async def test_a_report_on_no_alert_carries_several_files_and_reaches_police(hub: Hub) -> None:
    s = await scene(hub)
    first, second = photo_with_location(), photo_with_location()[:-2] + b"\xff\xd9"
    data = standalone(observed_at="2026-11-21T11:40:00-05:00", tlp="TLP:GREEN")
    for photo in (first, second):
        data.add_field("file", photo, filename="p.jpg", content_type="image/jpeg")
    report = await hub.call("POST", "/api/v1/reports", s["a"], expect=201, data=data)
    assert report["alert_id"] is None and report["tlp"] == "TLP:GREEN"
    assert report["status"] == "new" and report["observed"] == "2026-11-21T16:40:00+00:00"
    assert [f["sha256"] for f in report["files"]] == [hashlib.sha256(p).hexdigest()
                                                      for p in (first, second)]
    police = await hub.call("GET", "/api/v1/reports", s["publisher"], expect=200)
    assert [r["id"] for r in police] == [report["id"]] and police[0]["organisation_id"]
    got = await hub.client.get(report["files"][1]["url"], headers=hub.auth(s["publisher"]))
    assert await got.read() == second  # kept as sent
    # Another partner neither lists nor reads it.
    assert await hub.call("GET", "/api/v1/reports", s["b"], expect=200) == []
    await hub.call("GET", report["files"][0]["url"], s["b"], expect=404)


async def test_police_review_a_report_and_the_list_filters_by_state(hub: Hub) -> None:
    s = await scene(hub)
    on_alert = await post_report(hub, s["a"], s["alert"], 201, form())
    alone = await hub.call("POST", "/api/v1/reports", s["b"], expect=201, data=standalone())
    path = f"/api/v1/reports/{on_alert['id']}"
    reviewed = await hub.call("PATCH", path, s["publisher"], expect=200,
                              json={"status": "reviewed"})
    assert reviewed["status"] == "reviewed" and reviewed["reviewed_by"].startswith("token:")
    assert reviewed["reviewed_at"] == hub.clock().isoformat()
    await hub.call("PATCH", path, s["a"], expect=403, json={"status": "actioned"})
    bad = await hub.call("PATCH", path, s["publisher"], expect=422, json={"status": "done"})
    assert "status" in bad["fields"]
    new = await hub.call("GET", "/api/v1/reports?status=new", s["publisher"], expect=200)
    assert [r["id"] for r in new] == [alone["id"]]
    both = await hub.call("GET", "/api/v1/reports?limit=5", s["publisher"], expect=200)
    assert {r["id"] for r in both} == {on_alert["id"], alone["id"]}
    for query, field in (("?status=x", "status"), ("?limit=0", "limit"),
                         ("?limit=501", "limit"), ("?since=1", "since")):
        refused = await hub.call("GET", f"/api/v1/reports{query}", s["publisher"], expect=422)
        assert field in refused["fields"], query


async def test_a_forwarded_report_reaches_only_partners_the_alert_reached(hub: Hub) -> None:
    s = await scene(hub)
    report = await post_report(hub, s["a"], s["alert"], 201, form(file=photo_with_location()))
    forward = f"/api/v1/reports/{report['id']}/forward"
    outsider_org = await _org_of(hub, "Yorkville Office")
    refused = await hub.call("POST", forward, s["publisher"], expect=409,
                             json={"organisation_ids": [outsider_org]})
    assert "did not receive the alert" in refused["fields"]["organisation_ids"]
    await hub.call("POST", forward, s["b"], expect=403,
                   json={"organisation_ids": [s["b_org"]]})
    await hub.call("POST", forward, s["publisher"], expect=200,
                   json={"organisation_ids": [s["b_org"]]})
    seen = await hub.call("GET", "/api/v1/reports", s["b"], expect=200)
    assert [r["id"] for r in seen] == [report["id"]] and "reporter" not in seen[0]
    copy = await hub.client.get(seen[0]["files"][0]["url"], headers=hub.auth(s["b"]))
    assert copy.status == 200 and not location_in(await copy.read())
    # Forwarding is not sharing: the alert's list shows B the forwarded report, nobody more.
    assert len(await hub.call("GET", f"/api/v1/alerts/{s['alert']}/reports", s["b"],
                              expect=200)) == 1


async def test_a_red_or_strict_report_is_not_forwarded(hub: Hub) -> None:
    s = await scene(hub)
    for tlp in ("TLP:RED", "TLP:AMBER+STRICT"):
        report = await hub.call("POST", "/api/v1/reports", s["a"], expect=201,
                                data=standalone(tlp=tlp))
        refused = await hub.call("POST", f"/api/v1/reports/{report['id']}/forward",
                                 s["publisher"], expect=409,
                                 json={"organisation_ids": [s["b_org"]]})
        assert tlp in refused["fields"]["organisation_ids"]
    green = await hub.call("POST", "/api/v1/reports", s["a"], expect=201,
                           data=standalone(tlp="TLP:GREEN"))
    path = f"/api/v1/reports/{green['id']}/forward"
    police_org = await _org_of(hub, "Toronto Police Service")
    for wanted, status in (([], 422), ("x", 422), ([police_org], 409),
                           (["no-such-org"], 404), (["x" * 33], 422)):
        answer = await hub.call("POST", path, s["publisher"], expect=status,
                                json={"organisation_ids": wanted})
        assert "organisation_ids" in answer["fields"], wanted


async def test_bad_report_fields_are_named(hub: Hub) -> None:
    s = await scene(hub)
    cases: list[tuple[Any, str]] = [
        (standalone(observed_at="yesterday"), "observed_at"),
        (standalone(observed_at="2026-11-21T16:40:00"), "observed_at"),
        (standalone(observed_at="2099-01-01T00:00:00Z"), "observed_at"),
        (standalone(tlp="TLP:WHITE"), "tlp"),
        (standalone(observed_at=""), "observed_at"),
        (standalone(tlp=""), "tlp"),
    ]
    for data, field in cases:
        answer = await hub.call("POST", "/api/v1/reports", s["a"], expect=422, data=data)
        assert field in answer["fields"], field
    on_alert = await post_report(hub, s["a"], s["alert"], 422, standalone(tlp="TLP:GREEN"))
    assert "tlp" in on_alert["fields"]
    await hub.call("POST", "/api/v1/reports", s["publisher"], expect=403, data=standalone())
    assert await hub.call("GET", "/api/v1/reports", s["publisher"], expect=200) == []


async def _org_of(hub: Hub, name: str) -> str:
    listed = await hub.call("GET", "/api/v1/organisations", expect=200)
    return next(org["id"] for org in listed if org["name"] == name)


async def test_an_unforwarded_report_of_another_partner_stays_hidden(hub: Hub) -> None:
    s = await scene(hub)
    report = await hub.call("POST", "/api/v1/reports", s["a"], expect=201, data=standalone())
    for method, path in (("GET", f"/api/v1/reports/{report['id']}/file"),
                         ("PATCH", f"/api/v1/reports/{report['id']}"),
                         ("POST", f"/api/v1/reports/{report['id']}/forward")):
        answer = await hub.client.request(method, path, headers=hub.auth(s["b"]),
                                          json={"status": "reviewed"})
        assert answer.status in (403, 404), (method, path)
    _, other = await hub.partner("Queen St Bank", INSIDE)
    assert await hub.call("GET", "/api/v1/reports", other, expect=200) == []


async def test_an_update_carries_a_report_photo_as_a_cap_resource_with_its_digest(
        hub: Hub) -> None:
    s = await scene(hub)
    report = await post_report(hub, s["a"], s["alert"], 201, form(file=photo_with_location()))
    file_id = report["files"][0]["id"]
    path = f"/api/v1/alerts/{s['alert']}/update"
    for wanted in ([], "x", ["no-such-file"], [5]):
        refused = await hub.call("POST", path, s["publisher"], expect=422,
                                 json={"attach": wanted})
        assert "attach" in refused["fields"], wanted
    update = await hub.call("POST", path, s["publisher"], expect=201,
                            json={"attach": [file_id], "headline": "Bag: photo attached"})
    cap = await hub.client.get(f"/api/v1/alerts/{update['id']}/cap",
                               headers=hub.auth(s["b"]))
    document = (await cap.read()).decode()
    assert "<resource>" in document and "<mimeType>image/jpeg</mimeType>" in document
    digest = document.split("<digest>")[1].split("</digest>")[0]
    uri = document.split("<uri>")[1].split("</uri>")[0]
    assert uri.endswith(f"/api/v1/alerts/{update['id']}/attachments/0")
    served = await hub.client.get(uri[uri.index("/api/"):], headers=hub.auth(s["b"]))
    body = await served.read()
    assert served.status == 200 and hashlib.sha1(body).hexdigest() == digest
    assert not location_in(body)  # the audience gets the copy without the location
    await hub.call("GET", uri[uri.index("/api/"):], s["outsider"], expect=404)
    shown = await hub.call("GET", f"/api/v1/alerts/{update['id']}", s["b"], expect=200)
    assert shown["attachments"][0]["sha1"] == digest
    later = await hub.call("POST", f"/api/v1/alerts/{update['id']}/update", s["publisher"],
                           expect=201, json={"headline": "Bag: area clear"})
    kept = await hub.call("GET", f"/api/v1/alerts/{later['id']}", s["b"], expect=200)
    assert [a["sha1"] for a in kept["attachments"]] == [digest]  # later updates keep it
