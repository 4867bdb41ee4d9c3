"""Field reports over the API: multipart upload with a photo or video, listing, files, sharing."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from hub import reports
from hub.access import SIGNED_IN, allow, roles
from hub.geo import LAT_TEXT, LON_TEXT
from hub.http import CLOCK, SESSIONS, SETTINGS, ApiError, created, principal_of
from hub.media import MIME_TYPES, SNIFF_BYTES, MediaKind, sniff
from hub.reports import MAX_TEXT, Upload, readable, report_json, stored_path, uploads_dir
from hub.visibility import visible_alert
from partners.models import Role
from partners.validation import Checker, InvalidInput

routes = web.RouteTableDef()
FIELDS_ALLOWANCE = 64 * 1024  # the text fields and multipart framing around the file
_PART_NAME = re.compile(r'name="([A-Za-z_]+)"')  # the part a refused header belongs to
ALLOWED = ", ".join(kind.value for kind in MediaKind)


def too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"a report's file may be at most {limit} bytes",
                    {"file": f"must be at most {limit} bytes"})


@routes.post("/api/v1/alerts/{id}/reports")
@allow(roles(Role.PARTNER))
async def report_create(request: web.Request) -> web.Response:
    principal = principal_of(request)
    settings = request.app[SETTINGS]
    limit = settings.upload_max_bytes
    # Refused from the headers alone, before a byte of a too-large body is read.
    if request.content_length is not None and request.content_length > limit + FIELDS_ALLOWANCE:
        raise too_large(limit)
    if request.content_type == "application/x-www-form-urlencoded":  # a report with no file
        fields, upload = {k: str(v) for k, v in (await request.post()).items()}, None
    elif request.content_type == "multipart/form-data":
        fields, upload = await _read_form(request, limit, uploads_dir(settings.data_dir))
    else:
        raise InvalidInput({"body": "must be multipart/form-data with text, lat, lon, file"})
    try:
        text, lat, lon = _read_fields(fields)
        async with request.app[SESSIONS]() as session:
            report = await reports.create(session, principal, request.match_info["id"], text,
                                          lat, lon, upload, settings.data_dir,
                                          request.app[CLOCK]())
    finally:
        if upload is not None:
            upload.path.unlink(missing_ok=True)  # still there only if nothing was stored
    return created(report_json(report, full=True))


async def _read_form(request: web.Request, limit: int,
                     folder: Path) -> tuple[dict[str, str], Upload | None]:
    try:
        reader = await request.multipart()
    except ValueError as error:  # no boundary, or one over RFC 2046's 70 characters
        raise InvalidInput({"body": f"the multipart Content-Type is not usable: {error}"}) \
            from None
    fields: dict[str, str] = {}
    upload: Upload | None = None
    try:
        while (part := await _next_part(reader)) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                raise InvalidInput({"body": "nested multipart is not accepted"})
            if part.name == "file":
                if upload is not None:
                    raise InvalidInput({"file": "send one file per report"})
                upload = await _stream_file(part, limit, folder)
            elif part.name in ("text", "lat", "lon"):
                fields[part.name] = await _read_text(part)
            else:
                raise InvalidInput({part.name[:40]: "is not a known field"})
    except BaseException:
        if upload is not None:
            upload.path.unlink(missing_ok=True)
        raise
    return fields, upload


async def _next_part(reader: MultipartReader) -> BodyPartReader | MultipartReader | None:
    """The next part, or an InvalidInput naming it when its headers cannot be read (a NUL
    or line break in a file name)."""
    try:
        return await reader.next()
    except BadHttpMessage as error:
        named = _PART_NAME.search(str(error))
        raise InvalidInput({named.group(1)[:40] if named else "body":
                            "has headers that are not valid (a control character in its "
                            "file name?)"}) from None


async def _read_text(part: BodyPartReader) -> str:
    """A small text field, refused once it passes the limit (chunks may come in pieces)."""
    raw = b""
    while chunk := await part.read_chunk(MAX_TEXT):
        raw += chunk
        if len(raw) > MAX_TEXT * 4:  # UTF-8 needs at most 4 bytes a character
            raise InvalidInput({str(part.name): f"must be at most {MAX_TEXT} characters"})
    return raw.decode("utf-8", errors="replace")


async def _stream_file(part: BodyPartReader, limit: int, folder: Path) -> Upload | None:
    """Write the file to a temporary name, typing it from its first bytes, counting as it
    comes so one byte over the limit is refused without holding the file in memory."""
    path = folder / f"incoming-{secrets.token_hex(16)}"
    digest, size, kind = hashlib.sha256(), 0, None
    try:
        with path.open("wb") as out:
            while chunk := await part.read_chunk(64 * 1024):
                if kind is None:
                    kind = sniff(chunk[:SNIFF_BYTES])
                    if kind is None:
                        raise ApiError(415, "unsupported_media_type",
                                       f"the file is not one of: {ALLOWED} (judged from its "
                                       "content, not its name)", {"file": f"must be {ALLOWED}"})
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if kind is None:
        path.unlink(missing_ok=True)
        return None  # an empty file field: a report without a file
    return Upload(path, kind, size, digest.hexdigest())


def _read_fields(fields: dict[str, str]) -> tuple[str, float, float]:
    check = Checker({"text": fields.get("text", "")})
    # csrf_token: a page's form carries it; the guard has checked it already.
    for name in fields.keys() - {"text", "lat", "lon", "csrf_token"}:
        check.fail(name[:40], "is not a known field")
    text = check.text("text", required=False, max_len=MAX_TEXT, default="")
    place: dict[str, float] = {}
    for name, written in (("lat", LAT_TEXT), ("lon", LON_TEXT)):
        raw = fields.get(name)
        if raw is None:
            check.fail(name, "is required")
        elif not written.fullmatch(raw):
            check.fail(name, "must be a decimal number such as 43.6481, "
                             + ("-90 to 90" if name == "lat" else "-180 to 180"))
        else:
            place[name] = float(raw)
    check.done()
    return text or "", place["lat"], place["lon"]


@routes.get("/api/v1/alerts/{id}/reports")
@allow(SIGNED_IN)
async def report_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        alert = await visible_alert(session, principal, request.match_info["id"])
        found = await reports.reports_of(session, principal, alert)
    return web.json_response([
        report_json(r, full=reports.sees_reporter(principal, alert, r)) for r in found])


@routes.get("/api/v1/reports/{id}/file")
@allow(SIGNED_IN)
async def report_file(request: web.Request) -> web.StreamResponse:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        report, _, full = await readable(session, principal, request.match_info["id"])
    if report.file_kind is None:
        raise ApiError(404, "not_found", "this report has no file")
    # Police and the reporting organisation get the original; everyone else the copy with
    # the location metadata blanked.
    path = stored_path(request.app[SETTINGS].data_dir, report, public=not full)
    kind = MediaKind(report.file_kind)
    return web.FileResponse(path, headers={
        "Content-Type": MIME_TYPES[kind],
        "Content-Disposition": f'attachment; filename="{path.name.replace(".public", "")}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@routes.post("/api/v1/reports/{id}/share")
@allow(roles(Role.PUBLISHER))
async def report_share(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        report = await reports.share(session, principal, request.match_info["id"],
                                     request.app[SETTINGS].data_dir, request.app[CLOCK]())
    return web.json_response(report_json(report, full=True))
