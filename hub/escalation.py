"""Escalation: persisted ack deadlines; when one passes unanswered, alert the secondary tier."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.registry import Registry
from hub import audit
from hub.background import Loop
from hub.db import Sessions
from hub.fanout import write_deliveries
from hub.metrics import Metrics
from hub.models import Alert, Escalation, EscalationStatus
from hub.targeting import tier_recipients
from partners.models import Tier

log = logging.getLogger(__name__)
ACTOR = "escalation"


async def settle_on_ack(session: AsyncSession, alert_id: str, organisation_id: str,
                        responder: str, now: datetime) -> None:
    """An answer from anyone in the organisation stops its pending escalation."""
    await session.exec(
        update(Escalation).where(col(Escalation.alert_id) == alert_id,
                                 col(Escalation.organisation_id) == organisation_id,
                                 col(Escalation.status) == EscalationStatus.PENDING)
        .values(status=EscalationStatus.CANCELLED, settled_at=now, settled_by=responder))


class Escalator:
    """Fires due timers. Timers live in the database, so any process can fire them after a
    restart; SKIP LOCKED keeps two schedulers from firing the same one on PostgreSQL."""

    def __init__(self, sessions: Sessions, clock: Callable[[], datetime],
                 channels: Registry, on_deliveries: Callable[[], None],
                 poll_s: float = 1.0, metrics: Metrics | None = None) -> None:
        self.sessions, self.clock, self.channels = sessions, clock, channels
        self.metrics = metrics or Metrics()
        self.on_deliveries = on_deliveries
        self.loop = Loop("escalation scheduler", self.run_once, poll_s)

    async def start(self) -> None:
        self.loop.start()

    async def close(self) -> None:
        await self.loop.close()

    async def run_once(self) -> int:
        """Fire every timer that is due now; how many fired."""
        now = self.clock()
        async with self.sessions() as session:
            due = (await session.exec(
                select(Escalation).where(col(Escalation.status) == EscalationStatus.PENDING,
                                         col(Escalation.due_at) <= now)
                .order_by(col(Escalation.due_at)).limit(100).with_for_update(skip_locked=True)
            )).all()
            fired = [timer for timer in due if await self._fire(session, timer, now)]
            await session.commit()
        if fired:
            self.metrics.escalations.inc(len(fired))
            self.on_deliveries()
        return len(fired)

    async def _fire(self, session: AsyncSession, timer: Escalation, now: datetime) -> bool:
        # Claim the timer first: only the firer whose UPDATE matched writes deliveries, so two
        # schedulers (or SQLite, which has no SKIP LOCKED) can never escalate twice.
        claimed = await session.exec(
            update(Escalation).where(col(Escalation.id) == timer.id,
                                     col(Escalation.status) == EscalationStatus.PENDING)
            .values(status=EscalationStatus.FIRED, settled_at=now, settled_by=ACTOR))
        if claimed.rowcount != 1:
            return False
        alert = await session.get(Alert, timer.alert_id)
        assert alert is not None
        if alert.expires is not None and alert.expires <= now:
            # An expired alert is over: nobody is mobilised for it any more.
            timer.status, timer.settled_by = EscalationStatus.CANCELLED, "expired"
            session.add(timer)
            return False
        recipients = await tier_recipients(session, [timer.organisation_id], alert.tlp,
                                           self.channels, Tier.SECONDARY)
        await write_deliveries(session, alert.id, recipients, now, "escalation")
        await audit.record(session, ACTOR, "alert.escalate", alert.id,
                           {"organisation_id": timer.organisation_id,
                            "deadline": timer.due_at.isoformat(),
                            "secondary_deliveries": len(recipients)})
        return True
