"""Public tips: taken in from anyone with nothing kept of who sent them, each file stored
byte for byte with its SHA-256, moderated by police, and every police look on the record.

Nothing here sees the request: no address, no header. The audit trail names a tipster
only as `public:tip`."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit, tus
from hub.access import Principal
from hub.errors import Conflict, NotFound
from hub.evidence import by_slug, require_police, sees_request
from hub.media import EXTENSIONS, MediaKind, Upload
from hub.models import EvidenceRequest, EvidenceStatus, Tip, TipFile, TipStatus, TipUpload
from hub.storage import private_folder
from partners.validation import Checker, InvalidInput, NotKnown

PUBLIC_ACTOR = "public:tip"  # who a tip is from, in the audit trail: never an address
MAX_TEXT = 10_000
MAX_CONTACT = 400
MAX_FILES = 50  # files and uploads one request may bring; the receipt brings more later
MAX_LISTED = 500  # tips one list answers (and audits as viewed); the bundle holds them all
RECEIPT_PREFIX = "VT-"


def new_receipt() -> str:
    """A receipt code: 120 random bits in groups a person can read out or type."""
    letters = base64.b32encode(secrets.token_bytes(15)).decode()
    return RECEIPT_PREFIX + "-".join(letters[i:i + 4] for i in range(0, len(letters), 4))


def receipt_key(code: str) -> str:
    """What is stored of a receipt: its SHA-256, read case- and space-insensitively."""
    normal = "".join(code.split()).upper()
    return hashlib.sha256(normal.encode("utf-8", "replace")).hexdigest()


def files_dir(data_dir: Path) -> Path:
    return private_folder(data_dir, "tips", "files")


def stored_path(data_dir: Path, tip_file: TipFile) -> Path:
    # Named from the file's id: nothing of the sender's name reaches the file system.
    return files_dir(data_dir) / f"{tip_file.id}{EXTENSIONS[tip_file.kind]}"


@dataclass
class TipDraft:
    """What one request brings: the fields, files already on disk, finished uploads."""

    fields: dict[str, str]
    files: list[Upload] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)  # the secrets of finished uploads


def read_fields(fields: dict[str, str], *, adding: bool, has_files: bool) -> dict[str, str]:
    """The text, contact and evidence request of a new tip (or none, when adding files to
    one); 422 naming each bad field."""
    check = Checker(fields)
    allowed = () if adding else ("text", "contact", "evidence_request")
    for name in fields.keys() - {*allowed, "csrf_token"}:
        check.fail(name[:40], "is not a known field")
    values: dict[str, str] = {}
    if not adding:
        text = check.text("text", required=False, max_len=MAX_TEXT, default="") or ""
        if not text and not has_files:
            check.fail("text", "is required when the tip has no file")
        contact = check.text("contact", required=False, max_len=MAX_CONTACT, line=True)
        slug = check.text("evidence_request", required=False, max_len=100, line=True)
        values = {"text": text, "contact": contact or "", "evidence_request": slug or ""}
    check.done()
    return values


async def receive(session: AsyncSession, draft: TipDraft, data_dir: Path, now: datetime,
                  receipt: str | None = None) -> tuple[Tip, str, list[TipFile]]:
    """Store a new tip (or, with its receipt, more files of one) in one transaction: the
    tip, its files moved into place, the finished uploads taken in, the audit event.
    Returns the tip, its receipt code (a new one for a new tip) and the files added."""
    adding = receipt is not None
    values = read_fields(draft.fields, adding=adding,
                         has_files=bool(draft.files or draft.uploads))
    if adding:
        assert receipt is not None
        tip = await _by_receipt(session, receipt)
        if not draft.files and not draft.uploads:
            raise InvalidInput({"file": "send at least one file or upload"})
    else:
        receipt = new_receipt()
        tip = Tip(receipt_hash=receipt_key(receipt), text=values["text"],
                  contact=values["contact"] or None, created_at=now,
                  evidence_request_id=await _open_request(session,
                                                          values["evidence_request"]))
    if tip.evidence_request_id and adding:
        await _open_request(session, None, tip.evidence_request_id)
    uploads = await _finished(session, draft.uploads)
    session.add(tip)
    await session.flush()
    moves: list[tuple[Path, Path]] = []
    try:
        added = _files(session, tip, draft.files, uploads, data_dir, now, moves)
        for upload in uploads:
            await session.delete(upload)
        await audit.record(session, PUBLIC_ACTOR, "tip.add" if adding else "tip.receive",
                           tip.id, {"evidence_request": tip.evidence_request_id, "files": [
                               {"id": f.id, "size": f.size, "sha256": f.sha256}
                               for f in added]})
        await session.commit()
    except BaseException:
        for source, target in reversed(moves):  # back where they were: nothing half-written
            os.replace(target, source)
        raise
    return tip, receipt, added


async def _by_receipt(session: AsyncSession, receipt: str) -> Tip:
    tip = (await session.exec(select(Tip).where(
        Tip.receipt_hash == receipt_key(receipt)))).first()
    if tip is None:
        raise NotFound("no tip has this receipt")
    return tip


async def _open_request(session: AsyncSession, slug: str | None,
                        request_id: str | None = None) -> str | None:
    """The id of the open evidence request a tip answers (None for a general tip)."""
    if not slug and not request_id:
        return None
    request = (await session.get(EvidenceRequest, request_id) if request_id
               else await by_slug(session, slug or ""))
    if request is None:
        raise NotKnown({"evidence_request": "is not an evidence request of this hub"})
    if request.status is not EvidenceStatus.OPEN:
        raise Conflict("closed", "this evidence request is closed and takes no more tips")
    return request.id


async def _finished(session: AsyncSession, secrets_: Sequence[str]) -> list[TipUpload]:
    uploads: list[TipUpload] = []
    for secret in secrets_:
        key = tus.upload_key(secret.rstrip("/").rsplit("/", 1)[-1])
        upload = await session.get(TipUpload, key)
        if upload is None:
            raise NotKnown({"upload": "names no upload of this hub (or one already taken)"})
        if upload.sha256 is None or upload.kind is None:
            raise InvalidInput({"upload": "is not finished: send the rest of its bytes first"})
        if any(taken.id == upload.id for taken in uploads):
            raise InvalidInput({"upload": "names the same upload twice"})
        uploads.append(upload)
    return uploads


def _files(session: AsyncSession, tip: Tip, files: Sequence[Upload],
           uploads: Sequence[TipUpload], data_dir: Path, now: datetime,
           moves: list[tuple[Path, Path]]) -> list[TipFile]:
    added: list[TipFile] = []
    sources: list[tuple[Path, MediaKind | None, int, str | None, str]] = [
        (f.path, f.kind, f.size, f.sha256, f.name) for f in files]
    sources += [(tus.part_path(data_dir, u), u.kind, u.length, u.sha256, u.name)
                for u in uploads]
    for path, kind, size, sha256, name in sources:
        assert kind is not None and sha256 is not None
        tip_file = TipFile(tip_id=tip.id, name=_shown_name(name), kind=kind, size=size,
                           sha256=sha256, received_at=now)
        target = stored_path(data_dir, tip_file)
        os.replace(path, target)
        moves.append((path, target))
        session.add(tip_file)
        added.append(tip_file)
    return added


def _shown_name(name: str) -> str:
    """The sender's file name, to show police: its last part, one line, 200 characters."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    return " ".join(last.split())[:200]


