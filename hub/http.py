"""HTTP conventions: typed app state, JSON bodies and answers, errors as JSON, who is asking."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeAlias

from aiohttp import web

from hub.access import (
    Conflict,
    Forbidden,
    NotFound,
    Principal,
    Unauthenticated,
    authenticate,
    bearer,
)
from hub.bus import LocalBus
from hub.db import Sessions
from hub.feed import FeedHub
from hub.settings import Settings
from partners.validation import InvalidInput

log = logging.getLogger(__name__)

Clock: TypeAlias = Callable[[], datetime]  # the current UTC time; tests pass a fake one

SETTINGS = web.AppKey("settings", Settings)
SESSIONS = web.AppKey("sessions", Sessions)
BUS = web.AppKey("bus", LocalBus)
FEED = web.AppKey("feed", FeedHub)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")

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


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes `{"error", "detail", "fields"}` with the right 4xx status."""
    try:
        return await handler(request)
    except InvalidInput as error:
        return error_response(422, "invalid", error.detail, error.fields)
    except Unauthenticated as error:
        return error_response(401, "unauthenticated", str(error))
    except Forbidden as error:
        return error_response(403, "forbidden", str(error))
    except NotFound as error:
        return error_response(404, "not_found", str(error))
    except Conflict as error:
        return error_response(409, error.code, str(error))
    except ApiError as error:
        return error_response(error.status, error.error, error.detail, error.fields)
    except web.HTTPException as error:
        if error.status < 400 or not request.path.startswith("/api/"):
            raise
        code = error.reason.lower().replace(" ", "_")
        return error_response(error.status, code, error.text or error.reason)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, refused with a 422 when too large or malformed."""
    too_large = ApiError(422, "invalid", f"the body is larger than {MAX_JSON_BODY} bytes",
                         {"body": f"must be at most {MAX_JSON_BODY} bytes"})
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise too_large
    raw = await request.content.read(MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise too_large
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(422, "invalid", f"the body is not valid JSON: {error}",
                       {"body": "must be valid JSON"}) from None


async def principal_of(request: web.Request) -> Principal:
    """Who is asking, from the `Authorization: Bearer` header; 401 without a valid one."""
    secret = bearer(request.headers.get("Authorization"))
    if secret is None:
        raise Unauthenticated("send 'Authorization: Bearer <token>'")
    async with request.app[SESSIONS]() as session:
        return await authenticate(session, secret)


def created(data: dict[str, Any]) -> web.Response:
    return web.json_response(data, status=201)
