"""People's accounts: argon2 passwords, invitations by an organisation's admin, recovery codes."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from partners.models import MAX_ID, STAFF_ROLES, Contact, Invitation, RecoveryCode, Role, User
from partners.validation import XML_CONTROLS, Checker, Conflicting, NotKnown

INVITATION_TTL = timedelta(days=7)
RECOVERY_CODES = 10
MIN_PASSWORD = 12  # ASVS 5.0 6.2.1; long passphrases are allowed, composition rules are not
MAX_PASSWORD = 128
MAX_EMAIL = 320  # RFC 5321: 64 for the local part, 255 for the domain, and the @
# A one-time secret sent back to the hub (an invitation's, a subscription link's): those it
# makes are under 50 characters; a longer one is refused before it is hashed.
MAX_SECRET = 100
_ADDRESS = rf"[^@\s{XML_CONTROLS}]"  # what an address is made of
EMAIL = re.compile(rf"^{_ADDRESS}{{1,64}}@{_ADDRESS}{{1,255}}\.{_ADDRESS}{{2,}}$")
_hasher = PasswordHasher()
# Verifying against this when no account matches keeps the time of an answer from telling
# whether an address has an account.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    # argon2 takes tens of milliseconds of CPU by design: off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def check_password(user: User | None, password: str) -> bool:
    """True when the password is this user's; takes as long when there is no such user."""
    return await asyncio.to_thread(_verify, user.password_hash if user else _DUMMY_HASH,
                                   password) and user is not None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(user: User) -> bool:
    return _hasher.check_needs_rehash(user.password_hash)


# What a sign-in takes: any password that might have been set, without hashing megabytes.
SIGN_IN_MAX_PASSWORD = 1024


def read_password(check: Checker, name: str = "password") -> str | None:
    return check.secret(name, low=MIN_PASSWORD, high=MAX_PASSWORD)


def read_email(check: Checker, name: str = "email") -> str | None:
    email = check.text(name, max_len=MAX_EMAIL)
    if email and not EMAIL.match(email):
        check.fail(name, "must be an email address")
        return None
    return email.lower() if email else None


def secret_hash(secret: str) -> str:
    # Invitation links and recovery codes carry >= 80 random bits: SHA-256 is enough.
    return hashlib.sha256(secret.encode()).hexdigest()


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.exec(select(User).where(User.email == email.strip().lower()))
    return result.first()


@dataclass(frozen=True)
class InvitationDraft:
    organisation_id: str
    email: str
    role: Role
    contact_id: str | None


def read_invitation(body: object) -> InvitationDraft:
    check = Checker(body)
    check.only({"organisation_id", "email", "role", "contact_id"})
    organisation_id = check.text("organisation_id", max_len=MAX_ID)
    email = read_email(check)
    role = check.choice("role", Role, among=STAFF_ROLES)
    contact_id = check.text("contact_id", required=False, max_len=MAX_ID)
    check.done()
    assert organisation_id and email and role
    return InvitationDraft(organisation_id, email, role, contact_id or None)


async def invite(session: AsyncSession, draft: InvitationDraft, invited_by: str,
                 now: datetime) -> tuple[Invitation, str]:
    """Store an invitation (the caller commits) and return it with its one-time secret."""
    if await user_by_email(session, draft.email) is not None:
        raise Conflicting({"email": "already has an account"})
    if draft.contact_id:
        contact = await session.get(Contact, draft.contact_id)
        if contact is None or contact.organisation_id != draft.organisation_id:
            raise NotKnown({"contact_id": "no such contact in this organisation"})
    secret = secrets.token_urlsafe(32)
    invitation = Invitation(token_hash=secret_hash(secret), organisation_id=draft.organisation_id,
                            email=draft.email, role=draft.role, contact_id=draft.contact_id,
                            invited_by=invited_by, created_at=now,
                            expires_at=now + INVITATION_TTL)
    session.add(invitation)
    return invitation, secret


async def open_invitation(session: AsyncSession, secret: str, now: datetime) -> Invitation:
    """The invitation this secret opens, if it is unused and unexpired."""
    result = await session.exec(select(Invitation).where(
        Invitation.token_hash == secret_hash(secret)))
    invitation = result.first()
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= now:
        raise NotKnown({"token": "this invitation is not valid any more; ask for a new one"})
    return invitation


async def accept(session: AsyncSession, invitation: Invitation, name: str, password: str,
                 now: datetime) -> User:
    """Create the invited person's account (the caller commits)."""
    if await user_by_email(session, invitation.email) is not None:
        raise Conflicting({"token": "an account with this address exists already"})
    user = User(email=invitation.email, name=name, organisation_id=invitation.organisation_id,
                role=invitation.role, contact_id=invitation.contact_id,
                password_hash=await hash_password(password), created_at=now)
    invitation.accepted_at = now
    session.add_all([user, invitation])
    return user


async def new_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones, shown once (the caller commits)."""
    old = await session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id))
    for code in old:
        await session.delete(code)
    codes = ["-".join(secrets.token_hex(3) for _ in range(3)) for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=secret_hash(code)) for code in codes)
    return codes


async def use_recovery_code(session: AsyncSession, user: User, code: str,
                            now: datetime) -> bool:
    """Spend one recovery code; True when it was an unused code of this user."""
    normalised = code.strip().lower().replace(" ", "")
    result = await session.exec(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == secret_hash(normalised),
        col(RecoveryCode.used_at).is_(None)))
    row = result.first()
    if row is None:
        return False
    row.used_at = now
    session.add(row)
    return True
