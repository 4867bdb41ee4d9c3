"""Signing in and out: password, second factor, enrolment, throttling, and the audit of each."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit, mfa, sessions
from hub.errors import Forbidden, Unauthenticated
from hub.sessions import Resumed
from hub.throttle import FailureRule, login_keys, succeeded, take_attempt
from partners.accounts import (
    accept,
    check_password,
    hash_password,
    needs_rehash,
    new_recovery_codes,
    open_invitation,
    use_recovery_code,
    user_by_email,
)
from partners.models import User

WRONG = "the email address or password is wrong"
# The codes the second factor takes, with room for the spaces a person may type: an
# authenticator code is 6 digits, a recovery code 20 characters.
MAX_CODE = 16
MAX_RECOVERY_CODE = 40


class Step(enum.StrEnum):
    DONE = "done"  # signed in
    CODE = "code"  # password accepted; the authenticator code is next
    ENROL = "enrol"  # password accepted; this role needs a second factor set up first


def step_of(user: User, mfa_passed: bool) -> Step:
    if mfa_passed or not mfa.mfa_required(user):
        return Step.DONE
    return Step.CODE if user.totp_enabled_at else Step.ENROL


@dataclass(frozen=True)
class SignedIn:
    user: User
    raw_id: str  # the new session's id, for the cookie
    step: Step


async def sign_in(session: AsyncSession, email: str, password: str, code: str | None,
                  address: str, now: datetime, secret_key: str) -> SignedIn:
    """Check the password (and the code, when one is given) and start a new session."""
    keys = login_keys(email, address)
    # Refused before the password is even looked at, so guessing gains nothing.
    await take_attempt(session, keys, now, "too many failed sign-ins; wait before trying again")
    user = await user_by_email(session, email)
    if not await check_password(user, password) or user is None or user.disabled_at is not None:
        await _failed(session, keys, now, email, "password")
        raise Unauthenticated(WRONG)
    passed = False
    if code and user.totp_enabled_at:
        passed = await _code_ok(session, user, code, now, secret_key)
        if not passed:
            await _failed(session, keys, now, email, "code")
            raise Unauthenticated("the authenticator code is wrong")
    if needs_rehash(user):
        user.password_hash = await hash_password(password)
    await succeeded(session, keys, now)
    return await _start(session, user, now, address, passed, "login.password")


async def second_factor(session: AsyncSession, login: Resumed, code: str | None,
                        recovery: str | None, address: str, now: datetime,
                        secret_key: str) -> SignedIn:
    """Finish signing in with an authenticator code or a recovery code."""
    user = login.user
    keys = login_keys(user.email, address)
    await take_attempt(session, keys, now, "too many wrong codes; wait before trying again")
    if not user.totp_enabled_at:
        raise Forbidden("set up an authenticator first")
    if recovery:
        ok = await use_recovery_code(session, user, recovery, now)
    else:
        ok = bool(code) and await _code_ok(session, user, code or "", now, secret_key)
    if not ok:
        await _failed(session, keys, now, user.email, "recovery code" if recovery else "code")
        raise Unauthenticated("the code is wrong")
    await succeeded(session, keys, now)
    await sessions.end(session, login.row, now, "mfa")  # a new id for the new privilege
    how = "login.recovery_code" if recovery else "login.mfa"
    return await _start(session, user, now, address, True, how)


async def enrol(session: AsyncSession, login: Resumed, secret_key: str) -> str:
    """Give the person a new authenticator seed to confirm; returns it in clear."""
    user = login.user
    if user.totp_enabled_at and not login.row.mfa_passed:
        # A password alone must never be enough to replace someone's second factor.
        raise Forbidden("sign in with your current authenticator before replacing it")
    seed = mfa.new_seed(user, secret_key)
    session.add(user)
    await session.commit()
    return seed


async def confirm(session: AsyncSession, login: Resumed, code: str, address: str,
                  now: datetime, secret_key: str) -> tuple[SignedIn, list[str]]:
    """Turn on the new authenticator once a code from it checks out; new recovery codes."""
    user = login.user
    if user.totp_enabled_at and not login.row.mfa_passed:
        raise Forbidden("sign in with your current authenticator before replacing it")
    if not await _code_ok(session, user, code, now, secret_key):
        raise Unauthenticated("the code does not match; check the authenticator's clock")
    user.totp_enabled_at = now
    codes = await new_recovery_codes(session, user)
    await audit.record(session, f"user:{user.id}", "user.mfa_enrol", user.id, {})
    await sessions.end(session, login.row, now, "mfa")
    return await _start(session, user, now, address, True, "login.mfa"), codes


async def sign_out(session: AsyncSession, login: Resumed, now: datetime) -> None:
    await sessions.end(session, login.row, now, "logout")
    await audit.record(session, f"user:{login.user.id}", "logout", login.user.id, {})
    await session.commit()


async def _code_ok(session: AsyncSession, user: User, code: str, now: datetime,
                   secret_key: str) -> bool:
    step = mfa.check_code(user, secret_key, code, now, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    session.add(user)
    return True


async def _failed(session: AsyncSession, keys: list[tuple[str, FailureRule]], now: datetime,
                  email: str, what: str) -> None:
    # The try was counted when it began (take_attempt); this records what was wrong.
    await audit.record(session, f"address:{keys[1][0].partition(':')[2]}", "login.fail",
                       email[:64], {"wrong": what})
    await session.commit()


async def _start(session: AsyncSession, user: User, now: datetime, address: str,
                 passed: bool, action: str) -> SignedIn:
    _, raw_id = await sessions.start(session, user, now, address, passed)
    user.last_login_at = now
    session.add(user)
    step = step_of(user, passed)
    await audit.record(session, f"user:{user.id}", action, user.id, {"step": step})
    await session.commit()
    return SignedIn(user, raw_id, step)


async def join(session: AsyncSession, secret: str, name: str, password: str,
               now: datetime) -> User:
    """Create the account an invitation offers, and record it."""
    invitation = await open_invitation(session, secret, now)
    user = await accept(session, invitation, name, password, now)
    await session.flush()
    await audit.record(session, f"user:{user.id}", "user.create", user.id,
                       {"invitation": invitation.id, "role": user.role,
                        "organisation_id": user.organisation_id})
    await session.commit()
    return user