def sees_tip(principal: Principal, tip: Tip, request: EvidenceRequest | None) -> bool:
    """General tips are for all police staff; a request's tips for its own service's."""
    return request is None or sees_request(principal, request)


async def readable(session: AsyncSession, principal: Principal, tip_id: str) -> Tip:
    require_police(principal)
    tip = await session.get(Tip, tip_id)
    if tip is None:
        raise NotFound("no such tip")
    request = (await session.get(EvidenceRequest, tip.evidence_request_id)
               if tip.evidence_request_id else None)
    if not sees_tip(principal, tip, request):
        raise NotFound("no such tip")
    return tip


async def tips_for(session: AsyncSession, principal: Principal, *,
                   request: EvidenceRequest | None = None, general: bool = False,
                   status: TipStatus | None = None, limit: int | None = None) -> list[Tip]:
    """The tips this police principal sees, newest first (at most `limit`): of one request,
    the general ones, or all."""
    require_police(principal)
    query = select(Tip).order_by(col(Tip.created_at).desc()).limit(limit)
    if request is not None:
        query = query.where(Tip.evidence_request_id == request.id)
    elif general:
        query = query.where(col(Tip.evidence_request_id).is_(None))
    elif not principal.hub_admin:
        own = select(EvidenceRequest.id).where(
            EvidenceRequest.organisation_id == principal.organisation_id)
        query = query.where(or_(col(Tip.evidence_request_id).is_(None),
                                col(Tip.evidence_request_id).in_(own)))
    if status is not None:
        query = query.where(Tip.status == status)
    return list((await session.exec(query)).all())


