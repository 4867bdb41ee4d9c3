"""Outbox rows for a message's recipients: the live feed's at once, the others from one
fanout row that the outbox (or a reader) turns into Delivery rows after the commit.

A publish to a thousand email contacts used to write a thousand Delivery rows in its own
transaction, each with its foreign keys and indexes: 4 to 6 ms per hundred recipients on
the publish path. Now the publish writes one `Fanout` row holding the recipients; a worker
writes their rows in the transaction of its next claim, and whatever reads an alert's
deliveries (the API, revisions, a contact's removal) settles its fanouts first, so no
reader sees a published alert without its deliveries. Settling deletes the fanout row and
writes its deliveries only if that delete took it: two settlers never write twice, and a
worker killed before its commit leaves the fanout row for the next.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.db import insert_many
from hub.models import Delivery, DeliveryStatus, Fanout
from hub.targeting import FEED, Recipient
from partners.models import new_id

DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]
FANOUTS: Table = Fanout.__table__  # type: ignore[attr-defined]
_ADD = insert(FANOUTS)
_TAKE = (delete(FANOUTS).where(FANOUTS.c.id == bindparam("fanout_id"))
         .returning(FANOUTS.c.alert_id, FANOUTS.c.reason, FANOUTS.c.created_at,
                    FANOUTS.c.recipients))
BATCH = 50  # fanouts a worker settles per claim


async def write_deliveries(session: AsyncSession, alert_id: str, recipients: list[Recipient],
                           now: datetime, reason: str) -> None:
    """Add the outbox rows in the caller's transaction: the feed's as Delivery rows (the
    fan-out that follows the commit reads them), every other channel's as one fanout."""
    feed = [r for r in recipients if r.channel == FEED]
    outbound = [r for r in recipients if r.channel != FEED]
    await _insert(session, alert_id, feed, now, reason)
    if outbound:
        await (await session.connection()).execute(_ADD, {
            "id": new_id(), "alert_id": alert_id, "reason": reason, "created_at": now,
            "recipients": [[r.organisation_id, r.contact_id, r.channel, r.recipient,
                            r.subscription_id] for r in outbound]})


async def settle(session: AsyncSession, alert_ids: Collection[str] | None = None, *,
                 limit: int | None = None) -> int:
    """Write the Delivery rows of the pending fanouts of these alerts (or of every alert,
    oldest first, at most `limit` of them, skipping those another worker is settling) in
    the caller's transaction; how many fanouts this call settled."""
    query = select(FANOUTS.c.id).order_by(FANOUTS.c.created_at)
    if alert_ids is not None:
        if not alert_ids:
            return 0
        query = query.where(FANOUTS.c.alert_id.in_(list(alert_ids)))
    if limit is not None:
        query = query.limit(limit).with_for_update(skip_locked=True)
    connection = await session.connection()
    settled = 0
    for fanout_id in (await connection.execute(query)).scalars().all():
        taken = (await connection.execute(_TAKE, {"fanout_id": fanout_id})).first()
        if taken is None:
            continue  # another settler took it first
        alert_id, reason, created_at, recipients = taken
        await _insert(session, alert_id, [Recipient(org, contact, channel, recipient, sub)
                                          for org, contact, channel, recipient, sub in recipients],
                      created_at, reason)
        settled += 1
    return settled


async def _insert(session: AsyncSession, alert_id: str, recipients: list[Recipient],
                  now: datetime, reason: str) -> None:
    await insert_many(session, DELIVERIES, [
        {"id": new_id(), "alert_id": alert_id, "organisation_id": r.organisation_id,
         "contact_id": r.contact_id, "subscription_id": r.subscription_id,
         "channel": r.channel, "recipient": r.recipient,
         "idempotency_key": r.idempotency_key(alert_id), "status": DeliveryStatus.PENDING.value,
         "attempts": 0, "next_attempt_at": now, "created_at": now, "reason": reason}
        for r in recipients
    ])
