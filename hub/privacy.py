"""Keeping tipsters anonymous where the hub itself would otherwise note them: the access log
writes a tip request without its address or headers, and rate limits count a tipster's
address only as a keyed hash held in memory."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_log import AccessLogger

# The public tip pages and API, and the one script only they load: a request for any of
# them says its sender is sending a tip.
ANONYMOUS_PATHS = ("/api/v1/tips", "/tips", "/static/tips.js")


def is_anonymous(path: str) -> bool:
    return any(path == prefix or path.startswith((prefix + "/", prefix + "?"))
               for prefix in ANONYMOUS_PATHS)


def from_tip_page(request: web.BaseRequest) -> bool:
    """A request made by a tip page (its styles, its icon), which names the page it came
    from in its Referer: as telling as the page itself. (Tip pages also send
    `Referrer-Policy: no-referrer`, so a browser that honours it sends none.)"""
    return is_anonymous(request.path) or is_anonymous(
        urlsplit(request.headers.get("Referer", "")).path or "-")


class AccessLog(AccessLogger):
    """aiohttp's access log, but a tip request is written as its method, route pattern
    (never the path: an upload's or a receipt's secret is in it) and status, without the
    address, the time it took or any header, so no log line ties a tip or an upload to
    who sent it. The one `vigil serve`, `web` and `demo` use."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not from_tip_page(request):
            super().log(request, response, time)
            return
        route = "a tip page"
        if isinstance(request, web.Request):
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "an unknown path"
        self.logger.info('"%s %s" %s (tip: no address or headers logged)', request.method,
                         route, response.status)


ACCESS_LOG: type[AbstractAccessLogger] = AccessLog


def address_key(secret_key: str, request: web.Request) -> str:
    """The key a tipster's rate limit is counted under: an HMAC of their address, so the
    hub's memory holds no list of who sent tips."""
    return hmac.new(secret_key.encode(), (request.remote or "").encode(),
                    hashlib.sha256).hexdigest()[:32]
