"""Chat channel: Slack, Teams, Matrix, Telegram and JSON webhooks through apprise URLs."""

from __future__ import annotations

import re

import apprise

from channels.base import Message, Outcome, TargetError

_SECRET_PATH = re.compile(r"(?<=/)[^/?#]{9,}")


class ChatChannel:
    name = "chat"
    individual = False  # a chat URL is a room or a webhook: a group, never one named person

    def check_target(self, target: str) -> None:
        if not isinstance(target, str) or "://" not in target:
            raise TargetError("must be an apprise URL such as slack://... or json://host/path")
        if apprise.Apprise.instantiate(target) is None:
            raise TargetError("is not a URL apprise can deliver to")

    def describe(self, target: str) -> str:
        scheme, _, rest = target.partition("://")
        host, _, path = rest.partition("/")
        host = host.rpartition("@")[2]  # drop any user:password@
        masked_path = _SECRET_PATH.sub(lambda m: m.group(0)[:3] + "…", path.split("?")[0])
        return f"{scheme}://{host}/{masked_path}" if path else f"{scheme}://{host}"

    async def send(self, message: Message, target: str) -> Outcome:
        notifier = apprise.Apprise()
        if not notifier.add(target):
            return Outcome(ok=False, error="not a URL apprise can deliver to", permanent=True)
        result = await notifier.async_notify(title=message.subject, body=message.text)
        # apprise answers False, None or NOMATCH when nothing was delivered: all failures.
        if result is True:
            return Outcome(ok=True)
        return Outcome(ok=False, error=f"apprise reported {result!r} for {self.describe(target)}")
