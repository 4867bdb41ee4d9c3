"""One connected desk: its socket, what it has heard, and the limits that keep it from
holding up anyone else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from hub import frames
from hub.access import Principal

log = logging.getLogger(__name__)

# Close codes of the live feed (README, "Live feed"). 1001 is the standard "going away".
GOING_AWAY = 1001
SERVER_ERROR = 1011  # the hub failed to serve the desk (a database error in a replay)
UNAUTHENTICATED = 4401  # no valid credential, or it was revoked, signed out or disabled
TOO_SLOW = 4408  # outgoing buffer over its limit, a write past its deadline, or no heartbeat
TOO_MANY = 4429  # more messages than the per-socket rate limit allows
# A desk closed for being slow gets this long to take its close frame before the connection
# is cut; a stuck peer never takes it, and its buffered frames are freed.
CLOSE_GRACE_S = 2.0


@dataclass(slots=True)
class Bucket:
    """A token bucket: `burst` at once, then `per_s` a second."""

    burst: float
    per_s: float
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> float:
        """0 when a token was taken; otherwise the seconds until one is free."""
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_s)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_s


@dataclass(frozen=True)
class DeskLimits:
    """What one socket may hold and send: the first three are settings (`VIGIL_FEED_*`),
    the rate limits are fixed (README, "Live feed")."""

    buffer_bytes: int
    write_timeout_s: float
    replay_max: int
    messages_burst: int = 100
    messages_per_s: float = 20.0
    resumes_burst: int = 5
    resumes_per_s: float = 0.5


@dataclass(eq=False, slots=True)
class Desk:
    """One connected socket. Until it is live, new frames wait in `pending`, so a replay and
    the live fan-out can never interleave out of order or drop a frame between them."""

    ws: web.WebSocketResponse
    transport: asyncio.Transport
    principal: Principal
    limits: DeskLimits
    now: Callable[[], float]  # the event loop's monotonic clock
    on_close: Callable[[Desk, str], None]
    session_id: str | None = None  # the browser session it was opened with, if any
    last_seq: int = 0
    live: bool = False
    checked: bool = False  # its credential was confirmed in the database since it connected
    ready: bool = False  # replayed, and goes live as soon as it is checked
    receipt: int = 0  # the seq it last resumed from: it holds everything up to it
    pending: list[tuple[int, bytes, str]] = field(default_factory=list)  # seq, frame, alert
    pending_bytes: int = 0
    pending_from: int = 0  # every alert fanned out after this seq is in `pending`
    replay_since: int | None = None  # the newest resume not yet served
    replay_task: asyncio.Task[None] | None = None
    announce: bool = True  # end each replay with a `replayed` frame (it asked to resume)
    closed: bool = False
    last_heard: float = 0.0
    backlog_since: float | None = None  # when its buffer last stopped being empty
    messages: Bucket = field(init=False)
    resumes: Bucket = field(init=False)

    def __post_init__(self) -> None:
        self.last_heard = self.now()
        self.messages = Bucket(self.limits.messages_burst, self.limits.messages_per_s)
        self.resumes = Bucket(self.limits.resumes_burst, self.limits.resumes_per_s)

    def offer(self, seq: int, frame: bytes, alert_id: str) -> bool:
        """Hand one live frame to the socket without waiting; True when it was written now.

        The hot path of the fan-out: no await, so one desk can never hold up the next. A
        desk whose buffer is over its limit is closed; it resumes by seq when it is back."""
        if self.closed:
            return False
        if not self.live:
            self.pending.append((seq, frame, alert_id))
            self.pending_bytes += len(frame)
            if self.pending_bytes > self.limits.buffer_bytes:
                self.shed(TOO_SLOW, "too slow: more queued than the buffer limit", "slow")
            return False
        if seq <= self.last_seq or not self.write(frame):
            return False
        self.last_seq = seq
        self.written()
        return not self.closed

    def write(self, data: bytes) -> bool:
        """Write to the socket now; False (and the desk forgotten) when its peer has gone."""
        if self.closed:
            return False
        if not self.transport.is_closing():
            try:
                self.transport.write(data)
                return True
            except (RuntimeError, ConnectionError):  # uvloop raises once the peer is gone
                pass
        self.closed = True
        self.pending.clear()
        self.on_close(self, "")
        return False

    def written(self) -> None:
        """After a write: close the desk if its buffer is over the limit, or note a backlog."""
        size = self.transport.get_write_buffer_size()
        if size > self.limits.buffer_bytes:
            self.shed(TOO_SLOW, "too slow: outgoing buffer over its limit", "slow")
        elif size and self.backlog_since is None:
            self.backlog_since = self.now()

    def overdue(self, now: float) -> bool:
        """Whether its oldest unsent byte has waited past the write deadline; clears the
        backlog mark once the buffer has drained."""
        if self.backlog_since is None:
            return False
        if not self.transport.get_write_buffer_size():
            self.backlog_since = None
            return False
        return now - self.backlog_since > self.limits.write_timeout_s

    def flush_pending(self) -> list[str]:
        """Go live: write what arrived during the replay (newer than it), then live frames.
        Returns the alerts written, for the ledger."""
        written: list[str] = []
        for seq, frame, alert_id in sorted(self.pending, key=lambda item: item[0]):
            if seq > self.last_seq and self.write(frame):
                self.last_seq = seq
                written.append(alert_id)
        self.pending.clear()
        self.pending_bytes = 0
        self.live = not self.closed
        if not self.closed:
            self.written()
        return written

    def shed(self, code: int, reason: str, why: str, *, grace_s: float = CLOSE_GRACE_S,
             linger: bool = False) -> None:
        """Close at once: stop offering frames, send the close frame, free the buffer soon.

        With `linger` the socket stays open for the peer's answering close (its handler
        reads and drops what was still coming): closing a socket with unread data in it
        resets the connection, and the peer would never see the close code."""
        if self.closed:
            return
        self.closed = True
        self.pending.clear()
        self.on_close(self, why)
        if self.transport.is_closing():
            return
        try:
            self.transport.write(frames.close(code, reason))
        except (RuntimeError, ConnectionError):
            grace_s = 0
        if grace_s <= 0:
            self.transport.abort()
            return
        if not linger:
            self.transport.close()  # flushes what it can, then closes
        asyncio.get_running_loop().call_later(grace_s, self.transport.abort)
