"""The live feed: connected desks, in-order fan-out of new alerts, and resume from a seq.

The fan-out encodes each alert once and writes the same bytes to every target socket with
no await per desk (`Desk.offer`), as `websockets.broadcast()` does; a desk that cannot keep
up is closed and resumes by seq. Replays run one at a time per socket, beside the fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import frames
from hub.access import Principal
from hub.alerts import alert_json
from hub.background import Loop
from hub.db import Sessions
from hub.desk import GOING_AWAY, SERVER_ERROR, TOO_SLOW, UNAUTHENTICATED, Desk, DeskLimits
from hub.feed_ledger import CHUNK, CaughtUp, FeedLedger, Replayed
from hub.models import Alert, AlertStatus, Delivery, UserSession
from hub.revocations import revocations
from hub.targeting import FEED
from hub.visibility import visible
from partners.models import ApiToken, User

log = logging.getLogger(__name__)
FRAME_TYPES = {"Alert": "alert", "Update": "update", "Cancel": "cancel"}
FANOUT_PAGE = 500  # alerts read per round when the fan-out has fallen behind
BEHIND_S = 1.0  # an announced alert not fanned out after this long: the feed is behind
Audience = list[tuple[str, str | None, str | None]]  # (delivery id, organisation, contact)


def encode(alert: Alert) -> str:
    """The feed frame for an alert, encoded once and sent as-is to every desk it reaches."""
    return json.dumps({"type": FRAME_TYPES[alert.msg_type], "seq": alert.seq,
                       "alert": alert_json(alert)}, separators=(",", ":"))


@dataclass
class FeedStats:
    """What `/metrics` reports of the feed."""

    frames: int = 0
    replayed: int = 0
    resumes: int = 0
    fanouts: int = 0
    fanout_s: float = 0.0
    closed: Counter[str] = field(default_factory=Counter)


class FeedHub:
    """Every desk connected to this process, and the task that fans new alerts out to them."""

    def __init__(self, sessions: Sessions, clock: Callable[[], datetime], limits: DeskLimits,
                 heartbeat_s: float, poll_s: float = 5.0) -> None:
        self.sessions, self.clock = sessions, clock
        self.limits = limits
        self.heartbeat_s = heartbeat_s
        self.desks: set[Desk] = set()
        self.by_org: defaultdict[str, set[Desk]] = defaultdict(set)
        self.by_contact: defaultdict[str, set[Desk]] = defaultdict(set)
        self.admins: set[Desk] = set()
        self.unchecked: set[Desk] = set()  # registered since the last credential check
        self.high_water = 0  # every alert up to this seq has been fanned out
        self.announced = 0  # the newest seq the bus told us of
        self.behind_since: float | None = None
        self.revocations = 0
        self.stats = FeedStats()
        self.ledger = FeedLedger(sessions, clock)
        # The poll is a safety net only: the bus wakes the fan-out at once.
        self.loop = Loop("feed fan-out", self.fan_out_new, poll_s)
        self.sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        async with self.sessions() as session:
            self.high_water = self.announced = int(
                (await session.exec(select(func.max(Alert.seq)))).one() or 0)
            self.revocations = await revocations(session)
        self.loop.start()
        self.ledger.start()
        self.sweeper = asyncio.create_task(self._sweep(), name="feed heartbeat")

    async def close(self) -> None:
        await self.loop.close()
        if self.sweeper is not None:
            self.sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sweeper
        for desk in list(self.desks):
            desk.shed(GOING_AWAY, "server shutting down", "shutdown", grace_s=0.5)
        await self.ledger.close()

    # ---- desks come and go

    def connect(self, ws: web.WebSocketResponse, transport: asyncio.Transport,
                principal: Principal, session_id: str | None) -> Desk:
        """Register a new socket; it hears nothing live until `resume` has replayed."""
        desk = Desk(ws, transport, principal, self.limits, asyncio.get_running_loop().time,
                    self._forget, session_id=session_id, pending_from=self.high_water)
        self.desks.add(desk)
        self.unchecked.add(desk)
        for index in self._indexes(desk):
            index.add(desk)
        return desk

    def disconnect(self, desk: Desk) -> None:
        if not desk.closed:
            desk.closed = True
            self._forget(desk, "")
        if desk.replay_task is not None:
            desk.replay_task.cancel()

    def _forget(self, desk: Desk, why: str) -> None:
        self.desks.discard(desk)
        self.unchecked.discard(desk)
        for index in self._indexes(desk):
            index.discard(desk)
        for key, by_key in ((desk.principal.organisation_id, self.by_org),
                            (desk.principal.contact_id, self.by_contact)):
            if key is not None and not by_key.get(key, True):
                del by_key[key]  # no empty sets left behind by organisations that left
        if why:
            self.stats.closed[why] += 1

    def _indexes(self, desk: Desk) -> Iterable[set[Desk]]:
        principal = desk.principal
        if principal.hub_admin:
            yield self.admins
        if principal.organisation_id is not None:
            yield self.by_org[principal.organisation_id]
        if principal.contact_id is not None:
            yield self.by_contact[principal.contact_id]

    # ---- the fan-out

    def notify(self, seq: int) -> None:
        """Bus listener. The seq itself is not trusted for order: we read the database."""
        if seq > self.announced:
            self.announced = seq
            if self.behind_since is None:
                self.behind_since = time.monotonic()
        self.loop.wake()

    async def fan_out_new(self) -> None:
        """Send every alert committed since the last fan-out, in seq order."""
        while True:
            async with self.sessions() as session:
                alerts = (await session.exec(
                    select(Alert).where(col(Alert.seq) > self.high_water,
                                        Alert.status == AlertStatus.PUBLISHED)
                    .order_by(col(Alert.seq)).limit(FANOUT_PAGE)
                )).all()
                audiences = await _audiences(session, [a.id for a in alerts])
                # After the read: a revocation committed before these alerts is seen.
                await self._check_credentials(session)
            for alert in alerts:
                self._send(alert, audiences[alert.id])
                self.high_water = max(self.high_water, alert.seq or 0)
                await asyncio.sleep(0)  # let publishers and handshakes in between alerts
            if len(alerts) < FANOUT_PAGE:
                if self.high_water >= self.announced:
                    self.behind_since = None
                return

    def _send(self, alert: Alert, audience: Audience) -> None:
        """Write one alert to every desk it reaches: one encode, no await, then the ledger."""
        started = time.perf_counter()
        orgs = {org for _, org, contact in audience if contact is None and org is not None}
        contacts = {contact for _, _, contact in audience if contact is not None}
        if alert.sender_org_id is not None:
            orgs.add(alert.sender_org_id)  # the sending service sees its own alerts
        targets = set(self.admins)
        for org in orgs:
            targets |= self.by_org.get(org, set())
        for contact in contacts:
            targets |= self.by_contact.get(contact, set())
        if not targets:
            return
        frame = frames.text(encode(alert))
        seq = alert.seq or 0
        reached_orgs: set[str | None] = set()
        reached_contacts: set[str | None] = set()
        sent = 0
        for desk in targets:
            if desk.offer(seq, frame, alert.id):
                sent += 1
                reached_orgs.add(desk.principal.organisation_id)
                reached_contacts.add(desk.principal.contact_id)
        self.stats.frames += sent
        self.stats.fanouts += 1
        self.stats.fanout_s += time.perf_counter() - started
        self.ledger.delivered([
            row_id for row_id, org, contact in audience
            if (contact is None and org in reached_orgs) or
            (contact is not None and contact in reached_contacts)])

    # ---- resume

    def resume(self, desk: Desk, since: int, *, announce: bool = True) -> None:
        """Replay what the desk may see after `since`, then go live. A newer resume replaces
        one still running, so a socket never has two replays at once."""
        self.stats.resumes += 1
        if announce and 0 < since <= self.high_water:
            # The desk says it holds everything up to `since`: once its credential is
            # confirmed, that is its receipt, which mends records a crash lost between send
            # and record.
            desk.receipt = since
        if desk.live:
            desk.live = False
            desk.pending_from = self.high_water
        desk.replay_since = since
        desk.announce = announce
        if desk.replay_task is not None and not desk.replay_task.done():
            return  # the running replay takes the newer `since` when it next looks
        if since >= desk.pending_from:
            self._finish(desk, since, [], more=False)  # up to date: nothing to read
        else:
            desk.replay_task = asyncio.create_task(self._replay(desk))

    async def _replay(self, desk: Desk) -> None:
        try:
            while desk.replay_since is not None and not desk.closed:
                await self._replay_page(desk, desk.replay_since)
        except (ConnectionError, RuntimeError) as error:
            desk.shed(TOO_SLOW, "the replay could not be written", "slow")
            log.info("replay to a desk ended: %s", error)
        except Exception:
            # A database failure: the desk must not sit connected and silent; it retries.
            log.exception("replay failed")
            desk.shed(SERVER_ERROR, "the replay failed; reconnect and resume", "error")

    async def _replay_page(self, desk: Desk, since: int) -> None:
        limit = self.limits.replay_max
        # Everything fanned out since `pending_from` is already queued for this desk.
        history = [] if since >= desk.pending_from else await self._history(desk, since,
                                                                             limit + 1)
        if desk.replay_since != since:
            return  # a newer resume came in while we read
        desk.replay_since = None
        page = history[:limit]
        desk.last_seq = since
        for alert in page:
            desk.written()  # a backlog from here on counts against the write deadline
            await desk.ws.send_str(encode(alert))
            desk.last_seq = alert.seq or since
            if desk.replay_since is not None or desk.closed:
                return  # replaced: the next page starts from the newer resume
        self._finish(desk, since, page, more=len(history) > limit)

    def _finish(self, desk: Desk, since: int, page: list[Alert], *, more: bool) -> None:
        """Record a replayed page, say where it ended, and go live unless more is waiting."""
        desk.replay_since = None
        if not page:
            desk.last_seq = since
        self.stats.replayed += len(page)
        self._record(desk, [a.id for a in page])
        if desk.announce and not desk.write(frames.text(json.dumps(
                {"type": "replayed", "count": len(page), "last_seq": desk.last_seq,
                 "more": more}, separators=(",", ":")))):
            return
        if more:
            return
        if desk.checked:
            self._go_live(desk)
        else:
            desk.ready = True  # live frames wait until its credential is confirmed
            self.loop.wake()

    def _go_live(self, desk: Desk) -> None:
        """Write what waited and go live; the desk's resume is now its receipt."""
        desk.ready = False
        self._record(desk, desk.flush_pending())
        principal = desk.principal
        if desk.receipt and principal.organisation_id is not None:
            self.ledger.caught_up(CaughtUp(principal.organisation_id, principal.contact_id,
                                           desk.receipt))
        desk.receipt = 0

    def _record(self, desk: Desk, alert_ids: list[str]) -> None:
        if alert_ids and desk.principal.organisation_id is not None:
            self.ledger.replayed(Replayed(desk.principal.organisation_id,
                                          desk.principal.contact_id, tuple(alert_ids)))

    async def _history(self, desk: Desk, since: int, limit: int) -> list[Alert]:
        """The page of history after `since`, once the desk's credential is confirmed."""
        async with self.sessions() as session:
            if not await self._confirm(session, [desk]):
                return []
            return list((await session.exec(
                select(Alert).where(col(Alert.seq) > since,
                                    Alert.status == AlertStatus.PUBLISHED,
                                    visible(desk.principal))
                .order_by(col(Alert.seq)).limit(limit))).all())

    # ---- revoked credentials

    async def _check_credentials(self, session: AsyncSession) -> None:
        """Close desks whose token was revoked, or whose person signed out or was disabled,
        before they hear anything new. Checked in the database, so it holds whichever
        process made the change; all desks after a revocation, else only the new ones."""
        count = await revocations(session)
        desks = list(self.desks if count != self.revocations else self.unchecked)
        if desks:
            for desk in await self._confirm(session, desks):
                if desk.ready:
                    self._go_live(desk)
        self.revocations = count

    async def _confirm(self, session: AsyncSession, desks: list[Desk]) -> list[Desk]:
        """Close the desks whose credential no longer holds; returns the others, checked."""
        live = await _live_credentials(session, desks)
        confirmed = []
        for desk in desks:
            self.unchecked.discard(desk)
            if (desk.session_id or desk.principal.actor.removeprefix("token:")) in live:
                desk.checked = True
                confirmed.append(desk)
            else:
                desk.shed(UNAUTHENTICATED, "credential revoked", "revoked")
        return confirmed

    # ---- heartbeats and write deadlines

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        tick = min(1.0, self.heartbeat_s / 4, self.limits.write_timeout_s / 4)
        next_ping = loop.time() + self.heartbeat_s
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            ping = now >= next_ping
            if ping:
                next_ping = now + self.heartbeat_s
            try:
                for desk in list(self.desks):
                    self._check(desk, now, ping)
            except Exception:  # never let one bad socket stop the heartbeat for all
                log.exception("feed heartbeat round failed")
            if self.unchecked:
                # Check new desks' credentials now, in one batch, rather than in front of
                # the next alert (after a reconnect storm that is thousands of them).
                self.loop.wake()

    def _check(self, desk: Desk, now: float, ping: bool) -> None:
        if desk.overdue(now):
            desk.shed(TOO_SLOW, "too slow: a write waited past its deadline", "slow")
        elif ping and now - desk.last_heard > 1.5 * self.heartbeat_s:
            # Silent through a whole heartbeat since the last ping: the peer is gone.
            desk.shed(TOO_SLOW, "no answer to the heartbeat", "heartbeat", grace_s=0)
        elif ping:
            desk.write(frames.PING)

    # ---- health

    def lag_s(self) -> float:
        """How long the oldest announced alert has waited to be fanned out (0: caught up)."""
        return 0.0 if self.behind_since is None else time.monotonic() - self.behind_since

    def health(self) -> dict[str, object]:
        lag = self.lag_s()
        return {"status": "behind" if lag > BEHIND_S else "ok", "desks": len(self.desks),
                "lag_s": round(lag, 3), "backlog": max(0, self.announced - self.high_water),
                "records_waiting": self.ledger.waiting}


