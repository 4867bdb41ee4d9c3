"""Field reports over the API: multipart upload with a photo or video, listing, files, sharing."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hub import multipart, reports
from hub.access import SIGNED_IN, allow, roles
from hub.geo import LAT_TEXT, LON_TEXT
from hub.http import CLOCK, SESSIONS, SETTINGS, ApiError, created, principal_of, read_json
from hub.media import MIME_TYPES, MediaKind, Upload
from hub.models import ReportFile, ReportStatus
from hub.reports import (
    DEFAULT_PAGE,
    MAX_FILES,
    MAX_FORWARD,
    MAX_PAGE,
    MAX_TEXT,
    ReportDraft,
    readable,
    report_json,
    stored_path,
    uploads_dir,
)
from hub.tlp import Tlp
from hub.visibility import visible_alert
from partners.models import MAX_ID, Role
from partners.validation import Checker, InvalidInput

routes = web.RouteTableDef()
FIELDS_ALLOWANCE = 64 * 1024  # the text fields and multipart framing around the file
TEXT_FIELDS = frozenset({"text", "lat", "lon", "observed_at", "tlp"})


def too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"a report's file may be at most {limit} bytes",
                    {"file": f"must be at most {limit} bytes"})


@routes.post("/api/v1/alerts/{id}/reports")
@allow(roles(Role.PARTNER))
async def report_create(request: web.Request) -> web.Response:
    return await _create(request, request.match_info["id"])


@routes.post("/api/v1/reports")
@allow(roles(Role.PARTNER))
async def standalone_report_create(request: web.Request) -> web.Response:
    """A report on no alert: something seen in the field that police should know."""
    return await _create(request, None)


async def _create(request: web.Request, alert_id: str | None) -> web.Response:
    principal = principal_of(request)
    settings = request.app[SETTINGS]
    limit = settings.upload_max_bytes
    # Refused from the headers alone, before a byte of a too-large body is read.
    if request.content_length is not None and \
            request.content_length > limit * MAX_FILES + FIELDS_ALLOWANCE:
        raise too_large(limit)
    uploads: list[Upload] = []
    if request.content_type == "application/x-www-form-urlencoded":  # a report with no file
        fields = {k: str(v) for k, v in (await request.post()).items()}
    elif request.content_type == "multipart/form-data":
        fields, uploads = await _read_form(request, limit, uploads_dir(settings.data_dir))
    else:
        raise InvalidInput({"body": "must be multipart/form-data with text, lat, lon, file"})
    try:
        draft = _read_fields(fields, standalone=alert_id is None)
        async with request.app[SESSIONS]() as session:
            report, files = await reports.create(session, principal, alert_id, draft,
                                                 uploads, settings.data_dir,
                                                 request.app[CLOCK]())
    finally:
        for upload in uploads:
            upload.path.unlink(missing_ok=True)  # still there only if nothing was stored
    return created(report_json(report, files, full=True))


async def _read_form(request: web.Request, limit: int,
                     folder: Path) -> tuple[dict[str, str], list[Upload]]:
    fields: dict[str, str] = {}
    uploads: list[Upload] = []
    file_parts = 0
    try:
        async for part in multipart.parts(request):
            if part.name == "file":
                file_parts += 1  # an empty one too: the count is of parts, as documented
                if file_parts > MAX_FILES:
                    raise InvalidInput({"file": f"at most {MAX_FILES} files per report"})
                upload = await multipart.stream_file(part, limit, folder, too_large(limit))
                if upload is not None:
                    uploads.append(upload)
            elif part.name in TEXT_FIELDS:
                fields[str(part.name)] = await multipart.read_text(part, MAX_TEXT)
            else:
                raise InvalidInput({str(part.name)[:40]: "is not a known field"})
    except BaseException:
        for upload in uploads:
            upload.path.unlink(missing_ok=True)
        raise
    return fields, uploads


def _read_fields(fields: dict[str, str], *, standalone: bool) -> ReportDraft:
    known = TEXT_FIELDS if standalone else TEXT_FIELDS - {"tlp"}
    body: dict[str, object] = {"text": fields.get("text", "")}
    for name in ("observed_at", "tlp"):
        if name in fields:
            body[name] = fields[name]
    check = Checker(body)
    # csrf_token: a page's form carries it; the guard has checked it already.
    for name in fields.keys() - known - {"csrf_token"}:
        check.fail(name[:40], "is not a known field")
    text = check.text("text", required=False, max_len=MAX_TEXT, default="")
    observed = check.moment("observed_at", required=False) if "observed_at" in body else None
    tlp = check.choice("tlp", Tlp, required=False) if standalone else None
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
    return ReportDraft(text or "", place["lat"], place["lon"], observed, tlp)


@routes.get("/api/v1/alerts/{id}/reports")
@allow(SIGNED_IN)
async def report_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        alert = await visible_alert(session, principal, request.match_info["id"])
        return web.json_response(await reports.on_alert(session, principal, alert))


@routes.get("/api/v1/reports")
@allow(SIGNED_IN)
async def report_index(request: web.Request) -> web.Response:
    """Reports across alerts, newest first (`?status=new&limit=100`)."""
    check = Checker(dict(request.query))
    check.only({"status", "limit"})
    status = check.choice("status", ReportStatus, required=False)
    limit = _limit(check)
    check.done()
    async with request.app[SESSIONS]() as session:
        return web.json_response(await reports.listing(session, principal_of(request), status,
                                                       limit))


def _limit(check: Checker) -> int:
    raw = check.body.get("limit")
    if raw is None:
        return DEFAULT_PAGE
    if not isinstance(raw, str) or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        check.fail("limit", f"must be a whole number from 1 to {MAX_PAGE}")
        return DEFAULT_PAGE
    return int(raw)


@routes.patch("/api/v1/reports/{id}")
@allow(roles(Role.PUBLISHER, Role.APPROVER, Role.ADMIN))  # police only: see hub.reports
async def report_review(request: web.Request) -> web.Response:
    check = Checker(await read_json(request))
    check.only({"status"})
    status = check.choice("status", ReportStatus)
    check.done()
    assert status is not None
    async with request.app[SESSIONS]() as session:
        report, files = await reports.review(session, principal_of(request),
                                             request.match_info["id"], status,
                                             request.app[CLOCK]())
    return web.json_response(report_json(report, files, full=True))


@routes.post("/api/v1/reports/{id}/forward")
@allow(roles(Role.PUBLISHER))
async def report_forward(request: web.Request) -> web.Response:
    check = Checker(await read_json(request))
    check.only({"organisation_ids"})
    wanted = check.body.get("organisation_ids")
    if not isinstance(wanted, list) or not wanted or len(wanted) > MAX_FORWARD or not all(
            isinstance(org, str) and 0 < len(org) <= MAX_ID for org in wanted):
        check.fail("organisation_ids", f"must be a list of 1 to {MAX_FORWARD} organisation ids")
    check.done()
    assert isinstance(wanted, list)
    async with request.app[SESSIONS]() as session:
        report, files = await reports.forward(session, principal_of(request),
                                              request.match_info["id"], wanted,
                                              request.app[SETTINGS].data_dir,
                                              request.app[CLOCK]())
    return web.json_response(report_json(report, files, full=True))


@routes.get("/api/v1/reports/{id}/file")
@allow(SIGNED_IN)
async def report_file(request: web.Request) -> web.StreamResponse:
    """The report's first file (the one file a report used to carry)."""
    return await _file(request, None)


