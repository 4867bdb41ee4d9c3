"""Field reports: uploads typed from their bytes, size limits, isolation, shared copies."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image
from sqlmodel import select

from hub.http import SESSIONS
from hub.models import Report
from tests.conftest import INSIDE, Hub

GPS = {1: "N", 2: (43.0, 38.0, 53.0), 3: "W", 4: (79.0, 22.0, 50.0)}


def photo_with_location() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def executable_bytes() -> bytes:
    """The start of a real program: what a renamed executable would send."""
    return Path("/bin/sh").resolve().read_bytes()[:4096]


def location_in(data: bytes) -> dict[int, Any]:
    return dict(Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825))


def form(text: str = "Bag by the north doors", lat: str = "43.6481", lon: str = "-79.3805",
         file: bytes | None = None, filename: str = "photo.jpg") -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("text", text)
    data.add_field("lat", lat)
    data.add_field("lon", lon)
    if file is not None:
        data.add_field("file", file, filename=filename, content_type="image/jpeg")
    return data


async def scene(hub: Hub) -> dict[str, str]:
    """A published alert reaching two partners, and a third partner outside its area."""
    publisher = await hub.publisher()
    a_org, a = await hub.partner("Bay Tower Security", INSIDE)
    b_org, b = await hub.partner("King Street Mall", {**INSIDE, "name": "Mall"})
    _, outsider = await hub.partner("Yorkville Office", {"name": "Y", "lat": 43.671,
                                                         "lon": -79.392})
    alert = await hub.publish(publisher)
    return {"publisher": publisher, "a": a, "b": b, "outsider": outsider, "alert": alert["id"],
            "a_org": a_org, "b_org": b_org}


async def post_report(hub: Hub, token: str, alert: str, expect: int,
                      data: aiohttp.FormData) -> Any:
    return await hub.call("POST", f"/api/v1/alerts/{alert}/reports", token, expect=expect,
                          data=data)


async def stored(hub: Hub) -> list[Report]:
    async with hub.client.app[SESSIONS]() as session:
        return list((await session.exec(select(Report))).all())


def upload_files(tmp_path: Path) -> list[str]:
    folder = tmp_path / "data" / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_a_photo_report_keeps_its_location_for_police_only(hub: Hub) -> None:
    s = await scene(hub)
    original = photo_with_location()
    report = await post_report(hub, s["a"], s["alert"], 201, form(file=original))
    assert report["file"]["kind"] == "jpeg" and report["reporter"].startswith("token:")
    # Police see who sent it, and the photo with its location.
    listed = await hub.call("GET", f"/api/v1/alerts/{s['alert']}/reports", s["publisher"],
                            expect=200)
    assert listed[0]["organisation_id"] == s["a_org"]
    police_copy = await hub.client.get(report["file"]["url"], headers=hub.auth(s["publisher"]))
    assert await police_copy.read() == original
    assert police_copy.headers["Content-Disposition"].startswith("attachment")
    assert police_copy.headers["X-Content-Type-Options"] == "nosniff"
    assert police_copy.headers["Content-Type"] == "image/jpeg"
    assert "photo.jpg" not in police_copy.headers["Content-Disposition"]
    # Partner B sees nothing of A's report until police share it.
    assert await hub.call("GET", f"/api/v1/alerts/{s['alert']}/reports", s["b"],
                          expect=200) == []
    await hub.call("GET", report["file"]["url"], s["b"], expect=404)
    await hub.call("POST", f"/api/v1/reports/{report['id']}/share", s["b"], expect=403)
    await hub.call("POST", f"/api/v1/reports/{report['id']}/share", s["publisher"], expect=200)
    shared = await hub.call("GET", f"/api/v1/alerts/{s['alert']}/reports", s["b"], expect=200)
    assert len(shared) == 1 and "reporter" not in shared[0]
    assert "organisation_id" not in shared[0]
    b_copy = await hub.client.get(report["file"]["url"], headers=hub.auth(s["b"]))
    copy = await b_copy.read()
    assert location_in(original) and not location_in(copy)
    assert Image.open(io.BytesIO(copy)).size == (32, 24)
    # The reporting partner still gets its own original; outsiders get nothing.
    a_copy = await hub.client.get(report["file"]["url"], headers=hub.auth(s["a"]))
    assert await a_copy.read() == original
    await hub.call("GET", f"/api/v1/alerts/{s['alert']}/reports", s["outsider"], expect=404)
    await hub.call("GET", report["file"]["url"], s["outsider"], expect=404)


async def test_a_renamed_executable_is_refused_and_nothing_is_kept(hub: Hub,
                                                                   tmp_path: Path) -> None:
    s = await scene(hub)
    executable = executable_bytes()
    answer = await post_report(hub, s["a"], s["alert"], 415,
                               form(file=executable, filename="holiday.jpg"))
    assert "file" in answer["fields"]
    assert await stored(hub) == [] and upload_files(tmp_path) == []


async def test_one_byte_over_the_limit_gets_413(aiohttp_client: Any, make_app: Any,
                                                clock: Any, tmp_path: Path) -> None:
    photo = photo_with_location()
    hub = Hub(await aiohttp_client(make_app(upload_max_bytes=len(photo))), clock)
    s = await scene(hub)
    over = photo + b"\x00"
    answer = await post_report(hub, s["a"], s["alert"], 413, form(file=over))
    assert answer["error"] == "too_large" and "file" in answer["fields"]
    assert await stored(hub) == [] and upload_files(tmp_path) == []
    await post_report(hub, s["a"], s["alert"], 201, form(file=photo))  # exactly the limit


async def test_a_declared_oversize_body_is_refused_before_it_is_sent(
        aiohttp_client: Any, make_app: Any, clock: Any) -> None:
    hub = Hub(await aiohttp_client(make_app(upload_max_bytes=1000)), clock)
    s = await scene(hub)
    reader, writer = await asyncio.open_connection(hub.client.host, hub.client.port)
    writer.write((f"POST /api/v1/alerts/{s['alert']}/reports HTTP/1.1\r\n"
                  f"Host: {hub.client.host}\r\nAuthorization: Bearer {s['a']}\r\n"
                  "Content-Type: multipart/form-data; boundary=x\r\n"
                  "Content-Length: 1073741824\r\n\r\n").encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)  # no body was sent
    writer.close()
    assert status_line.split()[1] == b"413"


async def test_report_fields_are_checked(hub: Hub, tmp_path: Path) -> None:
    s = await scene(hub)
    for file in (None, photo_with_location()):  # form-encoded, and multipart with a file
        bad = await post_report(hub, s["a"], s["alert"], 422,
                                form(lat="north", lon="200", file=file))
        assert set(bad["fields"]) == {"lat", "lon"}
    assert upload_files(tmp_path) == []
    await hub.call("POST", f"/api/v1/alerts/{s['alert']}/reports", s["a"], expect=422,
                   json={"text": "not multipart"})
    assert await stored(hub) == []
    plain = await post_report(hub, s["a"], s["alert"], 201, form())
    assert plain["file"] is None


async def test_only_recipients_may_report(hub: Hub) -> None:
    s = await scene(hub)
    await post_report(hub, s["outsider"], s["alert"], 404, form())
    await post_report(hub, s["publisher"], s["alert"], 403, form())
    assert await stored(hub) == []


async def test_a_signed_in_desk_reports_from_a_page_form(hub: Hub, browsers: Any) -> None:
    s = await scene(hub)
    await hub.person(s["a_org"], "partner", "desk@bay.example")
    browser = browsers()
    await browser.sign_in("desk@bay.example")
    fields = {"text": "Door 3 is blocked", "lat": "43.6481", "lon": "-79.3805"}
    path = f"/api/v1/alerts/{s['alert']}/reports"
    await browser.call("POST", path, 403, csrf=None, data=fields)  # no token: refused
    report = await browser.call("POST", path, 201, csrf=None,
                                data={**fields, "csrf_token": browser.csrf})
    assert report["reporter"].startswith("user:") and report["text"] == fields["text"]


async def test_a_nul_in_a_file_name_is_refused_naming_the_file(hub: Hub, tmp_path: Path) -> None:
    s = await scene(hub)
    body = (b'--x\r\nContent-Disposition: form-data; name="text"\r\n\r\nBag\r\n'
            b'--x\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n" + photo_with_location() + b"\r\n--x--\r\n")
    response = await hub.client.post(f"/api/v1/alerts/{s['alert']}/reports", data=body,
                                     headers={**hub.auth(s["a"]),
                                              "Content-Type": "multipart/form-data; boundary=x"})
    answer = await response.json()
    assert response.status in (400, 422) and "file" in answer["fields"], answer
    assert await stored(hub) == [] and upload_files(tmp_path) == []