async def _audiences(session: AsyncSession, alert_ids: list[str]) -> dict[str, Audience]:
    """The feed deliveries of these alerts: who each one is addressed to."""
    audiences: dict[str, Audience] = {alert_id: [] for alert_id in alert_ids}
    if alert_ids:
        rows = await session.exec(
            select(Delivery.alert_id, Delivery.id, Delivery.organisation_id,
                   Delivery.contact_id)
            .where(col(Delivery.alert_id).in_(alert_ids), Delivery.channel == FEED))
        for alert_id, row_id, org, contact in rows.all():
            audiences[alert_id].append((row_id, org, contact))
    return audiences


async def _live_credentials(session: AsyncSession, desks: list[Desk]) -> set[str]:
    tokens = sorted({d.principal.actor.removeprefix("token:") for d in desks
                     if d.principal.actor.startswith("token:")})
    browsers = sorted({d.session_id for d in desks if d.session_id})
    live: set[str] = set()
    for start in range(0, len(tokens), CHUNK):
        live |= set((await session.exec(select(ApiToken.id).where(
            col(ApiToken.id).in_(tokens[start:start + CHUNK]),
            col(ApiToken.revoked_at).is_(None)))).all())
    for start in range(0, len(browsers), CHUNK):
        live |= set((await session.exec(
            select(UserSession.id).join(User, col(User.id) == col(UserSession.user_id))
            .where(col(UserSession.id).in_(browsers[start:start + CHUNK]),
                   col(UserSession.ended_at).is_(None),
                   col(User.disabled_at).is_(None)))).all())
    return live
