"""Field reports: from partners, on an alert or on none, with any number of photos and videos
kept outside the web root; reviewed by police, shared or forwarded without their sender or
the files' location metadata."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.access import Principal
from hub.errors import Forbidden, NotFound
from hub.media import EXTENSIONS, MediaKind, Upload, strip_location
from hub.models import Alert, AlertStatus, Delivery, Report, ReportFile, ReportForward, ReportStatus
from hub.storage import private_folder
from hub.tlp import Tlp
from hub.visibility import visible_alert
from partners.models import Organisation, OrgKind, Role, new_id
from partners.validation import Conflicting, InvalidInput, NotKnown

MAX_TEXT = 10_000  # a report's text, in characters
MAX_FILES = 20  # photos and videos one report may carry
MAX_FORWARD = 50  # organisations one forward names
MAX_PAGE, DEFAULT_PAGE = 500, 100  # reports in one answer of `GET /api/v1/reports`
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of the hub a phone's clock may be
# Forwarding passes a report on to more partners; these labels keep it where it is.
UNFORWARDABLE = {Tlp.RED: "TLP:RED is for named people only",
                 Tlp.AMBER_STRICT: "TLP:AMBER+STRICT stays within the police service it "
                                   "was sent to"}



@dataclass(frozen=True)
class ReportDraft:
    text: str
    lat: float
    lon: float
    observed_at: datetime | None = None  # when it was seen; None: when it is sent
    tlp: Tlp | None = None  # only for a report on no alert


def uploads_dir(data_dir: Path) -> Path:
    """Where files live: under the data dir, which nothing serves directly."""
    return private_folder(data_dir, "uploads")


def stored_path(data_dir: Path, file: ReportFile, *, public: bool) -> Path:
    # Names are made here, from the file's id; nothing of the sender's file name survives.
    suffix = ".public" if public else ""
    return uploads_dir(data_dir) / f"{file.id}{suffix}{EXTENSIONS[MediaKind(file.kind)]}"


def is_police(principal: Principal) -> bool:
    """Hub admins, and the publishers and approvers every police service has (only police
    organisations hold those roles)."""
    return principal.hub_admin or principal.role in (Role.PUBLISHER, Role.APPROVER)


async def create(session: AsyncSession, principal: Principal, alert_id: str | None,
                 draft: ReportDraft, uploads: Sequence[Upload], data_dir: Path,
                 now: datetime) -> tuple[Report, list[ReportFile]]:
    """Store a partner's report, on an alert it received or on none (the files are moved
    into place)."""
    assert principal.organisation_id is not None
    if draft.observed_at is not None and draft.observed_at > now + CLOCK_SKEW:
        raise InvalidInput({"observed_at": "is in the future"})
    tlp = draft.tlp or Tlp.AMBER
    if alert_id is not None:
        if draft.tlp is not None:
            raise InvalidInput({"tlp": "a report on an alert carries the alert's label"})
        alert = await visible_alert(session, principal, alert_id)
        if alert.status != AlertStatus.PUBLISHED:
            raise NotFound("no such alert")
        tlp = alert.tlp
    report = Report(id=new_id(), alert_id=alert_id, organisation_id=principal.organisation_id,
                    reporter=principal.responder, text=draft.text, lat=draft.lat,
                    lon=draft.lon, observed_at=(draft.observed_at or now).astimezone(UTC), tlp=tlp,
                    created_at=now)
    session.add(report)
    await session.flush()
    files = [ReportFile(report_id=report.id, position=n, kind=upload.kind, size=upload.size,
                        sha256=upload.sha256)
             for n, upload in enumerate(uploads)]
    session.add_all(files)
    for file, upload in zip(files, uploads, strict=True):
        os.replace(upload.path, stored_path(data_dir, file, public=False))
    await audit.record(session, principal.actor, "report.create", report.id,
                       {"alert_id": alert_id, "tlp": tlp,
                        "files": [{"kind": f.kind, "sha256": f.sha256} for f in files]})
    await session.commit()
    return report, files


async def files_of(session: AsyncSession,
                   report_ids: Sequence[str]) -> dict[str, list[ReportFile]]:
    """The files of these reports, in the order they were sent."""
    found: dict[str, list[ReportFile]] = {report_id: [] for report_id in report_ids}
    if report_ids:
        rows = await session.exec(select(ReportFile).where(
            col(ReportFile.report_id).in_(report_ids)).order_by(col(ReportFile.position)))
        for file in rows.all():
            found[file.report_id].append(file)
    return found


async def _alert_of(session: AsyncSession, report: Report) -> Alert | None:
    return await session.get(Alert, report.alert_id) if report.alert_id else None


def police_see(principal: Principal, report: Report, alert: Alert | None) -> bool:
    """The police who run an alert see its reports whole; every police service sees the
    reports sent on no alert."""
    if alert is not None:
        return principal.sees_everything_of(alert)
    return is_police(principal)


def sees_reporter(principal: Principal, alert: Alert | None, report: Report) -> bool:
    """Police and the reporting organisation see who sent a report and its original files."""
    return principal.organisation_id == report.organisation_id or \
        police_see(principal, report, alert)


async def readable(session: AsyncSession, principal: Principal,
                   report_id: str) -> tuple[Report, Alert | None, bool]:
    """The report, its alert, and whether this principal sees it whole; NotFound otherwise
    (a forwarded or shared report is seen without its sender)."""
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound("no such report")
    alert = await _alert_of(session, report)
    if sees_reporter(principal, alert, report):
        return report, alert, True
    if principal.organisation_id is not None and await _forwarded_to(
            session, report.id, principal.organisation_id):
        return report, alert, False
    if alert is not None and report.shared_at is not None:
        await visible_alert(session, principal, alert.id)  # TLP and targeting
        return report, alert, False
    raise NotFound("no such report")


async def _forwarded_to(session: AsyncSession, report_id: str, organisation_id: str) -> bool:
    found = await session.exec(select(ReportForward.id).where(
        ReportForward.report_id == report_id, ReportForward.organisation_id == organisation_id))
    return found.first() is not None


def report_json(report: Report, files: Sequence[ReportFile], *, full: bool) -> dict[str, Any]:
    """A report as `full` viewers see it; others get it without who sent it."""
    shown = [{"id": f.id, "kind": f.kind, "size": f.size, "sha256": f.sha256,
              "url": f"/api/v1/reports/{report.id}/files/{f.id}"} for f in files]
    data: dict[str, Any] = {
        "id": report.id, "alert_id": report.alert_id, "text": report.text,
        "lat": report.lat, "lon": report.lon, "tlp": report.tlp,
        "observed": report.observed_at.isoformat(), "status": report.status,
        # The first file as before, for clients that know one file per report.
        "file": None if not files else {**shown[0], "url": f"/api/v1/reports/{report.id}/file"},
        "files": shown, "shared": report.shared_at is not None,
        "created": report.created_at.isoformat()}
    if full:
        data.update(organisation_id=report.organisation_id, reporter=report.reporter,
                    reviewed_by=report.reviewed_by,
                    reviewed_at=report.reviewed_at.isoformat() if report.reviewed_at else None)
    return data


async def shown(session: AsyncSession, principal: Principal,
                found: Sequence[tuple[Report, Alert | None]]) -> list[dict[str, Any]]:
    """These reports as this principal may see each of them."""
    files = await files_of(session, [report.id for report, _ in found])
    return [report_json(report, files[report.id], full=sees_reporter(principal, alert, report))
            for report, alert in found]


async def on_alert(session: AsyncSession, principal: Principal,
                   alert: Alert) -> list[dict[str, Any]]:
    """An alert's reports: all of them for its police; for a partner, its own, those
    police shared, and those forwarded to it."""
    query = select(Report).where(Report.alert_id == alert.id).order_by(col(Report.created_at))
    if not principal.sees_everything_of(alert):
        forwarded = select(ReportForward.report_id).where(
            ReportForward.organisation_id == principal.organisation_id)
        query = query.where((col(Report.organisation_id) == principal.organisation_id)
                            | col(Report.shared_at).is_not(None)
                            | col(Report.id).in_(forwarded))
    reports = (await session.exec(query)).all()
    return await shown(session, principal, [(report, alert) for report in reports])


async def listing(session: AsyncSession, principal: Principal, status: ReportStatus | None,
                  limit: int) -> list[dict[str, Any]]:
    """Reports across alerts, newest first. Police: those on their own alerts and those on
    none (a hub admin: all); a partner: its own and those forwarded to it."""
    query = select(Report, Alert).outerjoin(Alert, col(Alert.id) == col(Report.alert_id))
    if not principal.hub_admin:
        if is_police(principal):
            query = query.where(col(Report.alert_id).is_(None)
                                | (col(Alert.sender_org_id) == principal.organisation_id))
        else:
            forwarded = select(ReportForward.report_id).where(
                ReportForward.organisation_id == principal.organisation_id)
            query = query.where((col(Report.organisation_id) == principal.organisation_id)
                                | col(Report.id).in_(forwarded))
    if status is not None:
        query = query.where(Report.status == status)
    rows = (await session.exec(query.order_by(col(Report.created_at).desc(),
                                              col(Report.id)).limit(limit))).all()
    return await shown(session, principal, [(report, alert) for report, alert in rows])


async def _police_report(session: AsyncSession, principal: Principal,
                         report_id: str) -> tuple[Report, Alert | None]:
    report, alert, _ = await readable(session, principal, report_id)
    if not police_see(principal, report, alert):
        raise Forbidden("only the police who received the report may do this")
    return report, alert


async def review(session: AsyncSession, principal: Principal, report_id: str,
                 status: ReportStatus, now: datetime) -> tuple[Report, list[ReportFile]]:
    """Mark where police are with a report, and who said so when (each change is audited)."""
    report, _ = await _police_report(session, principal, report_id)
    before = report.status
    report.status, report.reviewed_by, report.reviewed_at = status, principal.actor, now
    session.add(report)
    await audit.record(session, principal.actor, "report.review", report.id,
                       {"from": before, "to": status})
    await session.commit()
    return report, (await files_of(session, [report.id]))[report.id]


def _write_public_copies(data_dir: Path, files: Sequence[ReportFile]) -> None:
    for file in files:
        public = stored_path(data_dir, file, public=True)
        if not public.exists():
            original = stored_path(data_dir, file, public=False).read_bytes()
            public.write_bytes(strip_location(MediaKind(file.kind), original))


async def share(session: AsyncSession, principal: Principal, report_id: str,
                data_dir: Path, now: datetime) -> tuple[Report, list[ReportFile]]:
    """Show a report to every organisation the alert reached, without its sender or the
    files' location metadata."""
    report, alert = await _police_report(session, principal, report_id)
    if alert is None:
        raise Conflicting({"report": "is on no alert: forward it to chosen partners instead"})
    files = (await files_of(session, [report.id]))[report.id]
    await asyncio.to_thread(_write_public_copies, data_dir, files)  # a video is read whole
    report.shared_at = report.shared_at or now
    session.add(report)
    await audit.record(session, principal.actor, "report.share", report.id,
                       {"alert_id": alert.id})
    await session.commit()
    return report, files


