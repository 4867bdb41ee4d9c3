"""Credential revocations: a counter that every token revoke, sign-out and disabled person
bumps in the same transaction, so the live feed re-checks its desks only when one happened."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Counter

COUNTER = "revocations"


async def revoked(session: AsyncSession) -> None:
    """Note that a credential stopped being valid (the caller commits)."""
    await session.exec(update(Counter).where(col(Counter.name) == COUNTER)
                       .values(value=Counter.value + 1))


async def revocations(session: AsyncSession) -> int:
    """How many revocations there have been."""
    value = (await session.exec(select(Counter.value).where(col(Counter.name) == COUNTER))).first()
    return int(value or 0)
