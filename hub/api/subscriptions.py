"""Residents over the API: sign up for an area, confirm by the emailed link, see or cancel."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.cap_alerts import accepted_languages
from hub.http import (
    CLOCK,
    NOTICES,
    SESSIONS,
    ApiError,
    principal_of,
    rate_limit,
    read_json,
)
from partners.models import Subscription, SubscriptionStatus
from partners.residents import activate, read_subscription, subscribe
from partners.validation import LANGUAGE_TAG, Checker

routes = web.RouteTableDef()


def subscription_json(row: Subscription) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "lat": row.lat, "lon": row.lon,
            "radius_m": row.radius_m, "status": row.status}


@routes.post("/api/v1/subscriptions")
async def subscription_create(request: web.Request) -> web.Response:
    row = await sign_up(request, await read_json(request))
    return web.json_response({"status": row.status,
                              "detail": f"a confirmation link was sent to {row.email}"},
                             status=202)


async def sign_up(request: web.Request, body: object) -> Subscription:
    """Store a pending subscription on the record and email its confirmation link: only the
    link proves the address is the subscriber's (double opt-in). Shared with the API. With no
    language given, the browser's first (Accept-Language) is kept."""
    rate_limit(request, "signup")
    draft = read_subscription(body)
    if draft.language is None:
        draft = replace(draft, language=browser_language(request))
    notices = request.app[NOTICES]
    if notices.channel is None:
        raise ApiError(409, "email_off", "this hub has no email server, so residents cannot "
                       "subscribe yet; ask its operator")
    async with request.app[SESSIONS]() as session:
        row, secret = await subscribe(session, draft, request.app[CLOCK]())
        await session.flush()
        await audit.record(session, f"address:{request.remote or '?'}", "subscription.create",
                           row.id, {"radius_m": row.radius_m})
        await session.commit()
    notices.confirm_subscription(row, secret)
    return row


def browser_language(request: web.Request) -> str | None:
    """The first well-formed tag of the request's Accept-Language: the language a resident
    who names none reads."""
    return next((tag for tag in accepted_languages(request.headers.get("Accept-Language"))
                 if len(tag) <= 35 and LANGUAGE_TAG.match(tag)), None)


@routes.post("/api/v1/subscriptions/confirm")
async def subscription_confirm(request: web.Request) -> web.Response:
    rate_limit(request, "signup")
    check = Checker(await read_json(request))
    check.only({"token"})
    token = check.text("token", max_len=100)
    check.done()
    assert token is not None
    now = request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        row = await confirm(session, token, now)
    return web.json_response(subscription_json(row))


async def confirm(session: AsyncSession, secret: str, now: datetime) -> Subscription:
    """Activate the subscription of an emailed link, once, on the record (API and page)."""
    row, newly = await activate(session, secret, now)
    if newly:
        await audit.record(session, f"resident:{row.id}", "subscription.confirm", row.id)
        await session.commit()
    return row


def _own_id(request: web.Request) -> str:
    return principal_of(request).actor.removeprefix("resident:")


@routes.get("/api/v1/subscription")
async def subscription_show(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        row = await session.get(Subscription, _own_id(request))
    assert row is not None  # the guard resolved this very subscription
    return web.json_response(subscription_json(row))


@routes.delete("/api/v1/subscription")
async def subscription_cancel(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        row = await session.get(Subscription, _own_id(request))
        assert row is not None
        row.status, row.cancelled_at = SubscriptionStatus.CANCELLED, request.app[CLOCK]()
        session.add(row)
        await audit.record(session, f"resident:{row.id}", "subscription.cancel", row.id)
        await session.commit()
    return web.json_response(subscription_json(row))
