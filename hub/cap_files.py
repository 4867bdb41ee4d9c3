"""`vigil cap import FILE...`: import CAP files from disk as one police service would."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from sqlmodel import col, or_, select

from hub.access import Principal
from hub.bus import LocalBus
from hub.cap import MAX_DOCUMENT_BYTES, CapInvalid
from hub.cap_import import import_cap
from hub.db import Sessions
from hub.errors import Conflict, Forbidden
from hub.publishing import Publishing
from hub.settings import Settings
from partners.models import Organisation, OrgKind, Role


class CommandError(Exception):
    """The command cannot run at all (as opposed to one file being refused)."""


async def import_files(sessions: Sessions, bus: LocalBus, settings: Settings,
                       files: Sequence[Path], organisation: str | None,
                       clock: Callable[[], datetime]) -> int:
    """Import each file in its own transaction; print one line per file (and each
    violation); return 0 when every file went in, else 1."""
    sender = await _sender(sessions, organisation)
    principal = Principal(actor="cli:cap-import", role=Role.PUBLISHER,
                          organisation_id=sender.id, contact_id=None, hub_admin=False)
    publishing = Publishing.of(settings)
    failed = 0
    for path in files:
        try:
            data = _read(path)
            async with sessions() as session:
                result = await import_cap(session, principal, data, clock(), publishing)
        except CapInvalid as error:
            failed += 1
            print(f"{path}: refused, {len(error.violations)} CAP rule(s) broken")
            for violation in error.violations:
                print(f"  {violation.path}: {violation.message}")
            continue
        except (OSError, Conflict, Forbidden) as error:
            failed += 1
            print(f"{path}: refused: {error}")
            continue
        alert = result.alert
        if alert.seq is not None:
            await bus.notify(alert.seq)
        counts = result.reach.counts()
        withheld = (alert.cap or {}).get("withheld")
        print(f"{path}: alert {alert.id} ({alert.msg_type}, {alert.status}, seq {alert.seq}) "
              f"reaching {counts['organisations']} organisations, {counts['contacts']} "
              f"contacts, {counts['residents']} residents"
              + (f"; not sent because {withheld}" if withheld else ""))
        for warning in (alert.cap or {}).get("warnings", []):
            print(f"  warning: {warning['path']}: {warning['message']}")
    return 1 if failed else 0


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise OSError(f"larger than {MAX_DOCUMENT_BYTES} bytes")
    return path.read_bytes()


async def _sender(sessions: Sessions, wanted: str | None) -> Organisation:
    async with sessions() as session:
        if wanted:
            found = (await session.exec(select(Organisation).where(
                or_(col(Organisation.id) == wanted, col(Organisation.name) == wanted)))).first()
            if found is None:
                raise CommandError(f"no organisation is named {wanted!r}")
            return found
        police = (await session.exec(select(Organisation).where(
            Organisation.kind == OrgKind.POLICE).order_by(col(Organisation.name)))).all()
    if len(police) != 1:
        names = ", ".join(repr(p.name) for p in police) or "none yet"
        raise CommandError(f"say which police service sends these with --organisation "
                           f"(police services: {names})")
    return police[0]
