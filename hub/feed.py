"""The live feed: connected desks, in-order fan-out of new alerts, and resume from a seq."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from sqlalchemy import func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.access import Principal, may_receive, visible
from hub.alerts import alert_json
from hub.background import Loop
from hub.db import Sessions
from hub.models import Alert, AlertStatus, Delivery, DeliveryStatus, UserSession
from hub.targeting import FEED
from partners.models import ApiToken, User

log = logging.getLogger(__name__)
FRAME_TYPES = {"Alert": "alert", "Update": "update", "Cancel": "cancel"}
REPLAY_PAGE = 500


def encode(alert: Alert) -> str:
    """The feed frame for an alert, encoded once and sent as-is to every desk it reaches."""
    return json.dumps({"type": FRAME_TYPES[alert.msg_type], "seq": alert.seq,
                       "alert": alert_json(alert)}, separators=(",", ":"))


@dataclass(eq=False)
class Desk:
    """One connected socket. Until it goes live, new frames wait in `pending` so a replay
    and live fan-out can never interleave out of order or drop a frame between them."""

    ws: web.WebSocketResponse
    principal: Principal
    session_id: str | None = None  # the browser session it was opened with, if any
    last_seq: int = 0
    live: bool = False
    pending: list[tuple[int, str]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def push(self, seq: int, frame: str) -> bool:
        """Send one live frame; True when this desk got it now."""
        if not self.live:
            self.pending.append((seq, frame))
            return False
        async with self.lock:
            if seq <= self.last_seq or self.ws.closed:
                return False
            await self.ws.send_str(frame)
            self.last_seq = seq
            return True


class FeedHub:
    """Every desk connected to this process, and the task that fans new alerts out to them."""

    def __init__(self, sessions: Sessions, clock: Callable[[], datetime],
                 poll_s: float = 5.0) -> None:
        self.sessions = sessions
        self.clock = clock
        self.poll_s = poll_s  # a safety net only: the bus wakes us at once
        self.desks: set[Desk] = set()
        self.high_water = 0
        self.loop = Loop("feed fan-out", self.fan_out_new, poll_s)

    async def start(self) -> None:
        self.high_water = await self.current_seq()
        self.loop.start()

    async def close(self) -> None:
        await self.loop.close()
        for desk in list(self.desks):
            await desk.ws.close(code=1001, message=b"server shutting down")

    def notify(self, _seq: int) -> None:
        """Bus listener. The seq itself is not trusted for order: we read the database."""
        self.loop.wake()

    async def current_seq(self) -> int:
        async with self.sessions() as session:
            result = await session.exec(select(func.max(Alert.seq)))
            return int(result.one() or 0)

    async def fan_out_new(self) -> None:
        """Send every alert committed since the last fan-out, in seq order."""
        while True:
            async with self.sessions() as session:
                alerts = (await session.exec(
                    select(Alert).where(col(Alert.seq) > self.high_water,
                                        Alert.status == AlertStatus.PUBLISHED)
                    .order_by(col(Alert.seq)).limit(REPLAY_PAGE)
                )).all()
                if not alerts:
                    return
                await self._drop_revoked(session)
                for alert in alerts:
                    await self._fan_out(session, alert)
                    self.high_water = alert.seq or self.high_water
                await session.commit()

    async def _drop_revoked(self, session: AsyncSession) -> None:
        """Close desks whose token was revoked, or whose person signed out or was disabled,
        before they hear anything new. Checked in the database, so it holds whichever
        process made the change."""
        desks = list(self.desks)  # desks that connect meanwhile were checked as they came
        tokens = {d.principal.actor.removeprefix("token:") for d in desks
                  if d.principal.actor.startswith("token:")}
        browsers = {d.session_id for d in desks if d.session_id}
        live = set((await session.exec(select(ApiToken.id).where(
            col(ApiToken.id).in_(tokens), col(ApiToken.revoked_at).is_(None)))).all())
        live |= set((await session.exec(
            select(UserSession.id).join(User, col(User.id) == col(UserSession.user_id))
            .where(col(UserSession.id).in_(browsers), col(UserSession.ended_at).is_(None),
                   col(User.disabled_at).is_(None)))).all())
        for desk in desks:
            credential = desk.session_id or desk.principal.actor.removeprefix("token:")
            if credential not in live:
                self.desks.discard(desk)
                await desk.ws.close(code=4401, message=b"credential revoked")

    async def _fan_out(self, session: AsyncSession, alert: Alert) -> None:
        rows = (await session.exec(
            select(Delivery.id, Delivery.organisation_id, Delivery.contact_id)
            .where(Delivery.alert_id == alert.id, Delivery.channel == FEED)
        )).all()
        orgs = {org for _, org, contact in rows if contact is None and org is not None}
        contacts = {contact for _, _, contact in rows if contact is not None}
        targets = [d for d in self.desks if may_receive(d.principal, alert, orgs, contacts)]
        if not targets:
            return
        frame = encode(alert)
        results = await asyncio.gather(*(d.push(alert.seq or 0, frame) for d in targets),
                                       return_exceptions=True)
        reached = [d for d, ok in zip(targets, results, strict=True) if ok is True]
        ids = [row_id for row_id, org, contact in rows
               if any(_desk_matches(d, org, contact) for d in reached)]
        await mark_delivered(session, ids, self.clock())

    async def go_live(self, desk: Desk, since: int) -> None:
        """Replay what the desk may see after `since`, then what arrived meanwhile; then live."""
        async with desk.lock:
            while True:
                async with self.sessions() as session:
                    alerts = (await session.exec(
                        select(Alert).where(col(Alert.seq) > since,
                                            Alert.status == AlertStatus.PUBLISHED,
                                            visible(desk.principal))
                        .order_by(col(Alert.seq)).limit(REPLAY_PAGE)
                    )).all()
                    for alert in alerts:
                        await desk.ws.send_str(encode(alert))
                        desk.last_seq = since = alert.seq or since
                    await mark_delivered_for(session, desk, [a.id for a in alerts], self.clock())
                    await session.commit()
                if len(alerts) < REPLAY_PAGE:
                    break
            for seq, frame in sorted(desk.pending):
                if seq > desk.last_seq:
                    await desk.ws.send_str(frame)
                    desk.last_seq = seq
            desk.pending.clear()
            desk.live = True


def _desk_matches(desk: Desk, org: str | None, contact: str | None) -> bool:
    if contact is not None:
        return desk.principal.contact_id == contact
    return desk.principal.organisation_id == org


async def mark_delivered(session: AsyncSession, ids: Sequence[str], now: datetime) -> None:
    if ids:
        await session.exec(
            update(Delivery).where(col(Delivery.id).in_(ids),
                                   col(Delivery.status) != DeliveryStatus.DELIVERED)
            .values(status=DeliveryStatus.DELIVERED, delivered_at=now,
                    attempts=Delivery.attempts + 1)
        )


async def mark_delivered_for(session: AsyncSession, desk: Desk, alert_ids: list[str],
                             now: datetime) -> None:
    """Mark the feed deliveries addressed to this desk's organisation or contact."""
    principal = desk.principal
    if not alert_ids or principal.organisation_id is None:
        return
    await session.exec(
        update(Delivery).where(
            col(Delivery.alert_id).in_(alert_ids), col(Delivery.channel) == FEED,
            col(Delivery.organisation_id) == principal.organisation_id,
            or_(col(Delivery.contact_id).is_(None),
                col(Delivery.contact_id) == principal.contact_id),
            col(Delivery.status) != DeliveryStatus.DELIVERED,
        ).values(status=DeliveryStatus.DELIVERED, delivered_at=now,
                 attempts=Delivery.attempts + 1)
    )
