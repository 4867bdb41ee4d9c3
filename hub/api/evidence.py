"""Evidence requests and the tips police review over the API: open and close requests, read
and moderate tips, download their files as received, export a case bundle; each look at a
tip or file is on the record (chain of custody)."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import IO

from aiohttp import web

from hub import audit, bundles, evidence, tips
from hub.access import TIP_READERS, allow, roles
from hub.errors import Forbidden, NotFound
from hub.http import CLOCK, SESSIONS, SETTINGS, created, principal_of, read_json
from hub.media import MIME_TYPES
from hub.models import EvidenceRequest, TipFile, TipStatus
from partners.models import Role
from partners.validation import InvalidInput, NotKnown

routes = web.RouteTableDef()
ANY_REQUEST = "none"  # ?evidence_request=none: the general tips, answering no request


@routes.post("/api/v1/evidence-requests")
@allow(roles(Role.PUBLISHER))
async def evidence_create(request: web.Request) -> web.Response:
    principal = principal_of(request)
    draft = evidence.read_request(await read_json(request))
    async with request.app[SESSIONS]() as session:
        opened = await evidence.open_request(session, principal, draft, request.app[CLOCK]())
    return created(evidence.request_json(opened, request.app[SETTINGS].public_url, 0))


@routes.get("/api/v1/evidence-requests")
@allow(TIP_READERS)
async def evidence_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        found = await evidence.requests_for(session, principal)
    url = request.app[SETTINGS].public_url
    return web.json_response([evidence.request_json(r, url, n) for r, n in found])


@routes.post("/api/v1/evidence-requests/{id}/close")
@allow(roles(Role.PUBLISHER, Role.ADMIN))
async def evidence_close(request: web.Request) -> web.Response:
    principal = principal_of(request)
    if not principal.hub_admin and principal.role is not Role.PUBLISHER:
        raise Forbidden("only the service's publishers or a hub admin may close a request")
    async with request.app[SESSIONS]() as session:
        closed = await evidence.close_request(session, principal, request.match_info["id"],
                                              request.app[CLOCK]())
    return web.json_response(evidence.request_json(closed, request.app[SETTINGS].public_url))


def _filters(request: web.Request) -> tuple[str | None, TipStatus | None]:
    query = request.query
    for name in query.keys() - {"evidence_request", "status"}:
        raise InvalidInput({name[:40]: "is not a known parameter"})
    status = None
    if "status" in query:
        try:
            status = TipStatus(query["status"])
        except ValueError:
            raise InvalidInput({"status": "must be one of: " + ", ".join(
                s.value for s in TipStatus)}) from None
    return query.get("evidence_request"), status


@routes.get("/api/v1/tips")
@allow(TIP_READERS)
async def tip_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    wanted, status = _filters(request)
    async with request.app[SESSIONS]() as session:
        scope: EvidenceRequest | None = None
        if wanted and wanted != ANY_REQUEST:
            try:
                scope = await evidence.readable(session, principal, wanted)
            except NotFound:
                raise NotKnown({"evidence_request": "is not an evidence request you "
                                "can see"}) from None
        found = await tips.tips_for(session, principal, request=scope,
                                    general=wanted == ANY_REQUEST, status=status,
                                    limit=tips.MAX_LISTED)
        files = await tips.files_of(session, found)
        await tips.viewed(session, principal, found, "api list")
        await session.commit()
    return web.json_response([tips.tip_json(tip, files[tip.id]) for tip in found])


@routes.get("/api/v1/tips/{id}")
@allow(TIP_READERS)
async def tip_show(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        tip = await tips.readable(session, principal, request.match_info["id"])
        files = await tips.files_of(session, [tip])
        await tips.viewed(session, principal, [tip], "api")
        await session.commit()
    return web.json_response(tips.tip_json(tip, files[tip.id]))


@routes.patch("/api/v1/tips/{id}")
@allow(TIP_READERS)
async def tip_moderate(request: web.Request) -> web.Response:
    principal = principal_of(request)
    body = await read_json(request)
    async with request.app[SESSIONS]() as session:
        tip = await tips.moderate(session, principal, request.match_info["id"], body,
                                  request.app[CLOCK]())
        files = await tips.files_of(session, [tip])
    return web.json_response(tips.tip_json(tip, files[tip.id]))


@routes.get("/api/v1/tips/{id}/files/{file}")
@allow(TIP_READERS)
async def tip_file(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        tip = await tips.readable(session, principal, request.match_info["id"])
        found = await session.get(TipFile, request.match_info["file"])
        if found is None or found.tip_id != tip.id:
            raise NotFound("no such file")
        await audit.record(session, principal.actor, "tip.file.download", found.id,
                           {"tip_id": tip.id, "sha256": found.sha256})
        await session.commit()
    path = tips.stored_path(request.app[SETTINGS].data_dir, found)
    # The original bytes, metadata and all: police need the location and time it carries.
    return web.FileResponse(path, headers={
        "Content-Type": MIME_TYPES[found.kind],
        "Content-Disposition": f'attachment; filename="{path.name}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@routes.get("/api/v1/evidence-requests/{id}/bundle")
@allow(TIP_READERS)
async def evidence_bundle(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    settings = request.app[SETTINGS]
    now = request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        scope = await evidence.readable(session, principal, request.match_info["id"])
        found = list(reversed(await tips.tips_for(session, principal, request=scope)))
        files = await tips.files_of(session, found)
        every = [f for tip in found for f in files[tip.id]]
        # The export is itself on the record, and in the custody log it carries.
        await audit.record(session, principal.actor, "evidence.bundle", scope.id,
                           {"tips": len(found), "files": len(every)})
        events = await bundles.custody(session, [scope.id, *(t.id for t in found),
                                                 *(f.id for f in every)])
        document = bundles.manifest(scope, settings.public_url, found, files, events,
                                    principal.actor, now)
        await session.commit()
    sources = {bundles.member_name(f): tips.stored_path(settings.data_dir, f) for f in every}
    folder = tips.files_dir(settings.data_dir).parent / "bundles"
    folder.mkdir(exist_ok=True, mode=0o700)
    built = await asyncio.to_thread(_build, folder, document, sources)
    name = f"evidence-{scope.slug}-{now:%Y%m%d-%H%M%S}.zip"
    return await _send(request, built, name)


def _build(folder: Path, document: dict[str, object], sources: dict[str, Path]) -> IO[bytes]:
    """The bundle in a file already unlinked: it goes when the answer is sent, or the
    process ends, whatever happens in between."""
    path = folder / f"bundle-{secrets.token_hex(16)}.zip"
    out = path.open("w+b")
    path.unlink()
    try:
        bundles.write(out, document, sources)
        out.flush()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


async def _send(request: web.Request, built: IO[bytes], name: str) -> web.StreamResponse:
    with built:
        response = web.StreamResponse(headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store"})
        response.content_length = os.fstat(built.fileno()).st_size
        await response.prepare(request)
        while chunk := await asyncio.to_thread(built.read, bundles.CHUNK):
            await response.write(chunk)
        await response.write_eof()
    return response
