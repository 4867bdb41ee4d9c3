"""`vigil services import PATH`: read a directory of places (an HSDS datapackage, HSDS
JSON or our CSV), report every bad row, and store all of it in one transaction or none."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import col, delete, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.db import Sessions
from hub.directory import Need, ServicePlace, ServiceSchedule
from hub.hsds_read import documents, drafts
from hub.hsds_tables import is_datapackage, services_of, version_of
from hub.place_drafts import PlaceDraft, Problem, Report
from hub.services_csv import read_csv
from partners.models import Organisation, new_id

ACTOR = "cli:services-import"
MAX_FILE_BYTES = 64 * 1024 * 1024
PLACE_FIELDS = ("name", "need", "description", "provider", "address", "address_1", "city",
                "state_province", "postal_code", "country", "lat", "lon", "phone",
                "time_zone", "hours")


@dataclass(frozen=True)
class Read:
    kind: str  # what the path held, in words
    places: list[PlaceDraft]
    report: Report


@dataclass(frozen=True)
class Stored:
    added: int
    updated: int


def read_path(path: Path, need: Need | None) -> Read:
    """Every place the path describes, and every problem with it."""
    report = Report()
    if path.is_dir():
        kind, places = _datapackage(path, report, need)
    elif path.suffix.lower() == ".json":
        kind, places = "HSDS JSON", _hsds_json(path, report, need)
    elif path.suffix.lower() == ".csv":
        kind, places = "CSV", _csv(path, report, need)
    else:
        kind, places = "?", []
        report.problems.append(Problem(str(path), "path", "must be a folder (an HSDS "
                                       "datapackage), a .json file (HSDS) or a .csv file"))
    _no_twins(places, report)
    return Read(kind, places, report)


def _datapackage(path: Path, report: Report, need: Need | None) -> tuple[str, list[PlaceDraft]]:
    if not is_datapackage(path):
        report.problems.append(Problem(str(path), "services.csv", "is missing: the folder is "
                                       "not an HSDS datapackage"))
        return "?", []
    version = version_of(path)
    kind = f"HSDS {'3.0' if version == 3 else '1.x'} datapackage"
    return kind, drafts(services_of(path, report), report, need)


def _hsds_json(path: Path, report: Report, need: Need | None) -> list[PlaceDraft]:
    try:
        return drafts(documents(_json(path, report), path.name, report), report, need)
    except RecursionError:
        report.problems.append(Problem(path.name, "document", "is nested too deeply"))
        return []


def _text(path: Path, report: Report) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            report.problems.append(Problem(path.name, "file",
                                           f"larger than {MAX_FILE_BYTES} bytes"))
            return None
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        report.problems.append(Problem(path.name, "file", f"cannot be read: {error}"))
        return None


def _json(path: Path, report: Report) -> object:
    text = _text(path, report)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        report.problems.append(Problem(path.name, "document", f"is not JSON: {error}"))
        return None


def _csv(path: Path, report: Report, need: Need | None) -> list[PlaceDraft]:
    if need is not None:
        report.problems.append(Problem(path.name, "--need", "our CSV names each row's need "
                                       "in its need column; --need is for HSDS"))
    text = _text(path, report)
    return [] if text is None else read_csv(text, report)


def _no_twins(places: list[PlaceDraft], report: Report) -> None:
    seen: dict[str, str] = {}
    for place in places:
        if place.external_id in seen:
            report.problems.append(Problem(place.where, "id", f"the same place as "
                                           f"{seen[place.external_id]}"))
        seen.setdefault(place.external_id, place.where)


async def organisation_named(session: AsyncSession, wanted: str) -> Organisation | None:
    return (await session.exec(select(Organisation).where(
        or_(col(Organisation.id) == wanted, col(Organisation.name) == wanted)))).first()


async def store(session: AsyncSession, places: Sequence[PlaceDraft],
                organisation_id: str | None, now: datetime, source: str) -> Stored:
    """Add new places and update those an earlier import made (same source id), with their
    schedules, in the session's transaction; commits."""
    keys = [place.external_id for place in places]
    existing: dict[str | None, ServicePlace] = {}
    for start in range(0, len(keys), 500):
        rows = (await session.exec(select(ServicePlace).where(
            col(ServicePlace.external_id).in_(keys[start:start + 500])))).all()
        existing.update({row.external_id: row for row in rows})
    if existing:
        await session.exec(delete(ServiceSchedule).where(
            col(ServiceSchedule.place_id).in_([row.id for row in existing.values()])))
    for draft in places:
        row = existing.get(draft.external_id) or ServicePlace(
            id=new_id(), external_id=draft.external_id, name=draft.name, need=draft.need,
            created_at=now)
        _fill(row, draft, organisation_id, now)
        session.add(row)
        session.add_all(ServiceSchedule(place_id=row.id, **vars(schedule))
                        for schedule in draft.schedules)
    added = len(places) - len(existing)
    await audit.record(session, ACTOR, "services.import", source[-64:],
                       {"added": added, "updated": len(existing)})
    await session.commit()
    return Stored(added, len(existing))


def _fill(row: ServicePlace, draft: PlaceDraft, organisation_id: str | None,
          now: datetime) -> None:
    for name in PLACE_FIELDS:
        setattr(row, name, getattr(draft, name))
    row.serves = list(draft.serves)
    row.updated_at = now
    if organisation_id is not None:
        row.organisation_id = organisation_id
    if draft.capacity is not None:  # otherwise the agency's own last update stands
        row.capacity, row.available = draft.capacity, draft.available
        row.capacity_updated_at = now if draft.available is not None else None
        row.capacity_updated_by = ACTOR


class CommandError(Exception):
    """The command cannot run at all (no such organisation)."""


async def import_path(sessions: Sessions, path: Path, need: Need | None,
                      organisation: str | None, now: datetime) -> int:
    """Read, report and store; print what happened. 0 when the places went in, 1 when
    the file was refused (and nothing stored)."""
    read = read_path(path, need)
    for warning in read.report.warnings:
        print(f"  warning: {warning}")
    if read.report.problems:
        count = len(read.report.problems)
        print(f"{path}: refused, {count} problem{'s' if count != 1 else ''}; nothing was "
              "imported")
        for problem in read.report.problems:
            print(f"  {problem}")
        return 1
    async with sessions() as session:
        owner = None
        if organisation:
            found = await organisation_named(session, organisation)
            if found is None:
                raise CommandError(f"no organisation is named {organisation!r}")
            owner = found.id
        stored = await store(session, read.places, owner, now, str(path))
    count = len(read.places)
    print(f"{path}: {count} place{'s' if count != 1 else ''} from {read.kind}: "
          f"{stored.added} new, {stored.updated} updated")
    return 0
