"""The feed's delivery records, written in batches off the fan-out's hot path.

A frame goes out first and is recorded a moment later. A crash in between leaves the
delivery `pending`, never a second send: the desk resumes from the last seq it holds, and
that resume is its receipt for everything up to that seq (`caught_up`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Update, exists, or_, update
from sqlmodel import col

from hub.background import Loop
from hub.db import Sessions
from hub.models import Alert, Delivery, DeliveryStatus
from hub.targeting import FEED

log = logging.getLogger(__name__)
CHUNK = 500  # ids per statement: well inside every database's limit on bound parameters
FLUSH_AT = 5000  # records waiting before a flush is started without waiting for the tick


@dataclass(frozen=True)
class Replayed:
    """Alerts replayed to one desk: its organisation's (or its contact's) feed rows."""

    organisation_id: str
    contact_id: str | None
    alert_ids: tuple[str, ...]


@dataclass(frozen=True)
class CaughtUp:
    """A desk resumed from `seq`: it holds every alert up to it addressed to it."""

    organisation_id: str
    contact_id: str | None
    seq: int


class FeedLedger:
    """Collects what the feed delivered and marks those rows `delivered` in batches."""

    def __init__(self, sessions: Sessions, clock: Callable[[], datetime],
                 interval_s: float = 0.5) -> None:
        self.sessions, self.clock = sessions, clock
        self.ids: list[str] = []
        self.replays: list[Replayed] = []
        self.receipts: dict[tuple[str, str | None], int] = {}  # newest resume per audience
        self.written = 0
        self.loop = Loop("feed ledger", self.flush, interval_s)

    @property
    def waiting(self) -> int:
        return len(self.ids) + sum(len(r.alert_ids) for r in self.replays)

    def delivered(self, ids: Sequence[str]) -> None:
        self.ids.extend(ids)
        if len(self.ids) >= FLUSH_AT:
            self.loop.wake()

    def replayed(self, record: Replayed) -> None:
        if record.alert_ids:
            self.replays.append(record)

    def caught_up(self, record: CaughtUp) -> None:
        key = (record.organisation_id, record.contact_id)
        self.receipts[key] = max(record.seq, self.receipts.get(key, 0))

    def start(self) -> None:
        self.loop.start()

    async def close(self) -> None:
        await self.loop.close()
        try:
            await self.flush()
        except Exception as error:  # the desks' next resume records what is left
            log.warning("feed records not written at shutdown (%s waiting): %s",
                        self.waiting, error)

    async def flush(self) -> None:
        """Write everything collected so far in one transaction; on failure keep it."""
        ids, replays, receipts = self.ids, self.replays, self.receipts
        if not ids and not replays and not receipts:
            return
        self.ids, self.replays, self.receipts = [], [], {}
        now = self.clock()
        try:
            async with self.sessions() as session:
                for start in range(0, len(ids), CHUNK):
                    await session.exec(_mark(now).where(
                        col(Delivery.id).in_(ids[start:start + CHUNK])))
                for record in replays:
                    await session.exec(_mark(now).where(
                        col(Delivery.alert_id).in_(record.alert_ids),
                        col(Delivery.channel) == FEED,
                        col(Delivery.organisation_id) == record.organisation_id,
                        or_(col(Delivery.contact_id).is_(None),
                            col(Delivery.contact_id) == record.contact_id)))
                for (organisation, contact), seq in receipts.items():
                    await session.exec(_mark(now).where(
                        col(Delivery.channel) == FEED,
                        col(Delivery.organisation_id) == organisation,
                        or_(col(Delivery.contact_id).is_(None),
                            col(Delivery.contact_id) == contact),
                        exists().where(col(Alert.id) == col(Delivery.alert_id),
                                       col(Alert.seq) <= seq)))
                await session.commit()
        except Exception:
            self.ids, self.replays = ids + self.ids, replays + self.replays
            for key, seq in receipts.items():
                self.receipts[key] = max(seq, self.receipts.get(key, 0))
            raise
        self.written += len(ids) + sum(len(r.alert_ids) for r in replays)


def _mark(now: datetime) -> Update:
    return (update(Delivery).where(col(Delivery.status) != DeliveryStatus.DELIVERED)
            .values(status=DeliveryStatus.DELIVERED, delivered_at=now,
                    attempts=Delivery.attempts + 1))
