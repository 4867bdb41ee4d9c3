"""Field reports: stored with their photo or video outside the web root, shown by who asks."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.access import Principal
from hub.errors import Forbidden, NotFound
from hub.media import EXTENSIONS, MediaKind, Upload, strip_location
from hub.models import Alert, AlertStatus, Report
from hub.visibility import visible_alert
from partners.models import new_id

MAX_TEXT = 10_000  # a report's text, in characters


def uploads_dir(data_dir: Path) -> Path:
    """Where files live: under the data dir, which nothing serves directly."""
    folder = data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def stored_path(data_dir: Path, report: Report, *, public: bool) -> Path:
    # Names are made here, from the report id; nothing of the sender's file name survives.
    assert report.file_kind is not None
    suffix = ".public" if public else ""
    return uploads_dir(data_dir) / f"{report.id}{suffix}{EXTENSIONS[MediaKind(report.file_kind)]}"


async def create(session: AsyncSession, principal: Principal, alert_id: str, text: str,
                 lat: float, lon: float, upload: Upload | None, data_dir: Path,
                 now: datetime) -> Report:
    """Store a partner's report on an alert it received (the file is moved into place)."""
    alert = await visible_alert(session, principal, alert_id)
    if alert.status != AlertStatus.PUBLISHED:
        raise NotFound("no such alert")
    assert principal.organisation_id is not None
    report = Report(id=new_id(), alert_id=alert.id, organisation_id=principal.organisation_id,
                    reporter=principal.responder, text=text, lat=lat, lon=lon, created_at=now)
    if upload is not None:
        report.file_kind, report.file_size = upload.kind, upload.size
        report.file_sha256 = upload.sha256
        os.replace(upload.path, stored_path(data_dir, report, public=False))
    session.add(report)
    await audit.record(session, principal.actor, "report.create", report.id,
                       {"alert_id": alert.id, "file": report.file_kind,
                        "sha256": report.file_sha256})
    await session.commit()
    return report


def _write_public_copy(data_dir: Path, report: Report) -> None:
    assert report.file_kind is not None
    original = stored_path(data_dir, report, public=False).read_bytes()
    copy = strip_location(MediaKind(report.file_kind), original)
    stored_path(data_dir, report, public=True).write_bytes(copy)


def sees_reporter(principal: Principal, alert: Alert, report: Report) -> bool:
    """The sending police service and the reporting organisation see who sent a report."""
    own = principal.organisation_id == report.organisation_id
    return own or principal.sees_everything_of(alert)


async def reports_of(session: AsyncSession, principal: Principal,
                     alert: Alert) -> list[Report]:
    """Every report for the sender; a partner's own, and those police shared, for a partner."""
    query = select(Report).where(Report.alert_id == alert.id).order_by(col(Report.created_at))
    if not principal.sees_everything_of(alert):
        query = query.where((col(Report.organisation_id) == principal.organisation_id)
                            | col(Report.shared_at).is_not(None))
    return list((await session.exec(query)).all())


def report_json(report: Report, *, full: bool) -> dict[str, Any]:
    """A report as `full` viewers see it; others get it without who sent it."""
    data: dict[str, Any] = {
        "id": report.id, "alert_id": report.alert_id, "text": report.text,
        "lat": report.lat, "lon": report.lon,
        "file": None if report.file_kind is None else {
            "kind": report.file_kind, "size": report.file_size,
            "url": f"/api/v1/reports/{report.id}/file"},
        "shared": report.shared_at is not None, "created": report.created_at.isoformat()}
    if full:
        data.update(organisation_id=report.organisation_id, reporter=report.reporter)
    return data


async def readable(session: AsyncSession, principal: Principal,
                   report_id: str) -> tuple[Report, Alert, bool]:
    """The report, its alert, and whether this principal sees it whole; NotFound otherwise."""
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound("no such report")
    alert = await visible_alert(session, principal, report.alert_id)  # TLP and targeting
    full = sees_reporter(principal, alert, report)
    if not full and report.shared_at is None:
        raise NotFound("no such report")
    return report, alert, full


async def share(session: AsyncSession, principal: Principal, report_id: str,
                data_dir: Path, now: datetime) -> Report:
    """Show a report to every organisation the alert reached, without its sender or the
    file's location metadata."""
    report, alert, _ = await readable(session, principal, report_id)
    if not principal.sees_everything_of(alert):
        raise Forbidden("only the sending police service may share a report")
    if report.file_kind is not None and report.shared_at is None:
        # Off the event loop: a video is scanned whole.
        await asyncio.to_thread(_write_public_copy, data_dir, report)
    report.shared_at = report.shared_at or now
    session.add(report)
    await audit.record(session, principal.actor, "report.share", report.id,
                       {"alert_id": alert.id})
    await session.commit()
    return report

