"""Field reports over the API: multipart upload with a photo or video, listing, files, sharing."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hub import multipart, reports
from hub.access import SIGNED_IN, allow, roles
from hub.geo import LAT_TEXT, LON_TEXT
from hub.http import CLOCK, SESSIONS, SETTINGS, ApiError, created, principal_of
from hub.media import MIME_TYPES, MediaKind, Upload
from hub.reports import MAX_TEXT, readable, report_json, stored_path, uploads_dir
from hub.visibility import visible_alert
from partners.models import Role
from partners.validation import Checker, InvalidInput

routes = web.RouteTableDef()
FIELDS_ALLOWANCE = 64 * 1024  # the text fields and multipart framing around the file


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
    fields: dict[str, str] = {}
    upload: Upload | None = None
    try:
        async for part in multipart.parts(request):
            if part.name == "file":
                if upload is not None:
                    raise InvalidInput({"file": "send one file per report"})
                upload = await multipart.stream_file(part, limit, folder, too_large(limit))
            elif part.name in ("text", "lat", "lon"):
                fields[str(part.name)] = await multipart.read_text(part, MAX_TEXT)
            else:
                raise InvalidInput({str(part.name)[:40]: "is not a known field"})
    except BaseException:
        if upload is not None:
            upload.path.unlink(missing_ok=True)
        raise
    return fields, upload


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
