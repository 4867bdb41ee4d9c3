"""Throttling: failed logins slow and then block an account or address; public rate limits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Throttle

_THROTTLES: Table = Throttle.__table__  # type: ignore[attr-defined]


class Throttled(Exception):
    """Too many tries: answered 429 with `Retry-After`."""

    def __init__(self, retry_after: float, detail: str) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after + 0.999))


@dataclass(frozen=True)
class FailureRule:
    """`free` failures cost nothing; each later one doubles a wait before the next try
    (slowed); from `limit` on, the key is refused for the whole `cooldown`. Failures older
    than `forget_after` are forgotten, so one typo a week never adds up to a lockout."""

    free: int
    limit: int
    cooldown: timedelta
    forget_after: timedelta = timedelta(hours=1)

    def wait_after(self, failures: int) -> timedelta:
        if failures >= self.limit:
            return self.cooldown
        if failures <= self.free:
            return timedelta(0)
        return min(timedelta(seconds=2 ** (failures - self.free)), self.cooldown)


# An account is the target of a password guess wherever it comes from; an address may be a
# whole office behind one NAT, so it gets more room before it is slowed.
ACCOUNT = FailureRule(free=3, limit=10, cooldown=timedelta(minutes=15))
ADDRESS = FailureRule(free=20, limit=100, cooldown=timedelta(minutes=15))


def login_keys(email: str, address: str) -> list[tuple[str, FailureRule]]:
    # Keyed by the address typed, whether or not an account has it, so the answers never
    # tell an attacker which addresses have accounts.
    return [(f"account:{email.strip().lower()}"[:400], ACCOUNT), (f"address:{address}", ADDRESS)]


async def take_attempt(session: AsyncSession, keys: Sequence[tuple[str, FailureRule]],
                       now: datetime, detail: str) -> None:
    """Check and count one try against each key as a single step, and commit it; raise
    Throttled (counting nothing) while any key is held.

    The try is counted as a failure before the password or code is looked at, under a lock
    on each key's row (always taken in the same order), so twenty tries sent at once are
    counted one after the other and the ones past the limit are refused: the right
    password among them gains nothing. `succeeded` takes the count back."""
    rows = [(await _locked(session, key), rule) for key, rule in keys]
    wait = max(((row.blocked_until - now).total_seconds() for row, _ in rows
                if row.blocked_until is not None and row.blocked_until > now), default=0.0)
    if wait:
        await session.commit()
        raise Throttled(wait, detail)
    for row, rule in rows:
        if row.last_failure_at is not None and now - row.last_failure_at > rule.forget_after:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        held = rule.wait_after(row.failures)
        row.blocked_until = now + held if held else None
        session.add(row)
    await session.commit()


async def succeeded(session: AsyncSession, keys: Sequence[tuple[str, FailureRule]],
                    now: datetime) -> None:
    """The try was right: its account starts afresh; its address gets the try back (the
    caller commits)."""
    (account, _), *others = keys
    row = await session.get(Throttle, account)
    if row is not None:
        await session.delete(row)
    for key, rule in others:
        row = await _locked(session, key)
        row.failures = max(0, row.failures - 1)
        held = rule.wait_after(row.failures)
        row.blocked_until = now + held if held else None
        session.add(row)


async def _locked(session: AsyncSession, key: str) -> Throttle:
    """The key's row, made if missing (an upsert: two first tries never both insert it),
    locked until commit (FOR UPDATE; on SQLite the insert has taken the write lock)."""
    connection = await session.connection()
    make = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    await connection.execute(make(_THROTTLES).values(key=key, failures=0)
                             .on_conflict_do_nothing(index_elements=["key"]))
    return (await session.exec(
        select(Throttle).where(Throttle.key == key).with_for_update()
        .execution_options(populate_existing=True))).one()


@dataclass
class RateLimit:
    """A token bucket per key (an address) for public endpoints, held in this process:
    `burst` requests at once, refilled at `per_minute`."""

    burst: int
    per_minute: float
    buckets: dict[str, tuple[float, datetime]] = field(default_factory=dict)

    def take(self, key: str, now: datetime) -> float:
        """Spend one token; 0 when allowed, else the seconds to wait (for `Retry-After`)."""
        tokens, since = self.buckets.get(key, (float(self.burst), now))
        rate = self.per_minute / 60.0
        tokens = min(float(self.burst), tokens + (now - since).total_seconds() * rate)
        if tokens >= 1.0:
            self.buckets[key] = (tokens - 1.0, now)
            self._prune(now)
            return 0.0
        self.buckets[key] = (tokens, now)
        return math.ceil((1.0 - tokens) / rate)

    def _prune(self, now: datetime) -> None:
        # Keep memory bounded under a spray of addresses: drop buckets that are full again.
        if len(self.buckets) > 10_000:
            full_after = timedelta(seconds=self.burst * 60.0 / self.per_minute)
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < full_after}