@routes.get("/api/v1/reports/{id}/files/{file}")
@allow(SIGNED_IN)
async def report_file_show(request: web.Request) -> web.StreamResponse:
    return await _file(request, request.match_info["file"])


async def _file(request: web.Request, file_id: str | None) -> web.StreamResponse:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        report, _, full = await readable(session, principal, request.match_info["id"])
        files = (await reports.files_of(session, [report.id]))[report.id]
    file = next((f for f in files if file_id in (None, f.id)), None)
    if file is None:
        raise ApiError(404, "not_found", "this report has no such file")
    # Police and the reporting organisation get the original; everyone else the copy with
    # the location metadata blanked.
    path = stored_path(request.app[SETTINGS].data_dir, file, public=not full)
    return _file_response(path, MediaKind(file.kind))


def _file_response(path: Path, kind: MediaKind) -> web.FileResponse:
    return web.FileResponse(path, headers={
        "Content-Type": MIME_TYPES[kind],
        "Content-Disposition": f'attachment; filename="{path.name.replace(".public", "")}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@routes.get("/api/v1/alerts/{id}/attachments/{n}")
@allow(SIGNED_IN)
async def alert_attachment(request: web.Request) -> web.StreamResponse:
    """A report file an update carries, as the alert's audience sees it (location blanked)."""
    async with request.app[SESSIONS]() as session:
        alert = await visible_alert(session, principal_of(request), request.match_info["id"])
        raw = request.match_info["n"]
        attached = alert.attachments or []
        if not raw.isdigit() or int(raw) >= len(attached):
            raise ApiError(404, "not_found", "this alert has no such attachment")
        file = await session.get(ReportFile, attached[int(raw)]["file_id"])
    assert file is not None
    path = stored_path(request.app[SETTINGS].data_dir, file, public=True)
    return _file_response(path, MediaKind(file.kind))


@routes.post("/api/v1/reports/{id}/share")
@allow(roles(Role.PUBLISHER))
async def report_share(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        report, files = await reports.share(session, principal, request.match_info["id"],
                                            request.app[SETTINGS].data_dir,
                                            request.app[CLOCK]())
    return web.json_response(report_json(report, files, full=True))
