"""HTTP conventions: typed app state, JSON bodies and answers, errors as JSON, who is asking."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeAlias

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy.exc import DBAPIError

from hub import storage
from hub.access import Principal
from hub.bus import LocalBus
from hub.cap import CapInvalid
from hub.db import Sessions
from hub.dispatch import Dispatcher
from hub.errors import Conflict, Forbidden, NotFound, Unauthenticated
from hub.feed import FeedHub
from hub.metrics import Metrics
from hub.notices import Notices
from hub.publishing import Publishing
from hub.sessions import CookiePolicy, Resumed
from hub.settings import Settings
from hub.storage import Storage
from hub.throttle import RateLimit, Throttled
from hub.token_lookup import TokenLookup
from partners.validation import InvalidInput

log = logging.getLogger(__name__)

Clock: TypeAlias = Callable[[], datetime]  # the current UTC time; tests pass a fake one

SETTINGS = web.AppKey("settings", Settings)
PUBLISHING = web.AppKey("publishing", Publishing)  # derived once from the settings
SESSIONS = web.AppKey("sessions", Sessions)
BUS = web.AppKey("bus", LocalBus)
FEED = web.AppKey("feed", FeedHub)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
COOKIES = web.AppKey("cookies", CookiePolicy)
LIMITS: web.AppKey[dict[str, RateLimit]] = web.AppKey("limits")
NOTICES = web.AppKey("notices", Notices)
TOKENS = web.AppKey("tokens", TokenLookup)
METRICS = web.AppKey("metrics", Metrics)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)  # only in a process that sends
STORAGE = web.AppKey("storage", Storage)
DEMO_MAILBOX = web.AppKey("demo_mailbox", bool)  # `vigil demo` only: /demo/mail is served
# Set by the guard on every request it lets through.
PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("principal")
LOGIN: web.RequestKey[Resumed | None] = web.RequestKey("login")

MAX_JSON_BODY = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str,
                 fields: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.fields = status, error, detail, fields or {}


def error_response(status: int, error: str, detail: str,
                   fields: dict[str, str] | None = None) -> web.Response:
    response = web.json_response({"error": error, "detail": detail, "fields": fields or {}},
                                 status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
    return response


def cap_invalid_response(error: CapInvalid) -> web.Response:
    """A 422 listing every broken CAP rule with its element path."""
    fields: dict[str, str] = {}
    for violation in error.violations:
        fields[violation.path] = "; ".join(filter(None, [fields.get(violation.path),
                                                        violation.message]))
    count = len(error.violations)
    body = {"error": "invalid_cap",
            "detail": f"the document breaks {count} CAP rule{'s' if count != 1 else ''}: {error}",
            "fields": fields,
            "violations": [{"path": v.path, "message": v.message} for v in error.violations]}
    return web.json_response(body, status=422)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes `{"error", "detail", "fields"}` with the right 4xx status."""
    try:
        return await handler(request)
    except InvalidInput as error:
        return error_response(error.status, error.code, error.detail, error.fields)
    except CapInvalid as error:
        return cap_invalid_response(error)
    except Unauthenticated as error:
        return error_response(401, "unauthenticated", str(error))
    except Forbidden as error:
        return error_response(403, "forbidden", str(error))
    except NotFound as error:
        return error_response(404, "not_found", str(error))
    except Conflict as error:
        return error_response(409, error.code, str(error))
    except Throttled as error:
        response = error_response(429, "too_many_requests", str(error))
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except ApiError as error:
        return error_response(error.status, error.error, error.detail, error.fields)
    except web.HTTPException as error:
        if error.status < 400 or not request.path.startswith("/api/"):
            raise
        code = error.reason.lower().replace(" ", "_")
        response = error_response(error.status, code, error.text or error.reason)
        if "Allow" in error.headers:  # a 405 says which methods the path takes (RFC 9110)
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except (DBAPIError, OSError) as error:
        if not storage.is_full(error):
            raise
        log.error("a write failed for want of space: %s", error)
        request.app[STORAGE].saw_full()
        response = error_response(503, "storage_full", "the hub's disk is full: nothing was "
                                  "saved; try again later")
        response.headers["Retry-After"] = str(storage.RETRY_AFTER_S)
        return response


class MalformedRequests(logging.Filter):
    """aiohttp logs every request it cannot parse (a NUL in a header value) as an error with
    a traceback, and answers it 400. It is the sender's fault, so it becomes one warning line:
    anyone on the internet could otherwise fill the hub's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and error.code < 500:
            reason = (error.message or type(error).__name__).strip().splitlines()[0]
            record.msg, record.args = f"{record.getMessage()}: {error.code} {reason}", None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def quiet_malformed_requests() -> None:
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequests) for f in server.filters):
        server.addFilter(MalformedRequests())


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _integer(text: str) -> int | float:
    """A JSON integer; one too large for any field (10^400 as a latitude) as a float, which
    is infinite past the float range: the field's own check then refuses it by name,
    rather than a conversion failing deep inside."""
    return int(text) if len(text) <= 18 else float(text)


async def read_body(request: web.Request, limit: int, too_large: ApiError) -> bytes:
    """The whole raw body, refused with `too_large` past `limit` bytes (before reading it
    when Content-Length says so)."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    # read(n) gives what has arrived so far, up to n: a body sent in pieces is read until
    # its end, never judged by its first piece.
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large
    return b"".join(chunks)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, refused with a 422 when too large or malformed."""
    too_large = ApiError(422, "invalid", f"the body is larger than {MAX_JSON_BODY} bytes",
                         {"body": f"must be at most {MAX_JSON_BODY} bytes"})
    raw = await read_body(request, MAX_JSON_BODY, too_large)
    try:
        return json.loads(raw, parse_constant=_no_constants, parse_int=_integer)
    except RecursionError:
        raise ApiError(422, "invalid", "the body is nested too deeply",
                       {"body": "must not nest arrays and objects so deeply"}) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(422, "invalid", f"the body is not valid JSON: {error}",
                       {"body": "must be valid JSON"}) from None


def principal_of(request: web.Request) -> Principal:
    """Who is asking, as the guard found out; 401 when nobody signed in."""
    principal = request.get(PRINCIPAL)
    if principal is None:
        raise Unauthenticated("sign in, or send 'Authorization: Bearer <token>'")
    return principal


def managed_organisation(request: web.Request) -> tuple[Principal, str]:
    """The caller and the organisation in the path, which the caller must administer
    (another organisation answers 404, as if it did not exist)."""
    principal = principal_of(request)
    organisation_id = request.match_info["id"]
    principal.require_member(organisation_id)
    principal.require_org_admin(organisation_id)
    return principal, organisation_id


def rate_limit(request: web.Request, name: str, key: str | None = None) -> None:
    """Spend one of this address's requests to a public endpoint (counted under `key`
    when given); 429 when none are left."""
    wait = request.app[LIMITS][name].take(key or request.remote or "", request.app[CLOCK]())
    if wait:
        raise Throttled(wait, "too many requests from this address; try again later")


def created(data: dict[str, Any]) -> web.Response:
    return web.json_response(data, status=201)
