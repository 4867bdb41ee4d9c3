"""The domain's refusals, raised anywhere and answered by the HTTP layer (hub.http) with
401, 403, 404 and 409; nothing here knows of HTTP."""

from __future__ import annotations


class Unauthenticated(Exception):
    """No credential, or one that is not valid."""


class Forbidden(Exception):
    """A valid credential whose role may not do this."""


class NotFound(Exception):
    """No such thing, or one this principal may not know exists."""


class Conflict(Exception):
    """The request is valid but the thing is no longer in a state that allows it."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
