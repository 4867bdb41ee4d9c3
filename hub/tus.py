"""Resumable uploads for tips (tus 1.0: core and creation): the bytes are streamed to disk as
they come, kept when a connection drops, and hashed as they arrive; a finished upload waits
for the tip that names it.

The offset is the size of the upload's file on disk, so whatever was written before a
connection dropped is where the upload resumes. A SHA-256 per upload is carried on from one
PATCH to the next in this process; a process that did not see the earlier bytes (a restart,
another web process) hashes the file so far once, then carries on."""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.db import Sessions
from hub.http import ApiError
from hub.media import SNIFF_BYTES, MediaKind, sniff
from hub.models import TipUpload
from hub.multipart import unsupported
from hub.storage import private_folder
from partners.validation import LINE_BREAKS, NOT_IN_XML, InvalidInput

VERSION = "1.0.0"
EXTENSIONS = "creation"
OCTETS = "application/offset+octet-stream"
CHUNK = 256 * 1024
MAX_NAME = 200
SECRET_BYTES = 32  # 256 bits: the upload's URL is its only authority
MAX_RUNNING = 10_000  # running hashes a process keeps (about 200 bytes each)


def upload_key(secret: str) -> str:
    """The row id of the upload whose URL holds `secret`: the database never holds a
    working upload URL."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def uploads_dir(data_dir: Path) -> Path:
    return private_folder(data_dir, "tips", "uploads")


def part_path(data_dir: Path, upload: TipUpload) -> Path:
    return uploads_dir(data_dir) / f"{upload.id}.part"


def offset_of(data_dir: Path, upload: TipUpload) -> int:
    path = part_path(data_dir, upload)
    return path.stat().st_size if path.exists() else 0


def precondition_failed() -> ApiError:
    return ApiError(412, "tus_version", f"send Tus-Resumable: {VERSION}, the tus version "
                    "this hub speaks", {"Tus-Resumable": f"must be {VERSION}"})


def check_version(request: web.Request) -> None:
    if request.headers.get("Tus-Resumable") != VERSION:
        raise precondition_failed()


def too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"an upload may be at most {limit} bytes",
                    {"Upload-Length": f"must be at most {limit} bytes"})


def whole_number(request: web.Request, header: str) -> int:
    """A header holding a non-negative whole number of bytes, or a 422 naming it."""
    raw = request.headers.get(header)
    if raw is None:
        raise InvalidInput({header: "is required"})
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise InvalidInput({header: "must be a whole number of bytes"})
    return int(raw)


# Upload-Metadata (tus 1.0): comma-separated `key base64-value` pairs, the value optional.
_BASE64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
_PAIR = rf"[!#-+\--~]+(?: {_BASE64})?"
METADATA = re.compile(rf"{_PAIR}(?: *, *{_PAIR})*")


def file_name(metadata: str | None) -> str:
    """The `filename` of an Upload-Metadata header, if any: a name to show police, its
    controls and line breaks made spaces (it never names a stored file)."""
    if metadata is None:
        return ""
    if not METADATA.fullmatch(metadata.strip()):
        raise InvalidInput({"Upload-Metadata": "must be `key base64` pairs, comma-separated"})
    for pair in metadata.split(","):
        key, _, value = pair.strip().partition(" ")
        if key == "filename":
            name = base64.b64decode(value).decode("utf-8", errors="replace")
            return " ".join(NOT_IN_XML.sub(" ", LINE_BREAKS.sub(" ", name)).split())[:MAX_NAME]
    return ""


async def create(session: AsyncSession, length: int, name: str, data_dir: Path,
                 now: datetime) -> tuple[str, TipUpload]:
    """A new, empty upload of `length` bytes; returns its secret (for its URL) and row."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    upload = TipUpload(id=upload_key(secret), length=length, name=name, created_at=now)
    part_path(data_dir, upload).touch(mode=0o600)
    session.add(upload)
    await session.commit()
    return secret, upload


@dataclass
class Hashes:
    """The running SHA-256 of each upload this process is taking in, with the offset it has
    reached (so a stale one is never used)."""

    running: dict[str, tuple[int, Any]] = field(default_factory=dict)

    async def at(self, key: str, path: Path, offset: int) -> Any:
        """The hash of the upload's first `offset` bytes, ready to take the next ones."""
        known = self.running.pop(key, None)
        if known is not None and known[0] == offset:
            return known[1]
        return await asyncio.to_thread(_hash_file, path, offset)

    def keep(self, key: str, offset: int, digest: Any) -> None:
        self.running[key] = (offset, digest)
        while len(self.running) > MAX_RUNNING:  # abandoned uploads: hashed again if resumed
            self.running.pop(next(iter(self.running)))

    def forget(self, key: str) -> None:
        self.running.pop(key, None)


