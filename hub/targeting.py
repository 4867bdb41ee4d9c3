"""Targeting: which organisations, contacts and channels an area and a TLP label reach."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

import numpy as np
import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.registry import Registry
from hub.geo import Area
from hub.tlp import Tlp
from partners.models import Contact, Organisation, Site, Subscription, SubscriptionStatus, Tier

FEED = "feed"
_CONTACTS: sa.Table = Contact.__table__  # type: ignore[attr-defined]



@dataclass(frozen=True)
class Recipient:
    """One delivery to write: an organisation's desk, one contact on one channel, or a
    resident's email."""

    organisation_id: str | None  # None for a resident
    contact_id: str | None
    channel: str
    recipient: str  # shown to the publisher; addresses are masked
    subscription_id: str | None = None  # a resident's subscription

    def idempotency_key(self, alert_id: str) -> str:
        raw = f"{alert_id}|{self.channel}|{self.organisation_id or ''}|{self.contact_id or ''}"
        if self.subscription_id:
            raw += f"|resident:{self.subscription_id}"
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class Reach:
    organisations: list[str] = field(default_factory=list)
    contacts: set[str] = field(default_factory=set)
    residents: int = 0
    recipients: list[Recipient] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"organisations": len(self.organisations), "contacts": len(self.contacts),
                "residents": self.residents}


async def sites_in(session: AsyncSession, area: Area) -> list[tuple[str, str]]:
    """(organisation id, organisation name) of each site inside the area, matched in one
    vector pass over every site."""
    rows = (await session.exec(
        select(Site.organisation_id, Site.lat, Site.lon, Organisation.name)
        .join(Organisation, col(Organisation.id) == col(Site.organisation_id)))).all()
    if not rows:
        return []
    lats = np.fromiter((row[1] for row in rows), dtype=float, count=len(rows))
    lons = np.fromiter((row[2] for row in rows), dtype=float, count=len(rows))
    inside = area.contains(lats, lons)
    return [(row[0], row[3]) for row, hit in zip(rows, inside, strict=True) if hit]


async def organisations_in(session: AsyncSession, area: Area) -> dict[str, str]:
    """The names of the organisations with at least one site inside the area, by id in id
    order."""
    return dict(sorted(await sites_in(session, area)))


async def plan(session: AsyncSession, area: Area, tlp: Tlp, channels: Registry) -> Reach:
    """Every delivery an alert with this area and label must make at publish time.

    Primary-tier contacts are alerted at once; the secondary tier is the escalation list.
    TLP:RED reaches named people only: each primary contact with an address on an
    individual channel (an inbox), on those channels and on the live feed of that contact's
    own credentials; never an organisation's shared desk, a chat room, or a contact known
    only by a room's address. Residents hear only TLP:CLEAR alerts, on the residents'
    channel, when their circle touches the area. Deliveries are written on the channels
    the hub's settings turn on.
    """
    names = await organisations_in(session, area)
    reach = Reach(organisations=list(names))
    resident_channel = channels.residents()
    if tlp is Tlp.CLEAR and resident_channel is not None:
        residents = await residents_near(session, area, resident_channel.name,
                                         resident_channel.recipient)
        reach.residents = len(residents)
        reach.recipients += residents
    if not reach.organisations:
        return reach
    if not tlp.individuals_only:
        reach.recipients += [Recipient(org, None, FEED, f"{names[org]} (live feed desk)")
                             for org in reach.organisations]
    reach.recipients += await tier_recipients(session, reach.organisations, tlp, channels,
                                              Tier.PRIMARY)
    reach.contacts = {r.contact_id for r in reach.recipients if r.contact_id}
    return reach


async def residents_near(session: AsyncSession, area: Area, channel: str,
                         shown: Callable[[str, str], str]) -> list[Recipient]:
    """A message on `channel` to each active subscription whose circle the area touches,
    in one pass."""
    rows = (await session.exec(
        select(Subscription).where(Subscription.status == SubscriptionStatus.ACTIVE)
        .order_by(col(Subscription.id)))).all()
    if not rows:
        return []
    lats = np.fromiter((row.lat for row in rows), dtype=float, count=len(rows))
    lons = np.fromiter((row.lon for row in rows), dtype=float, count=len(rows))
    radii = np.fromiter((row.radius_m for row in rows), dtype=float, count=len(rows))
    near = area.reaches(lats, lons, radii)
    return [Recipient(None, None, channel, shown("resident", row.email), row.id)
            for row, hit in zip(rows, near, strict=True) if hit]


async def tier_recipients(session: AsyncSession, organisations: list[str], tlp: Tlp,
                          channels: Registry, tier: Tier) -> list[Recipient]:
    """Every contact delivery of one tier of these organisations, under the TLP rules."""
    table = _CONTACTS
    # Columns, not Contact objects: a publish to thousands of contacts reads thousands.
    contacts = (await (await session.connection()).execute(
        sa.select(table.c.id, table.c.organisation_id, table.c.name, table.c.addresses)
        .where(table.c.organisation_id.in_(organisations), table.c.tier == tier.value)
        .order_by(table.c.organisation_id, table.c.name))).all()
    return [r for contact in contacts
            for r in _contact_recipients(cast(_Reachable, contact), tlp, channels)]


class _Reachable(Protocol):
    """What a contact's deliveries are made from (a Contact, or a row of its columns)."""

    @property
    def id(self) -> str: ...
    @property
    def organisation_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def addresses(self) -> dict[str, str]: ...


def _contact_recipients(contact: _Reachable, tlp: Tlp, channels: Registry) -> list[Recipient]:
    org, addresses = contact.organisation_id, contact.addresses or {}
    out: list[Recipient] = []
    if tlp.individuals_only:
        if not any(plugin.individual for name, plugin in channels.by_field.items()
                   if addresses.get(name)):
            return out  # a contact known only by a room's address is not a named person
        out.append(Recipient(org, contact.id, FEED, f"{contact.name} (live feed)"))
    for plugin in channels:
        address = addresses.get(plugin.contact_field)
        if address and (plugin.individual or not tlp.individuals_only):
            out.append(Recipient(org, contact.id, plugin.name,
                                 plugin.recipient(contact.name, address)))
    return out
