"""Residents' pages: subscribe, manage, unsubscribe, and the public alerts page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.access import PUBLIC, Rule, allow
from hub.auth import secret_key
from hub.cap_alerts import Texts, accepted_languages, texts
from hub.http import CLOCK, SESSIONS, ApiError, rate_limit
from hub.models import Alert, AlertStatus, MsgType
from hub.pages.render import failed, render
from hub.signup import browser_language, confirm, sign_up
from hub.throttle import Throttled
from hub.tlp import Tlp
from partners.models import Subscription
from partners.residents import (
    PLACE_FIELDS,
    by_secret,
    by_unsubscribe_token,
    cancel,
    form_body,
    move,
    read_place,
)
from partners.validation import MAX_LANGUAGE_TAG, InvalidInput

routes = web.RouteTableDef()
RADII = (250, 500, 1000, 2000, 5000, 10_000)
DEFAULT_RADIUS_M = 1000
SIGN_UP_FIELDS = ("email", *PLACE_FIELDS, "language")
PAGE = {"scripts": ["residents.js"], "maps": True}


def radius_label(metres: int) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres} m"


def radius_options(current: int | None = None) -> list[tuple[int, str]]:
    """The radius choices; an existing subscription's own radius stays on the list."""
    values = sorted(set(RADII) | ({current} if current else set()))
    return [(value, radius_label(value)) for value in values]


def form_values(form: Mapping[str, object], names: Sequence[str]) -> dict[str, str]:
    """What the resident typed, to fill the form in again after an error."""
    return {name: str(form.get(name, ""))[:320] for name in names}


def private(response: web.Response) -> web.Response:
    """Pages opened by a secret link are never cached along the way."""
    response.headers["Cache-Control"] = "no-store"
    return response


def missing(request: web.Request, what: str) -> web.Response:
    return private(render(request, "residents/missing", 404, what=what))


def subscribe_form(request: web.Request, status: int = 200, values: dict[str, str] | None = None,
                   fields: dict[str, str] | None = None, error: str | None = None
                   ) -> web.Response:
    values = values or {"email": "", "lat": "", "lon": "", "radius_m": str(DEFAULT_RADIUS_M),
                        "language": browser_language(request) or ""}
    return render(request, "residents/subscribe_page", status, values=values,
                  fields=fields or {}, error=error, radii=radius_options(), **PAGE)


@routes.get("/subscribe")
@allow(PUBLIC)
async def subscribe_page(request: web.Request) -> web.Response:
    return subscribe_form(request)


@routes.post("/subscribe")
@allow(PUBLIC)
async def subscribe_submit(request: web.Request) -> web.Response:
    form = await request.post()
    values = form_values(form, SIGN_UP_FIELDS)
    try:
        row = await sign_up(request, form_body(form, SIGN_UP_FIELDS))
    except Throttled as error:
        return failed(request, "residents/subscribe_page", error, values=values, fields={},
                      radii=radius_options(), **PAGE)
    except InvalidInput as error:
        return subscribe_form(request, 422, values, error.fields,
                              "Please correct the fields marked below.")
    except ApiError as error:
        return subscribe_form(request, error.status, values, error=(
            "Sorry, this service cannot send email right now, so it cannot take new "
            "subscriptions. Nothing was saved; please try again later."))
    return render(request, "residents/subscribe_submit", email=row.email)


@routes.get("/subscribe/confirm/{token}")
@allow(PUBLIC)
async def subscription_confirm_page(request: web.Request) -> web.Response:
    # A button, not a confirmation on GET: mail scanners follow links without asking.
    return private(render(request, "subscription", token=request.match_info["token"],
                          subscription=None))


@routes.post("/subscribe/confirm/{token}")
@allow(PUBLIC)
async def subscription_confirm_submit(request: web.Request) -> web.Response:
    rate_limit(request, "signup")
    token = request.match_info["token"]
    async with request.app[SESSIONS]() as session:
        try:
            row = await confirm(session, token, request.app[CLOCK]())
        except InvalidInput as error:
            return private(render(request, "subscription", 404, token=token,
                                  subscription=None, error=error.fields["token"]))
    return private(render(request, "subscription", token=token, subscription=row,
                          radius=radius_label(row.radius_m)))


def manage_form(request: web.Request, row: Subscription, status: int = 200,
                values: dict[str, str] | None = None, fields: dict[str, str] | None = None,
                error: str | None = None, notice: str | None = None) -> web.Response:
    values = values or {"lat": f"{row.lat:.5f}", "lon": f"{row.lon:.5f}",
                        "radius_m": str(row.radius_m)}
    return private(render(request, "residents/manage_page", status, subscription=row,
                          token=request.match_info["token"], values=values,
                          fields=fields or {}, error=error, notice=notice,
                          radius=radius_label(row.radius_m),
                          radii=radius_options(row.radius_m), **PAGE))