def _hash_file(path: Path, size: int) -> Any:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while size > 0 and (chunk := source.read(min(CHUNK, size))):
            digest.update(chunk)
            size -= len(chunk)
    return digest


@dataclass(frozen=True)
class Appended:
    offset: int
    complete: bool


async def append(request: web.Request, sessions: Sessions, hashes: Hashes, data_dir: Path,
                 upload: TipUpload, offset: int, now: datetime) -> Appended:
    """Take a PATCH's body at `offset` (which must be where the upload stands): write each
    piece as it comes, so what arrives before a dropped connection is kept."""
    path = part_path(data_dir, upload)
    with path.open("ab") as out:
        try:  # another PATCH of this upload, in any process of this host, is still writing
            fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ApiError(409, "conflict", "this upload is taking another PATCH; ask where "
                           "it stands (HEAD) and resume from there",
                           {"Upload-Offset": "another PATCH is in progress"}) from None
        size = os.fstat(out.fileno()).st_size
        if offset != size:
            raise ApiError(409, "conflict", f"the upload stands at {size} bytes, not {offset}",
                           {"Upload-Offset": f"must be {size}"})
        if request.content_length is not None and size + request.content_length > upload.length:
            raise ApiError(413, "too_large", f"the upload is {upload.length} bytes long; this "
                           f"body would take it to {size + request.content_length}",
                           {"Upload-Length": f"must not be passed ({upload.length})"})
        digest = await hashes.at(upload.id, path, size)
        size = await _receive(request, out, digest, hashes, upload, size)
    return await _settle(sessions, data_dir, upload, size, digest, hashes, now)


async def _receive(request: web.Request, out: Any, digest: Any, hashes: Hashes,
                   upload: TipUpload, size: int) -> int:
    start, before = size, digest.copy()
    kept = False
    try:
        while chunk := await request.content.read(CHUNK):
            if size + len(chunk) > upload.length:
                out.truncate(start)  # nothing of an over-long PATCH is kept
                hashes.keep(upload.id, start, before)
                kept = True
                raise ApiError(413, "too_large", f"the upload is {upload.length} bytes long",
                               {"Upload-Length": f"must not be passed ({upload.length})"})
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    except (ConnectionError, HttpProcessingError):
        # The connection dropped, or the body ended short of its length: what arrived is
        # kept, and the client resumes from there (HEAD tells it where).
        pass
    finally:
        out.flush()
        if not kept:
            on_disk = os.fstat(out.fileno()).st_size
            if on_disk == size:
                hashes.keep(upload.id, size, digest)
            else:  # a write failed part way: the next PATCH hashes the file again
                hashes.forget(upload.id)
    return size


async def _settle(sessions: Sessions, data_dir: Path, upload: TipUpload, size: int,
                  digest: Any, hashes: Hashes, now: datetime) -> Appended:
    """Type the upload once its first bytes are in (refusing it whole if it is no photo or
    video) and finish it once every byte is."""
    path = part_path(data_dir, upload)
    kind = upload.kind
    if kind is None and (size >= SNIFF_BYTES or size == upload.length):
        with path.open("rb") as head:
            kind = sniff(head.read(SNIFF_BYTES))
        if kind is None:
            await discard(sessions, data_dir, upload, hashes)
            raise unsupported("file")
    complete = size == upload.length
    if kind != upload.kind or complete:
        async with sessions() as session:
            row = await session.get(TipUpload, upload.id)
            if row is None:  # taken by a tip meanwhile, or discarded
                raise ApiError(404, "not_found", "no such upload")
            row.kind = MediaKind(kind) if kind else None
            if complete and row.sha256 is None:
                row.sha256, row.completed_at = digest.hexdigest(), now
                hashes.forget(upload.id)
            session.add(row)
            await session.commit()
    return Appended(size, complete)


async def discard(sessions: Sessions, data_dir: Path, upload: TipUpload,
                  hashes: Hashes) -> None:
    hashes.forget(upload.id)
    async with sessions() as session:
        row = await session.get(TipUpload, upload.id)
        if row is not None:
            await session.delete(row)
            await session.commit()
    part_path(data_dir, upload).unlink(missing_ok=True)
