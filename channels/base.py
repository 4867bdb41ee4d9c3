"""The channel seam: one small interface every delivery channel implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class TargetError(ValueError):
    """A target (address, URL) that this channel can never deliver to."""


@dataclass(frozen=True, eq=False)
class Message:
    """A message already rendered for one channel; channels do not render.

    One Message is shared by every recipient who reads the same words (an alert in one
    language), so a channel may prepare it once, keyed on its identity; what differs per
    recipient comes with each send."""

    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What happened to one send. `permanent` failures are not retried."""

    ok: bool
    error: str | None = None
    permanent: bool = False
    # The relay or host failed (refused, timed out, hung up, 5xx from a webhook host), not
    # this recipient: such failures open the route's circuit breaker; a 550 for one address
    # never does.
    outage: bool = False


class Channel(Protocol):
    """A delivery channel, built from the settings by its plugin (channels.registry).

    `check_target` raises TargetError at enrolment, so a bad address is refused then and
    not discovered at send time. `describe` masks secrets, safe for logs and pages.
    `send` never raises for a remote failure: it reports it in the Outcome; retries,
    timeouts, backoff and circuit breakers belong to the dispatcher. `headers` are this
    recipient's own (Message-ID, List-Unsubscribe); channels without headers ignore them.
    `route` names the relay or host a target is reached through (masked: it is shown in
    metrics), one circuit breaker per route; `probe` asks that route whether it answers
    again, without sending anything.
    """

    name: str
    # How many sends may be in flight at once. The dispatcher records each send before the
    # slot is freed, so after a crash at most this many sends are of unknown outcome.
    max_in_flight: int

    def check_target(self, target: str) -> None: ...

    def describe(self, target: str) -> str: ...

    def route(self, target: str) -> str: ...

    async def probe(self, route: str) -> bool: ...

    async def send(self, message: Message, target: str,
                   headers: Mapping[str, str] | None = None) -> Outcome: ...
