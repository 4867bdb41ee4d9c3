"""Residents signing up: a pending subscription and its emailed link, and confirming it;
the same for the API and the subscription pages."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.cap_alerts import accepted_languages
from hub.http import CLOCK, NOTICES, SESSIONS, ApiError, rate_limit
from partners.models import Subscription
from partners.residents import activate, read_subscription, subscribe
from partners.validation import LANGUAGE_TAG, MAX_LANGUAGE_TAG


async def sign_up(request: web.Request, body: object) -> Subscription:
    """Store a pending subscription on the record and email its confirmation link: only the
    link proves the address is the subscriber's (double opt-in). With no
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
                 if len(tag) <= MAX_LANGUAGE_TAG and LANGUAGE_TAG.match(tag)), None)


async def confirm(session: AsyncSession, secret: str, now: datetime) -> Subscription:
    """Activate the subscription of an emailed link, once, on the record (API and page)."""
    row, newly = await activate(session, secret, now)
    if newly:
        await audit.record(session, f"resident:{row.id}", "subscription.confirm", row.id)
        await session.commit()
    return row
