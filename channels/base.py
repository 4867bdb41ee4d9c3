"""The channel seam: one small interface every delivery channel implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class TargetError(ValueError):
    """A target (address, URL) that this channel can never deliver to."""


@dataclass(frozen=True)
class Message:
    """A message already rendered for one channel; channels do not render."""

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


class Channel(Protocol):
    """A delivery channel.

    `check_target` raises TargetError at enrolment, so a bad address is refused then and
    not discovered at send time. `describe` masks secrets, safe for logs and pages.
    `send` never raises for a remote failure: it reports it in the Outcome; retries,
    timeouts and backoff belong to the dispatcher.
    """

    name: str
    individual: bool  # reaches one named person (email) rather than a group (chat room)
    # How many sends may be in flight at once. The dispatcher records each send before the
    # slot is freed, so after a crash at most this many sends are of unknown outcome.
    max_in_flight: int

    def check_target(self, target: str) -> None: ...

    def describe(self, target: str) -> str: ...

    async def send(self, message: Message, target: str) -> Outcome: ...
