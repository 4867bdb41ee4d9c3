"""API credentials: issue tokens, keep only their hashes, and resolve a presented token."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from partners.models import ApiToken, Role

TOKEN_PREFIX = "vgl_"


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute force.
    # Passwords, which people choose, get argon2 instead.
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def issue_token(session: AsyncSession, role: Role, organisation_id: str | None,
                      *, contact_id: str | None = None, label: str = "",
                      secret: str | None = None) -> tuple[ApiToken, str]:
    """Store a new token (the caller commits) and return it with its one-time secret."""
    secret = secret or new_token()
    row = ApiToken(token_hash=hash_token(secret), role=role, organisation_id=organisation_id,
                   contact_id=contact_id, label=label)
    session.add(row)
    return row, secret


async def find_token(session: AsyncSession, secret: str) -> ApiToken | None:
    """The live token for this secret, or None."""
    result = await session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    row = result.first()
    if row is None or row.revoked_at is not None:
        return None
    return row


async def ensure_bootstrap_token(session: AsyncSession, secret: str) -> None:
    """Make sure a live hub-wide admin token with exactly this value exists."""
    result = await session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    row = result.first()
    if row is None:
        await issue_token(session, Role.ADMIN, None, label="bootstrap", secret=secret)
    else:
        # The operator asked for exactly this admin token: restore it if it was changed.
        row.role, row.organisation_id, row.contact_id, row.revoked_at = Role.ADMIN, None, None, None
        session.add(row)
    await session.commit()