async def forward(session: AsyncSession, principal: Principal, report_id: str,
                  organisation_ids: Sequence[str], data_dir: Path,
                  now: datetime) -> tuple[Report, list[ReportFile]]:
    """Pass a report to more partner organisations, as shared reports are seen: without
    its sender or the files' location metadata. A report on an alert goes only to those the
    alert reached (its label decided who that was); TLP:RED and AMBER+STRICT stay put."""
    report, _ = await _police_report(session, principal, report_id)
    if report.tlp in UNFORWARDABLE:
        raise Conflicting({"organisation_ids": f"the report is {report.tlp}: "
                                               f"{UNFORWARDABLE[report.tlp]}"})
    known = dict((await session.exec(select(Organisation.id, Organisation.kind).where(
        col(Organisation.id).in_(organisation_ids)))).all())
    reached: set[str] = set(known)
    if report.alert_id is not None:
        reached = {org for org in (await session.exec(select(Delivery.organisation_id).where(
            Delivery.alert_id == report.alert_id,
            col(Delivery.organisation_id).in_(organisation_ids)).distinct())).all() if org}
    for organisation_id in organisation_ids:
        if organisation_id not in known:
            raise NotKnown({"organisation_ids": f"{organisation_id} is no organisation"})
        if known[organisation_id] == OrgKind.POLICE:
            raise Conflicting({"organisation_ids": f"{organisation_id} is a police service: "
                                                   "reports are forwarded to partners"})
        if organisation_id not in reached:
            raise Conflicting({"organisation_ids": f"{organisation_id} did not receive the "
                                                   "alert this report is on"})
    files = (await files_of(session, [report.id]))[report.id]
    await asyncio.to_thread(_write_public_copies, data_dir, files)
    already = set((await session.exec(select(ReportForward.organisation_id).where(
        ReportForward.report_id == report.id))).all())
    new = [org for org in dict.fromkeys(organisation_ids) if org not in already
           and org != report.organisation_id]
    session.add_all(ReportForward(report_id=report.id, organisation_id=org,
                                  forwarded_by=principal.actor, created_at=now) for org in new)
    await audit.record(session, principal.actor, "report.forward", report.id,
                       {"organisation_ids": new})
    await session.commit()
    return report, files


async def attachable(session: AsyncSession, principal: Principal, file_ids: Sequence[str],
                     data_dir: Path) -> list[dict[str, Any]]:
    """Report files police received, as an alert update carries them to its audience: the
    copy with location metadata blanked, its size and SHA-1 (CAP's `<digest>`)."""
    out: list[dict[str, Any]] = []
    for file_id in file_ids:
        file = await session.get(ReportFile, file_id)
        report = await session.get(Report, file.report_id) if file else None
        if file is None or report is None or not police_see(
                principal, report, await _alert_of(session, report)):
            raise InvalidInput({"attach": f"{file_id} is no file of a report you received"})
        copy = await asyncio.to_thread(_public_copy, data_dir, file)
        out.append({"report_id": report.id, "file_id": file.id, "kind": file.kind,
                    "size": len(copy), "sha1": hashlib.sha1(copy).hexdigest()})
        await audit.record(session, principal.actor, "report.attach", report.id,
                           {"file_id": file.id})
    return out


def _public_copy(data_dir: Path, file: ReportFile) -> bytes:
    _write_public_copies(data_dir, [file])
    return stored_path(data_dir, file, public=True).read_bytes()