async def files_of(session: AsyncSession, tips: Sequence[Tip]) -> dict[str, list[TipFile]]:
    found: dict[str, list[TipFile]] = {tip.id: [] for tip in tips}
    if found:
        rows = await session.exec(select(TipFile).where(col(TipFile.tip_id).in_(list(found)))
                                  .order_by(col(TipFile.received_at), col(TipFile.id)))
        for row in rows:
            found[row.tip_id].append(row)
    return found


async def viewed(session: AsyncSession, principal: Principal, tips: Sequence[Tip],
                 via: str) -> None:
    """Chain of custody: each tip a police principal is shown is on the record (the caller
    commits)."""
    for tip in tips:
        await audit.record(session, principal.actor, "tip.view", tip.id, {"via": via})


async def moderate(session: AsyncSession, principal: Principal, tip_id: str, body: object,
                   now: datetime) -> Tip:
    """Set a tip's status (new, relevant, not_relevant, duplicate of another), recording
    who and when."""
    tip = await readable(session, principal, tip_id)
    check = Checker(body, nullable=("duplicate_of",))
    check.only(("status", "duplicate_of"))
    status = check.choice("status", TipStatus)
    original = check.text("duplicate_of", required=False, max_len=32, line=True)
    if original and status is not TipStatus.DUPLICATE:
        check.fail("duplicate_of", "is only for the duplicate status")
    check.done()
    assert status is not None
    if original:
        if original == tip.id:
            raise InvalidInput({"duplicate_of": "must be another tip"})
        try:
            await readable(session, principal, original)
        except NotFound:
            raise NotKnown({"duplicate_of": "is not a tip you can see"}) from None
    tip.status, tip.duplicate_of = status, original or None
    tip.moderated_by, tip.moderated_at = principal.actor, now
    session.add(tip)
    await audit.record(session, principal.actor, "tip.moderate", tip.id,
                       {"status": status.value, "duplicate_of": tip.duplicate_of})
    await session.commit()
    return tip


def file_json(tip_file: TipFile) -> dict[str, Any]:
    return {"id": tip_file.id, "name": tip_file.name, "kind": tip_file.kind,
            "size": tip_file.size, "sha256": tip_file.sha256,
            "received": tip_file.received_at.isoformat(),
            "url": f"/api/v1/tips/{tip_file.tip_id}/files/{tip_file.id}"}


def tip_json(tip: Tip, files: Sequence[TipFile]) -> dict[str, Any]:
    """A tip as police read it."""
    return {"id": tip.id, "evidence_request_id": tip.evidence_request_id, "text": tip.text,
            "contact": tip.contact, "status": tip.status, "duplicate_of": tip.duplicate_of,
            "moderated_by": tip.moderated_by,
            "moderated": tip.moderated_at.isoformat() if tip.moderated_at else None,
            "created": tip.created_at.isoformat(), "files": [file_json(f) for f in files]}


def receipt_json(receipt: str, files: Sequence[TipFile]) -> dict[str, Any]:
    """What the tipster is told: the receipt to add more with, and each file's hash."""
    return {"receipt": receipt, "files": [
        {"name": f.name, "size": f.size, "sha256": f.sha256} for f in files]}