@routes.get("/subscribe/manage/{token}")
@allow(PUBLIC)
async def manage_page(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        row = await by_secret(session, request.match_info["token"])
    if row is None:
        return missing(request, "subscription link")
    return manage_form(request, row)


@routes.post("/subscribe/manage/{token}")
@allow(PUBLIC)
async def manage_submit(request: web.Request) -> web.Response:
    form = await request.post()
    action, now = form.get("action"), request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        row = await by_secret(session, request.match_info["token"])
        if row is None:
            return missing(request, "subscription link")
        if action == "cancel":
            await unsubscribe(session, row, now, "manage_page")
            return private(render(request, "residents/unsubscribed"))
        if action != "update":
            return manage_form(request, row, 422, error="Choose to change the area or to cancel.")
        try:
            place = read_place(form_body(form, PLACE_FIELDS))
        except InvalidInput as error:
            return manage_form(request, row, 422, form_values(form, PLACE_FIELDS), error.fields,
                               "Please correct the fields marked below. Nothing was changed.")
        move(row, place)
        session.add(row)
        await audit.record(session, f"resident:{row.id}", "subscription.update", row.id,
                           {"radius_m": row.radius_m})
        await session.commit()
    return manage_form(request, row, notice="Saved: alerts now cover the area shown.")


async def unsubscribe(session: AsyncSession, row: Subscription, now: datetime,
                      via: str) -> None:
    """Cancel on the record (the first time only) and commit."""
    if cancel(row, now):
        session.add(row)
        await audit.record(session, f"resident:{row.id}", "subscription.cancel", row.id,
                           {"via": via})
        await session.commit()


@routes.get("/unsubscribe/{token}")
@allow(PUBLIC)
async def unsubscribe_page(request: web.Request) -> web.Response:
    # GET never unsubscribes: mail scanners open every link in a message.
    async with request.app[SESSIONS]() as session:
        row = await by_unsubscribe_token(session, request.match_info["token"],
                                         secret_key(request))
    if row is None:
        return missing(request, "unsubscribe link")
    return private(render(request, "residents/unsubscribe_page", subscription=row,
                          token=request.match_info["token"]))


@routes.post("/unsubscribe/{token}")
@allow(Rule(public=True, csrf=False))
async def unsubscribe_submit(request: web.Request) -> web.Response:
    # RFC 8058 one-click: a mail service POSTs `List-Unsubscribe=One-Click` with no cookies,
    # Origin or CSRF token; the MAC in the link is the authority, and it opens nothing else.
    async with request.app[SESSIONS]() as session:
        row = await by_unsubscribe_token(session, request.match_info["token"],
                                         secret_key(request))
        if row is None:
            return missing(request, "unsubscribe link")
        await unsubscribe(session, row, request.app[CLOCK](), "unsubscribe_link")
    return private(render(request, "residents/unsubscribed"))


def public_alerts_query(now: datetime) -> Any:
    """Alerts anyone may read now: the newest message of each published TLP:CLEAR chain,
    unless that message cancels it or has expired."""
    chain = func.coalesce(col(Alert.references_id), col(Alert.id))
    newest = (select(func.max(col(Alert.seq))).where(col(Alert.status) == AlertStatus.PUBLISHED)
              .group_by(chain))
    return (select(Alert).where(
        col(Alert.seq).in_(newest), col(Alert.tlp) == Tlp.CLEAR,
        col(Alert.msg_type) != MsgType.CANCEL,
        or_(col(Alert.expires).is_(None), col(Alert.expires) > now))
        .order_by(col(Alert.seq).desc()))


async def earlier_ids(session: AsyncSession, alerts: Sequence[Alert]) -> dict[str, list[str]]:
    """The ids of the earlier messages of each shown alert's chain, so links to them land."""
    roots = {alert.references_id or alert.id: alert.id for alert in alerts}
    chain = func.coalesce(col(Alert.references_id), col(Alert.id))
    rows = (await session.exec(select(Alert.id, chain).where(chain.in_(list(roots))))).all()
    earlier: dict[str, list[str]] = {alert.id: [] for alert in alerts}
    for alert_id, root in rows:
        if alert_id != roots[root]:
            earlier[roots[root]].append(alert_id)
    return earlier


def languages_of(alert: Alert) -> list[str]:
    """The languages an alert is written in, its first language first."""
    infos = (alert.cap or {}).get("infos") or []
    tags = [alert.language] + [str(info.get("language") or "") for info in infos[1:]]
    return [tag for i, tag in enumerate(tags) if tag and tag not in tags[:i]]


def wanted_languages(request: web.Request) -> list[str]:
    """The viewer's languages: one picked on the page (?lang=), then Accept-Language."""
    picked = request.query.get("lang", "")[:MAX_LANGUAGE_TAG]
    return ([picked] if picked else []) + accepted_languages(
        request.headers.get("Accept-Language"))


@routes.get("/public")
@allow(PUBLIC)
async def public_page(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        alerts = (await session.exec(public_alerts_query(request.app[CLOCK]()))).all()
        earlier = await earlier_ids(session, alerts)
    wanted = wanted_languages(request)
    words: dict[str, Texts] = {alert.id: texts(alert, wanted) for alert in alerts}
    others = {alert.id: [tag for tag in languages_of(alert) if tag != words[alert.id].language]
              for alert in alerts}
    return render(request, "residents/public_page", alerts=alerts, earlier=earlier,
                  words=words, others=others, scripts=["residents.js"], maps=bool(alerts))
