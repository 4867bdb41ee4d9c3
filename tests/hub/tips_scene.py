"""Shared by the tip tests: a police service with an open evidence request, tip forms, tus
calls, and every row the hub holds of tips."""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from sqlmodel import SQLModel, select

from hub.http import SESSIONS
from hub.models import AuditEvent, Tip, TipFile, TipUpload
from hub.privacy import ACCESS_LOG
from tests.conftest import Clock, Hub

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}


@dataclass
class Police:
    publisher: str
    approver: str
    request: dict[str, Any]  # the open evidence request, as its 201 answered


async def police(hub: Hub, title: str = "Collision at Queen St W & Spadina Ave") -> Police:
    org = await hub.organisation("Toronto Police Service", "police")
    publisher = await hub.token(org, "publisher")
    request = await hub.call("POST", "/api/v1/evidence-requests", publisher, expect=201, json={
        "title": title, "description": "Did you see a cyclist struck at about 17:40?",
        "area": {"circle": {"lat": 43.6487, "lon": -79.3960, "radius_m": 300}},
        "starts": "2026-11-21T17:30:00-05:00", "ends": "2026-11-21T18:00:00-05:00"})
    return Police(publisher, await hub.token(org, "approver"), request)


def video(size: int = 200_000) -> bytes:
    """The start of an MP4 (an ftyp box of brand isom) and `size` bytes in all."""
    head = (24).to_bytes(4, "big") + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    return head + bytes((i * 7) % 251 for i in range(size - len(head)))


def png(colour: tuple[int, int, int] = (10, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


def tip_form(fields: dict[str, str] | None = None,
             files: list[tuple[str, bytes]] | None = None,
             uploads: list[str] | None = None) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in (fields or {}).items():
        form.add_field(name, value)
    for name, data in files or []:
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
    for upload in uploads or []:
        form.add_field("upload", upload)
    return form


async def send_tip(hub: Hub, form: aiohttp.FormData, expect: int, path: str = "/api/v1/tips",
                   headers: dict[str, str] | None = None) -> Any:
    response = await hub.client.post(path, data=form, headers=headers or {})
    answer = await response.json()
    assert response.status == expect, (response.status, answer)
    return answer


async def upload(hub: Hub, data: bytes, name: str = "clip.mp4") -> str:
    """A finished tus upload of `data`; returns its URL."""
    created = await hub.client.post("/api/v1/tips/uploads", headers={
        **TUS, "Upload-Length": str(len(data)),
        "Upload-Metadata": "filename " + base64.b64encode(name.encode()).decode()})
    assert created.status == 201, await created.text()
    url = created.headers["Location"]
    patched = await hub.client.patch(url, data=data, headers={**OCTETS, "Upload-Offset": "0"})
    assert patched.status == 204, await patched.text()
    return url


async def rows(hub: Hub, *tables: type[SQLModel]) -> list[Any]:
    found: list[Any] = []
    async with hub.client.app[SESSIONS]() as session:
        for table in tables or (Tip, TipFile, TipUpload):
            found += (await session.exec(select(table))).all()
    return found


async def audit_rows(hub: Hub) -> list[AuditEvent]:
    return list(await rows(hub, AuditEvent))


def stored_files(data_dir: Path) -> list[str]:
    """Every file under the data dir's tips folder (stored, incoming, uploads, bundles)."""
    folder = data_dir / "tips"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else []


class ProductionServer(TestServer):
    """The app served as `vigil serve` serves it: with its access log, and a handler whose
    client went away left to finish (aiohttp's default; its test server cancels them)."""

    async def _make_runner(self, **kwargs: Any) -> web.AppRunner:
        kwargs.update(handler_cancellation=False, access_log_class=ACCESS_LOG)
        return web.AppRunner(self.app, **kwargs)


@contextlib.asynccontextmanager
async def production_hub(app: web.Application, clock: Clock) -> AsyncIterator[Hub]:
    client: TestClient[Any, web.Application] = TestClient(ProductionServer(app))
    await client.start_server()
    try:
        yield Hub(client, clock)
    finally:
        await client.close()
