"""Taking in public tips over the API: a tip with its files (multipart), more files by its
receipt, and resumable uploads (tus 1.0 core and creation) for the large ones."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hub import multipart, tips, tus
from hub.access import TIPSTER, TIPSTER_CAPABILITY, allow
from hub.auth import secret_key
from hub.http import CLOCK, SESSIONS, SETTINGS, ApiError, created, rate_limit
from hub.models import TipUpload
from hub.privacy import address_key, from_tip_page
from hub.tips import TipDraft
from partners.validation import InvalidInput

routes = web.RouteTableDef()
HASHES = web.AppKey("tus_hashes", tus.Hashes)
FIELDS_ALLOWANCE = 256 * 1024  # the text fields and multipart framing around the files
TEXT_FIELDS = ("text", "contact", "evidence_request", "csrf_token")
MAX_UPLOAD_NAME = 400  # an `upload` part: the upload's URL or the secret at its end


def too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"the files of one request may be at most {limit} "
                    "bytes in all; send large ones as resumable uploads",
                    {"file": f"must be at most {limit} bytes"})


def spend(request: web.Request, budget: str) -> None:
    """A tipster's request counts against the budget of their address, kept as a keyed hash."""
    rate_limit(request, budget, address_key(secret_key(request), request))


async def read_tip(request: web.Request) -> TipDraft:
    """The request's fields, files (streamed to disk) and upload references; 422 naming
    what is wrong, 413 past `VIGIL_TIP_MAX_BYTES`, 415 for a file that is no photo or video."""
    settings = request.app[SETTINGS]
    limit = settings.tip_max_bytes
    if request.content_length is not None and request.content_length > limit + FIELDS_ALLOWANCE:
        raise too_large(limit)
    if request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        fields = {k: str(v) for k, v in form.items() if k != "upload"}
        if len(fields) < len(form) - len(form.getall("upload", [])):
            raise InvalidInput({"body": "send each field once"})
        return TipDraft(fields, uploads=[str(v) for v in form.getall("upload", [])])
    if request.content_type != "multipart/form-data":
        raise InvalidInput({"body": "must be multipart/form-data with text, contact, "
                                    "evidence_request, file and upload parts"})
    draft = TipDraft({})
    try:
        await _read_parts(request, draft, limit, tips.files_dir(settings.data_dir))
    except BaseException:
        for upload in draft.files:
            upload.path.unlink(missing_ok=True)
        raise
    return draft


async def _read_parts(request: web.Request, draft: TipDraft, limit: int, folder: Path) -> None:
    budget = limit
    async for part in multipart.parts(request):
        name = str(part.name)
        if name in ("file", "upload") and len(draft.files) + len(draft.uploads) >= tips.MAX_FILES:
            raise InvalidInput({name: f"send at most {tips.MAX_FILES} files at once; add more "
                                      "later with the receipt"})
        if name == "file":
            upload = await multipart.stream_file(part, budget, folder, too_large(limit))
            if upload is not None:
                draft.files.append(upload)
                budget -= upload.size
        elif name == "upload":
            draft.uploads.append((await multipart.read_text(part, MAX_UPLOAD_NAME)).strip())
        elif name in TEXT_FIELDS:
            if name in draft.fields:
                raise InvalidInput({name: "send it once"})
            draft.fields[name] = await multipart.read_text(part, tips.MAX_TEXT)
        else:
            raise InvalidInput({name[:40]: "is not a known field"})


async def take_tip(request: web.Request, receipt: str | None = None) -> web.Response:
    spend(request, "tip")
    draft = await read_tip(request)
    try:
        async with request.app[SESSIONS]() as session:
            _, code, added = await tips.receive(session, draft, request.app[SETTINGS].data_dir,
                                                request.app[CLOCK](), receipt)
    finally:
        for upload in draft.files:  # still there only if nothing was stored
            upload.path.unlink(missing_ok=True)
    return created(tips.receipt_json(code, added))


@routes.post("/api/v1/tips")
@allow(TIPSTER)
async def tip_create(request: web.Request) -> web.Response:
    return await take_tip(request)


@routes.post("/api/v1/tips/{receipt}/files")
@allow(TIPSTER_CAPABILITY)
async def tip_add_files(request: web.Request) -> web.Response:
    return await take_tip(request, request.match_info["receipt"])


@routes.options("/api/v1/tips/uploads")
@allow(TIPSTER)
async def upload_options(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={
        "Tus-Resumable": tus.VERSION, "Tus-Version": tus.VERSION,
        "Tus-Extension": tus.EXTENSIONS,
        "Tus-Max-Size": str(request.app[SETTINGS].tip_max_bytes)})


@routes.post("/api/v1/tips/uploads")
@allow(TIPSTER)
async def upload_create(request: web.Request) -> web.Response:
    spend(request, "tip_upload")
    tus.check_version(request)
    limit = request.app[SETTINGS].tip_max_bytes
    length = tus.whole_number(request, "Upload-Length")
    if length == 0:
        raise InvalidInput({"Upload-Length": "must be at least 1 byte: a photo or video"})
    if length > limit:
        raise tus.too_large(limit)
    name = tus.file_name(request.headers.get("Upload-Metadata"))
    async with request.app[SESSIONS]() as session:
        secret, _ = await tus.create(session, length, name, request.app[SETTINGS].data_dir,
                                     request.app[CLOCK]())
    url = f"/api/v1/tips/uploads/{secret}"
    return web.json_response({"url": url, "length": length, "offset": 0}, status=201,
                             headers={"Location": url, "Upload-Offset": "0"})


async def _upload(request: web.Request) -> TipUpload:
    async with request.app[SESSIONS]() as session:
        upload = await session.get(TipUpload, tus.upload_key(request.match_info["id"]))
    if upload is None:
        raise ApiError(404, "not_found", "no such upload (or it was taken into a tip)")
    return upload


@routes.head("/api/v1/tips/uploads/{id}")
@allow(TIPSTER_CAPABILITY)
async def upload_offset(request: web.Request) -> web.Response:
    tus.check_version(request)
    upload = await _upload(request)
    offset = tus.offset_of(request.app[SETTINGS].data_dir, upload)
    return web.Response(status=200, headers={"Upload-Offset": str(offset),
                                             "Upload-Length": str(upload.length)})


@routes.patch("/api/v1/tips/uploads/{id}")
@allow(TIPSTER_CAPABILITY)
async def upload_append(request: web.Request) -> web.Response:
    tus.check_version(request)
    if request.content_type != tus.OCTETS:
        raise ApiError(415, "unsupported_media_type", f"a PATCH carries {tus.OCTETS}",
                       {"Content-Type": f"must be {tus.OCTETS}"})
    offset = tus.whole_number(request, "Upload-Offset")
    upload = await _upload(request)
    done = await tus.append(request, request.app[SESSIONS], request.app[HASHES],
                            request.app[SETTINGS].data_dir, upload, offset, request.app[CLOCK]())
    return web.Response(status=204, headers={"Upload-Offset": str(done.offset)})


async def tip_headers(request: web.Request, response: web.StreamResponse) -> None:
    """tus answers name the protocol version in every answer (errors too); tip pages ask
    browsers not to send the page in the Referer of what they load."""
    if request.path.startswith("/api/v1/tips/uploads"):
        response.headers.setdefault("Tus-Resumable", tus.VERSION)
    if from_tip_page(request):
        response.headers["Referrer-Policy"] = "no-referrer"
