"""Case bundles: a zip of an evidence request's files as received, with a manifest of their
names, sizes, hashes and receive times and the custody log of every event about them; and
the check of a bundle (`vigil tips verify`), which needs nothing but the zip."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.audit import event_hash
from hub.evidence import request_json
from hub.media import EXTENSIONS
from hub.models import AuditEvent, EvidenceRequest, Tip, TipFile

FORMAT = "vigil-evidence-bundle/1"
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


def member_name(tip_file: TipFile) -> str:
    return f"files/{tip_file.tip_id}/{tip_file.id}{EXTENSIONS[tip_file.kind]}"


async def custody(session: AsyncSession, subjects: Iterable[str]) -> list[AuditEvent]:
    """Every audit event about the request, its tips and their files, oldest first."""
    wanted = sorted(set(subjects))
    found: list[AuditEvent] = []
    for start in range(0, len(wanted), 500):  # within every database's parameter limit
        found += (await session.exec(select(AuditEvent).where(
            col(AuditEvent.subject).in_(wanted[start:start + 500])))).all()
    return sorted(found, key=lambda event: event.id or 0)


def manifest(request: EvidenceRequest, public_url: str, tips: list[Tip],
             files: dict[str, list[TipFile]], events: list[AuditEvent], actor: str,
             now: datetime) -> dict[str, Any]:
    return {
        "format": FORMAT, "generated": now.isoformat(), "generated_by": actor,
        "evidence_request": request_json(request, public_url),
        "tips": [{"id": tip.id, "text": tip.text, "contact": tip.contact,
                  "status": tip.status.value, "duplicate_of": tip.duplicate_of,
                  "moderated_by": tip.moderated_by,
                  "moderated": tip.moderated_at.isoformat() if tip.moderated_at else None,
                  "created": tip.created_at.isoformat(),
                  "files": [f.id for f in files[tip.id]]} for tip in tips],
        "files": [{"path": member_name(f), "id": f.id, "tip_id": f.tip_id, "name": f.name,
                   "kind": f.kind.value, "size": f.size, "sha256": f.sha256,
                   "received": f.received_at.isoformat()}
                  for tip in tips for f in files[tip.id]],
        "custody": [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor,
                     "action": e.action, "subject": e.subject, "detail": e.detail,
                     "prev_hash": e.prev_hash, "hash": e.hash} for e in events],
    }


def write(out: IO[bytes], document: dict[str, Any], sources: dict[str, Path]) -> None:
    """Write the zip: the manifest, then each file as stored (media is compressed already,
    so files are stored as they are, and ZIP64 takes files and bundles past 4 GiB)."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as bundle:
        bundle.writestr(MANIFEST, json.dumps(document, indent=2, ensure_ascii=False))
        for name, path in sources.items():
            bundle.write(path, name)


def verify(path: Path) -> tuple[int, list[str]]:
    """Check a bundle: every file the manifest lists is there with its size and SHA-256,
    nothing else is, each custody event still matches its own hash, and each file's hash is
    the one recorded when it was received. Returns the files checked and every problem."""
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        return 0, [f"not a readable zip file: {error}"]
    with bundle:
        try:
            document = json.loads(bundle.read(MANIFEST))
            files, events = list(document["files"]), list(document["custody"])
        except (KeyError, ValueError, TypeError) as error:
            return 0, [f"no usable {MANIFEST}: {error}"]
        problems = [problem for entry in files for problem in _check_file(bundle, entry)]
        listed = {entry.get("path") for entry in files} | {MANIFEST}
        problems += [f"unexpected: {name} is not in the manifest"
                     for name in bundle.namelist() if name not in listed]
        problems += _check_custody(events, files)
    return len(files), problems


def _check_file(bundle: zipfile.ZipFile, entry: dict[str, Any]) -> list[str]:
    name = str(entry.get("path"))
    try:
        source = bundle.open(name)
    except KeyError:
        return [f"missing: {name}"]
    digest, size = hashlib.sha256(), 0
    try:
        with source:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except zipfile.BadZipFile as error:  # the zip's own CRC no longer matches
        return [f"altered: {name} ({error})"]
    if size != entry.get("size") or digest.hexdigest() != entry.get("sha256"):
        return [f"altered: {name} (now {size} bytes, SHA-256 {digest.hexdigest()}; the "
                f"manifest says {entry.get('size')} bytes, {entry.get('sha256')})"]
    return []


def _check_custody(events: list[dict[str, Any]], files: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    received: dict[str, str] = {}
    for raw in events:
        try:
            event = AuditEvent(at=datetime.fromisoformat(raw["at"]), actor=raw["actor"],
                               action=raw["action"], subject=raw["subject"],
                               detail=raw["detail"], prev_hash=raw["prev_hash"],
                               hash=raw["hash"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"custody event {raw.get('id')!r} is not readable")
            continue
        if event_hash(event.prev_hash, event) != event.hash:
            problems.append(f"custody event {raw.get('id')} was altered: it no longer "
                            "matches its hash")
        if event.action in ("tip.receive", "tip.add"):
            for item in event.detail.get("files", []):
                received[str(item.get("id"))] = str(item.get("sha256"))
    for entry in files:
        recorded = received.get(str(entry.get("id")))
        if recorded is None:
            problems.append(f"unrecorded: {entry.get('path')} has no receipt in the custody log")
        elif recorded != entry.get("sha256"):
            problems.append(f"altered: {entry.get('path')} (the manifest's SHA-256 is not the "
                            f"one recorded on receipt, {recorded})")
    return problems
