"""Browser sessions: encrypted cookies naming a server-side session row, with timeouts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from cryptography.fernet import InvalidToken
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.keys import fernet
from hub.models import UserSession
from hub.revocations import revoked
from partners.models import User

# Touching last_seen on every request would make every page view a database write.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class CookiePolicy:
    """How session cookies are named and flagged, from whether the hub is served over HTTPS.

    Over HTTPS the cookies carry the `__Host-` prefix, which browsers accept only with
    Secure, Path=/ and no Domain: no subdomain or plain-HTTP page can plant or read them.
    Plain HTTP (a laptop demo) cannot use the prefix, so the name is unprefixed there.
    """

    secret_key: str
    secure: bool
    idle: timedelta
    absolute: timedelta

    @property
    def session_cookie(self) -> str:
        return "__Host-vigil_session" if self.secure else "vigil_session"

    @property
    def csrf_cookie(self) -> str:
        return "__Host-vigil_csrf" if self.secure else "vigil_csrf"

    def set(self, response: web.StreamResponse, name: str, value: str,
            max_age: int | None = None) -> None:
        response.set_cookie(name, value, path="/", secure=self.secure, httponly=True,
                            samesite="Lax", max_age=max_age)

    def seal(self, raw_id: str) -> str:
        return fernet(self.secret_key, "session-cookie").encrypt(raw_id.encode()).decode()

    def unseal(self, cookie: str) -> str | None:
        try:
            ttl = int(self.absolute.total_seconds())
            return fernet(self.secret_key, "session-cookie").decrypt(cookie.encode(),
                                                                     ttl=ttl).decode()
        except (InvalidToken, ValueError):
            return None

    def csrf_token(self, csrf_cookie: str, session_cookie: str | None) -> str:
        """The form token for this browser: a MAC over its CSRF cookie and its session, so a
        token stolen from before a login does not work after it (signed double submit)."""
        message = f"{csrf_cookie}|{session_cookie or ''}".encode()
        key = hashlib.sha256(f"vigil:csrf:{self.secret_key}".encode()).digest()
        return hmac.new(key, message, hashlib.sha256).hexdigest()


def row_id(raw_id: str) -> str:
    # Only a hash is stored, so a read of the table cannot be replayed as cookies.
    return hashlib.sha256(raw_id.encode()).hexdigest()


async def start(session: AsyncSession, user: User, now: datetime, address: str,
                mfa_passed: bool) -> tuple[UserSession, str]:
    """A new session with a new id (never a reused one: no fixation); returns the raw id."""
    raw_id = secrets.token_urlsafe(32)
    row = UserSession(id=row_id(raw_id), user_id=user.id, mfa_passed=mfa_passed,
                      created_at=now, last_seen_at=now, address=address[:64])
    session.add(row)
    return row, raw_id


@dataclass(frozen=True)
class Resumed:
    row: UserSession
    user: User


async def resume(session: AsyncSession, policy: CookiePolicy, cookie: str,
                 now: datetime) -> Resumed | None:
    """The live session this cookie names, or None if it ended, timed out or its user left."""
    raw_id = policy.unseal(cookie)
    if raw_id is None:
        return None
    row = await session.get(UserSession, row_id(raw_id))
    if row is None or row.ended_at is not None:
        return None
    user = await session.get(User, row.user_id)
    why = _expired(row, user, policy, now)
    if why is not None:
        await end(session, row, now, why)
        await session.commit()
        return None
    assert user is not None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        await session.commit()
    return Resumed(row, user)


def _expired(row: UserSession, user: User | None, policy: CookiePolicy,
             now: datetime) -> str | None:
    if user is None or user.disabled_at is not None:
        return "disabled"
    if now - row.last_seen_at > policy.idle:
        return "idle"
    if now - row.created_at > policy.absolute:
        return "absolute"
    return None


async def end(session: AsyncSession, row: UserSession, now: datetime, why: str) -> None:
    row.ended_at, row.ended_why = now, why
    session.add(row)
    await revoked(session)


async def end_all(session: AsyncSession, user_id: str, now: datetime, why: str) -> int:
    """End every live session of a user (the caller commits); returns how many."""
    result = await session.exec(
        update(UserSession)
        .where(col(UserSession.user_id) == user_id, col(UserSession.ended_at).is_(None))
        .values(ended_at=now, ended_why=why))
    await revoked(session)
    return int(result.rowcount or 0)
