"""Resident subscriptions: a point, a radius and an email address, confirmed by a link."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from partners.accounts import read_email, secret_hash
from partners.models import Subscription, SubscriptionStatus
from partners.validation import MAX_LAT, MAX_LON, Checker, NotKnown

TOKEN_PREFIX = "vgs_"
UNSUBSCRIBE_PREFIX = "u_"
MIN_RADIUS_M, MAX_RADIUS_M = 100, 10_000
PLACE_FIELDS = ("lat", "lon", "radius_m")
TEXT_FIELDS = ("email", "language")  # form fields kept as text; the others are numbers
CONFIRM_WITHIN = timedelta(days=2)


@dataclass(frozen=True)
class SubscriptionDraft:
    email: str
    lat: float
    lon: float
    radius_m: int
    language: str | None = None  # the tag of the language the resident reads


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    radius_m: int


def read_subscription(body: object) -> SubscriptionDraft:
    check = Checker(body)
    check.only({"email", "language", *PLACE_FIELDS})
    email = read_email(check)
    place = _place(check)
    language = check.language("language")
    check.done()
    assert email and place is not None
    return SubscriptionDraft(email, place.lat, place.lon, place.radius_m, language)


def read_place(body: object) -> Place:
    """A new point and radius for an existing subscription."""
    check = Checker(body)
    check.only(PLACE_FIELDS)
    place = _place(check)
    check.done()
    assert place is not None
    return place


def _place(check: Checker) -> Place | None:
    lat = check.number("lat", low=-MAX_LAT, high=MAX_LAT)
    lon = check.number("lon", low=-MAX_LON, high=MAX_LON)
    radius = check.integer("radius_m", low=MIN_RADIUS_M, high=MAX_RADIUS_M, required=True)
    if lat is None or lon is None or radius is None:
        return None
    return Place(lat, lon, radius)


def form_body(form: Mapping[str, object], names: tuple[str, ...]) -> dict[str, object]:
    """The named fields of a page form, numbers parsed; what does not parse stays text, so
    the checker names that field. Blank fields are left out (and so reported missing)."""
    body: dict[str, object] = {}
    for name in names:
        raw = form.get(name)
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            continue
        body[name] = text if name in TEXT_FIELDS else _parsed(text, int if name == "radius_m"
                                                              else float)
    return body


def _parsed(text: str, kind: type[int] | type[float]) -> object:
    try:
        return kind(text)
    except ValueError:
        return text


def move(row: Subscription, place: Place) -> None:
    """Give a subscription a new point and radius (the caller commits)."""
    row.lat, row.lon, row.radius_m = place.lat, place.lon, place.radius_m


async def subscribe(session: AsyncSession, draft: SubscriptionDraft,
                    now: datetime) -> tuple[Subscription, str]:
    """A pending subscription (the caller commits) and the secret of its links."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Subscription(email=draft.email, lat=draft.lat, lon=draft.lon,
                       radius_m=draft.radius_m, language=draft.language,
                       token_hash=secret_hash(secret), created_at=now)
    session.add(row)
    return row, secret


async def by_secret(session: AsyncSession, secret: str) -> Subscription | None:
    """The subscription a link's secret opens, unless it was cancelled."""
    result = await session.exec(select(Subscription).where(
        Subscription.token_hash == secret_hash(secret)))
    row = result.first()
    if row is None or row.status == SubscriptionStatus.CANCELLED:
        return None
    return row


def confirmable(row: Subscription, now: datetime) -> bool:
    """A pending subscription must be confirmed soon, or its link stops working."""
    return row.status == SubscriptionStatus.ACTIVE or now - row.created_at <= CONFIRM_WITHIN


async def activate(session: AsyncSession, secret: str,
                   now: datetime) -> tuple[Subscription, bool]:
    """Confirm the subscription a link opens (the caller commits); True when it was pending."""
    row = await by_secret(session, secret)
    if row is None or not confirmable(row, now):
        raise NotKnown({"token": "this link is not valid any more; subscribe again"})
    if row.status == SubscriptionStatus.ACTIVE:
        return row, False
    row.status, row.confirmed_at = SubscriptionStatus.ACTIVE, now
    session.add(row)
    return row, True


def unsubscribe_token(subscription_id: str, key: str) -> str:
    """The secret of one subscription's unsubscribe link in alert emails.

    The confirmation secret is kept only hashed, so alert emails carry a MAC of the
    subscription id instead; it opens nothing but unsubscribing (RFC 8058).
    """
    mac = hmac.new(key.encode(), f"unsubscribe|{subscription_id}".encode(), hashlib.sha256)
    return f"{UNSUBSCRIBE_PREFIX}{subscription_id}.{mac.hexdigest()[:32]}"


async def by_unsubscribe_token(session: AsyncSession, token: str,
                               key: str) -> Subscription | None:
    """The subscription an unsubscribe link names, if the link is genuine."""
    subscription_id = token.removeprefix(UNSUBSCRIBE_PREFIX).partition(".")[0]
    if not token.startswith(UNSUBSCRIBE_PREFIX) or not hmac.compare_digest(
            token, unsubscribe_token(subscription_id, key)):
        return None
    return await session.get(Subscription, subscription_id)


def cancel(row: Subscription, now: datetime) -> bool:
    """Cancel a subscription (the caller commits); False when it was already cancelled."""
    if row.status == SubscriptionStatus.CANCELLED:
        return False
    row.status, row.cancelled_at = SubscriptionStatus.CANCELLED, now
    return True
