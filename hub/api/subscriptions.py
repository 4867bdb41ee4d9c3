"""Residents over the API: sign up for an area, confirm by the emailed link, see or cancel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub import audit
from hub.access import PUBLIC, allow, roles
from hub.http import (
    CLOCK,
    SESSIONS,
    principal_of,
    rate_limit,
    read_json,
)
from hub.signup import confirm, sign_up
from partners.accounts import MAX_SECRET
from partners.models import Role, Subscription, SubscriptionStatus
from partners.validation import Checker

routes = web.RouteTableDef()


def subscription_json(row: Subscription) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "lat": row.lat, "lon": row.lon,
            "radius_m": row.radius_m, "status": row.status}


@routes.post("/api/v1/subscriptions")
@allow(PUBLIC)
async def subscription_create(request: web.Request) -> web.Response:
    row = await sign_up(request, await read_json(request))
    return web.json_response({"status": row.status,
                              "detail": f"a confirmation link was sent to {row.email}"},
                             status=202)


@routes.post("/api/v1/subscriptions/confirm")
@allow(PUBLIC)
async def subscription_confirm(request: web.Request) -> web.Response:
    rate_limit(request, "signup")
    check = Checker(await read_json(request))
    check.only({"token"})
    token = check.text("token", max_len=MAX_SECRET)
    check.done()
    assert token is not None
    now = request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        row = await confirm(session, token, now)
    return web.json_response(subscription_json(row))


def _own_id(request: web.Request) -> str:
    return principal_of(request).actor.removeprefix("resident:")


@routes.get("/api/v1/subscription")
@allow(roles(Role.RESIDENT))
async def subscription_show(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        row = await session.get(Subscription, _own_id(request))
    assert row is not None  # the guard resolved this very subscription
    return web.json_response(subscription_json(row))


@routes.delete("/api/v1/subscription")
@allow(roles(Role.RESIDENT))
async def subscription_cancel(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        row = await session.get(Subscription, _own_id(request))
        assert row is not None
        row.status, row.cancelled_at = SubscriptionStatus.CANCELLED, request.app[CLOCK]()
        session.add(row)
        await audit.record(session, f"resident:{row.id}", "subscription.cancel", row.id)
        await session.commit()
    return web.json_response(subscription_json(row))
