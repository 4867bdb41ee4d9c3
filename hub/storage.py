"""Files on disk: private folders under the data dir, and a full disk told apart from other
failures (writes answer 503 with `Retry-After` and `/healthz` says so, rather than every
publish answering 500)."""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

RETRY_AFTER_S = 60
REMEMBER_S = 60.0  # how long /healthz reports the disk full after the last failed write
_MESSAGES = ("database or disk is full", "no space left on device", "disk full")
_DISK_FULL_SQLSTATE = "53100"  # PostgreSQL's disk_full


def private_folder(data_dir: Path, *parts: str) -> Path:
    """A folder under the data dir that only the hub's user may read, made when missing;
    nothing serves it directly."""
    folder = data_dir.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def is_full(error: BaseException) -> bool:
    """Whether `error` is a write refused for want of space (SQLite, PostgreSQL, a file)."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    if isinstance(error, DBAPIError):
        cause = error.orig
        if getattr(cause, "sqlstate", None) == _DISK_FULL_SQLSTATE:
            return True
        return any(message in str(cause).lower() for message in _MESSAGES)
    return False


@dataclass
class Storage:
    """When this process last failed to write for want of space."""

    full_at: float | None = None

    def saw_full(self) -> None:
        self.full_at = time.monotonic()

    def health(self) -> dict[str, object]:
        if self.full_at is None or time.monotonic() - self.full_at > REMEMBER_S:
            return {"status": "ok"}
        return {"status": "full", "seconds_ago": round(time.monotonic() - self.full_at, 1)}
