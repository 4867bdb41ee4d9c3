"""Email channel: addresses checked at enrolment and masked for logs and pages."""

from __future__ import annotations

import re

from channels.base import TargetError

# Deliberately simple: one @, no spaces, a dotted domain. Deliverability is the MTA's call.
_ADDRESS = re.compile(r"^[^@\s<>,;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class EmailChannel:
    name = "email"
    individual = True

    def check_target(self, target: str) -> None:
        if not isinstance(target, str) or len(target) > 320 or not _ADDRESS.match(target):
            raise TargetError("is not a valid email address")

    def describe(self, target: str) -> str:
        local, _, domain = target.partition("@")
        return f"{local[:1]}***@{domain}"
