"""Resumable uploads for tips (tus 1.0 core and creation): streamed to disk, hashed as they
come, kept when the connection drops, resumed from the byte where they stopped."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hub.api.tips import HASHES
from hub.models import TipUpload
from tests.conftest import Clock, Hub
from tests.hub.test_reports import executable_bytes
from tests.hub.tips_scene import (
    OCTETS,
    TUS,
    police,
    production_hub,
    rows,
    send_tip,
    stored_files,
    tip_form,
    video,
)

MiB = 1024 * 1024


async def create(hub: Hub, length: int, expect: int = 201, **headers: str) -> Any:
    response = await hub.client.post("/api/v1/tips/uploads", headers={
        **TUS, "Upload-Length": str(length), **headers})
    assert response.status == expect, await response.text()
    return response.headers.get("Location") if expect == 201 else await response.json()


async def offset(hub: Hub, url: str) -> int:
    response = await hub.client.head(url, headers=TUS)
    assert response.status == 200
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


async def patch(hub: Hub, url: str, at: int, data: bytes, expect: int = 204,
                **headers: str) -> Any:
    response = await hub.client.patch(url, data=data, headers={
        **OCTETS, "Upload-Offset": str(at), **headers})
    assert response.status == expect, await response.text()
    return int(response.headers["Upload-Offset"]) if expect == 204 else await response.json()


async def test_options_advertise_the_protocol_and_the_largest_upload(hub: Hub) -> None:
    response = await hub.client.options("/api/v1/tips/uploads")
    assert response.status == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == "creation"
    assert response.headers["Tus-Max-Size"] == str(2 * 1024 ** 3)  # VIGIL_TIP_MAX_BYTES


async def test_an_upload_in_pieces_is_typed_hashed_and_taken_into_a_tip(
        hub: Hub, tmp_path: Path) -> None:
    scene = await police(hub)
    clip = video(700_000)
    url = await create(hub, len(clip), **{"Upload-Metadata": "filename " + base64.b64encode(
        "platform 2 ✓.mp4".encode()).decode()})
    assert url.startswith("/api/v1/tips/uploads/") and await offset(hub, url) == 0
    at = 0
    for size in (10, 90_000, 300_000, len(clip)):  # the first piece too short to judge
        at = await patch(hub, url, at, clip[at:size])
        assert await offset(hub, url) == at == size
    [row] = await rows(hub, TipUpload)
    assert (row.kind, row.sha256) == ("mp4", hashlib.sha256(clip).hexdigest())
    assert row.id != url.rsplit("/", 1)[-1]  # the secret itself is never stored
    await send_tip(hub, tip_form({"text": "the platform", "evidence_request":
                                  scene.request["slug"]}, uploads=[url]), 201)
    [tip] = await hub.call("GET", "/api/v1/tips", scene.publisher, expect=200)
    assert [(f["name"], f["size"], f["sha256"]) for f in tip["files"]] == [
        ("platform 2 ✓.mp4", len(clip), hashlib.sha256(clip).hexdigest())]
    got = await hub.client.get(tip["files"][0]["url"], headers=hub.auth(scene.publisher))
    assert await got.read() == clip
    assert await rows(hub, TipUpload) == []
    response = await hub.client.head(url, headers=TUS)
    assert response.status == 404  # taken into the tip: the URL is spent
    assert [p for p in stored_files(tmp_path / "data") if p.startswith("uploads/")] == []


async def test_a_process_that_did_not_see_the_first_bytes_hashes_them_again(hub: Hub) -> None:
    clip = video(400_000)
    url = await create(hub, len(clip))
    await patch(hub, url, 0, clip[:150_000])
    hub.client.app[HASHES].running.clear()  # as after a restart, or on another web process
    await patch(hub, url, 150_000, clip[150_000:])
    [row] = await rows(hub, TipUpload)
    assert row.sha256 == hashlib.sha256(clip).hexdigest()


async def test_protocol_refusals_name_what_is_wrong(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock,
        tmp_path: Path) -> None:
    hub = Hub(await aiohttp_client(make_app(tip_max_bytes=100_000)), clock)
    missing = await hub.client.post("/api/v1/tips/uploads", headers={"Upload-Length": "10"})
    assert missing.status == 412 and "Tus-Resumable" in (await missing.json())["fields"]
    assert missing.headers["Tus-Resumable"] == "1.0.0"
    for length, field in (("ten", "Upload-Length"), ("-1", "Upload-Length"),
                          ("0", "Upload-Length")):
        answer = await create(hub, 0, 422, **{"Upload-Length": length})
        assert field in answer["fields"]
    bad_metadata = await create(hub, 10, 422, **{"Upload-Metadata": "filename ***"})
    assert "Upload-Metadata" in bad_metadata["fields"]
    too_big = await create(hub, 100_001, 413)
    assert "Upload-Length" in too_big["fields"]
    assert await rows(hub, TipUpload) == []
    clip = video(50_000)
    url = await create(hub, len(clip))
    wrong = await patch(hub, url, 7, clip[:100], 409)
    assert wrong["fields"] == {"Upload-Offset": "must be 0"}
    typed = await patch(hub, url, 0, clip[:100], 415, **{"Content-Type": "application/json"})
    assert "Content-Type" in typed["fields"]
    unversioned = await hub.client.patch(url, data=clip, headers={
        "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    assert unversioned.status == 412
    at = await patch(hub, url, 0, clip[:20_000])
    # A piece that would pass the declared length: refused, and nothing of it is kept.
    over = await patch(hub, url, at, clip[at:] + b"extra", 413)
    assert "Upload-Length" in over["fields"] and await offset(hub, url) == at
    await hub.client.head("/api/v1/tips/uploads/no-such-upload", headers=TUS)
    unknown = await patch(hub, "/api/v1/tips/uploads/no-such-upload", 0, b"x", 404)
    assert unknown["error"] == "not_found"
    assert await patch(hub, url, at, clip[at:]) == len(clip)


async def test_an_upload_that_is_no_photo_or_video_is_refused_and_gone(
        hub: Hub, tmp_path: Path) -> None:
    program = executable_bytes()
    url = await create(hub, len(program))
    answer = await patch(hub, url, 0, program, 415)
    assert "file" in answer["fields"]
    assert await rows(hub, TipUpload) == []
    assert stored_files(tmp_path / "data") == []
    gone = await hub.client.head(url, headers=TUS)
    assert gone.status == 404


@contextlib.asynccontextmanager
async def serving(how: str, aiohttp_client: Any, make_app: Callable[..., web.Application],
                  clock: Clock) -> AsyncIterator[Hub]:
    if how == "test server":  # aiohttp's test server cancels a handler whose client left
        yield Hub(await aiohttp_client(make_app()), clock)
        return
    async with production_hub(make_app(), clock) as hub:  # `vigil serve` lets it finish
        yield hub


async def wait_for(probe: Callable[[], Any], want: Any, rounds: int = 200) -> None:
    for _ in range(rounds):
        if await probe() == want:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never reached {want!r}, last {await probe()!r}")


@pytest.mark.parametrize("how", ["test server", "as vigil serve"])
async def test_an_upload_cut_off_half_way_resumes_from_where_it_stopped(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock,
        tmp_path: Path, how: str) -> None:
    clip = video(3 * MiB)
    half = len(clip) // 2
    async with serving(how, aiohttp_client, make_app, clock) as hub:
        scene = await police(hub)
        url = await create(hub, len(clip))
        # One PATCH of the whole file on a real socket, closed once half of it is in.
        reader, writer = await asyncio.open_connection(hub.client.host, hub.client.port)
        writer.write((f"PATCH {url} HTTP/1.1\r\nHost: {hub.client.host}\r\n"
                      "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                      "Content-Type: application/offset+octet-stream\r\n"
                      f"Content-Length: {len(clip)}\r\n\r\n").encode())
        writer.write(clip[:half])
        await writer.drain()
        await wait_for(lambda: offset(hub, url), half)
        writer.close()
        await writer.wait_closed()
        part = next((tmp_path / "data" / "tips" / "uploads").glob("*.part"))
        assert part.read_bytes() == clip[:half]  # what arrived is kept, as it arrived
        # The client comes back: asks where the upload stands, and sends the rest.
        for _ in range(100):
            at = await offset(hub, url)
            response = await hub.client.patch(url, data=io.BytesIO(clip[at:]), headers={
                **OCTETS, "Upload-Offset": str(at)})
            if response.status != 409:  # 409 while the cut-off PATCH is still winding up
                break
            await asyncio.sleep(0.02)
        assert (at, response.status) == (half, 204)
        assert int(response.headers["Upload-Offset"]) == len(clip)
        await send_tip(hub, tip_form({"text": "filmed it", "evidence_request":
                                      scene.request["slug"]}, uploads=[url]), 201)
        [tip] = await hub.call("GET", "/api/v1/tips", scene.publisher, expect=200)
        assert tip["files"][0]["sha256"] == hashlib.sha256(clip).hexdigest()
        got = await hub.client.get(tip["files"][0]["url"], headers=hub.auth(scene.publisher))
        assert hashlib.sha256(await got.read()).hexdigest() == hashlib.sha256(clip).hexdigest()
        reader.feed_eof()
