"""The demo data set: downtown Toronto partners, and fresh demo tokens and logins."""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.registry import Registry
from hub import audit, sessions
from hub.db import Sessions
from hub.revocations import revoked
from hub.settings import Settings
from partners.accounts import hash_password, user_by_email
from partners.credentials import issue_token
from partners.enrolment import OrganisationDraft, SiteDraft, create_organisation, read_contact
from partners.models import ApiToken, Contact, Organisation, OrgKind, Role, Tier, User, utcnow

ACTOR = "demo"
TOKEN_LABEL = "demo:"  # every demo token's label starts with this; each run revokes the last
Ring = tuple[tuple[float, float], ...]  # a closed GeoJSON ring: (lon, lat) positions


@dataclass(frozen=True)
class ContactSeed:
    name: str
    email: str
    tier: Tier = Tier.PRIMARY
    chat_hook: str | None = None  # the slug of its chat webhook under the seed's `hooks`


@dataclass(frozen=True)
class OrgSeed:
    name: str
    kind: OrgKind
    sites: tuple[SiteDraft, ...]
    contacts: tuple[ContactSeed, ...]
    boundary: Ring | None = None  # BIAs only: roughly the area the BIA covers

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


# Where the demo's chat contacts post: `vigil demo` passes its own webhook catcher
# (hub.demo_catcher); a seed without one points them at the discard port, so chat
# deliveries fail visibly instead of reaching anyone.
DISCARD_HOOKS = "json://127.0.0.1:9/hooks"
# A chat URL the demo wrote, under any earlier run's base: re-seeding moves it to this one's.
# The demo's contacts are checked as the API checks them, by the built-in channels.
SEED_CHANNELS = Registry.of(Settings())
_DEMO_HOOK = re.compile(r"json://(?:127\.0\.0\.1|localhost):\d+(?:/demo)?/hooks/(?P<slug>[a-z0-9-]+)")


POLICE = OrgSeed(
    "Toronto Police Service", OrgKind.POLICE,
    (SiteDraft("Police Headquarters, 40 College St", 43.6614, -79.3850),),
    (ContactSeed("Dana Whitfield", "dana.whitfield@example.org",
                 chat_hook="toronto-police-service"),
     ContactSeed("Marcus Okafor", "marcus.okafor@example.org"),
     ContactSeed("Priya Raman", "priya.raman@example.org", Tier.SECONDARY)),
)

BIAS: tuple[OrgSeed, ...] = (
    OrgSeed(
        "Downtown Yonge BIA", OrgKind.BIA,
        (SiteDraft("Yonge-Dundas Square", 43.6561, -79.3802),
         SiteDraft("Yonge & Gerrard ambassadors", 43.6586, -79.3816),
         SiteDraft("Church & Dundas", 43.6569, -79.3770)),
        (ContactSeed("Leah Morrison", "leah.morrison@example.org",
                     chat_hook="downtown-yonge-bia"),
         ContactSeed("Tomas Novak", "tomas.novak@example.org", Tier.SECONDARY)),
        # Richmond St to College/Carlton, Bay St to Jarvis St.
        ((-79.3808, 43.6508), (-79.3787, 43.6513), (-79.3716, 43.6529), (-79.3762, 43.6630),
         (-79.3833, 43.6614), (-79.3856, 43.6608), (-79.3808, 43.6508)),
    ),
    OrgSeed(
        "Financial District BIA", OrgKind.BIA,
        (SiteDraft("King & Bay safety ambassadors", 43.6485, -79.3802),
         SiteDraft("Richmond & York patrol base", 43.6506, -79.3835)),
        (ContactSeed("Grace Liu", "grace.liu@example.org"),
         ContactSeed("Omar Haddad", "omar.haddad@example.org"),
         ContactSeed("Nadia Petrov", "nadia.petrov@example.org", Tier.SECONDARY)),
        # Queen St to Front St, University Ave to Yonge St.
        ((-79.3869, 43.6508), (-79.3841, 43.6456), (-79.3771, 43.6470), (-79.3791, 43.6524),
         (-79.3869, 43.6508)),
    ),
    OrgSeed(
        "Bloor-Yorkville BIA", OrgKind.BIA,
        (SiteDraft("Village of Yorkville Park", 43.6708, -79.3914),
         SiteDraft("Bloor & Bay", 43.6703, -79.3895),
         SiteDraft("Yorkville Ave & Hazelton Ave", 43.6713, -79.3930)),
        (ContactSeed("Camille Tremblay", "camille.tremblay@example.org"),
         ContactSeed("Ethan Brooks", "ethan.brooks@example.org", Tier.SECONDARY)),
        # Bloor St from Avenue Rd to Church St, and Yorkville up to Davenport Rd.
        ((-79.3942, 43.6688), (-79.3816, 43.6709), (-79.3820, 43.6722), (-79.3857, 43.6716),
         (-79.3876, 43.6744), (-79.3966, 43.6752), (-79.3942, 43.6688)),
    ),
    OrgSeed(
        "Queen Street West BIA", OrgKind.BIA,
        (SiteDraft("Queen & John", 43.6498, -79.3910),
         SiteDraft("Queen & Spadina", 43.6487, -79.3959),
         SiteDraft("Queen & Portland", 43.6480, -79.3995)),
        (ContactSeed("Sofia Alvarez", "sofia.alvarez@example.org"),
         ContactSeed("Ben Adeyemi", "ben.adeyemi@example.org", Tier.SECONDARY)),
        # Half a block either side of Queen St W, University Ave to Bathurst St.
        ((-79.3867, 43.6502), (-79.3957, 43.6481), (-79.4028, 43.6467), (-79.4033, 43.6479),
         (-79.3962, 43.6493), (-79.3872, 43.6514), (-79.3867, 43.6502)),
    ),
)

DESKS: tuple[OrgSeed, ...] = (
    OrgSeed(
        "Royal Bank Plaza", OrgKind.CORPORATE,
        (SiteDraft("Royal Bank Plaza, 200 Bay St", 43.6465, -79.3801),),
        (ContactSeed("Helen Park", "helen.park@example.com", chat_hook="royal-bank-plaza"),
         ContactSeed("Victor Mendes", "victor.mendes@example.com", Tier.SECONDARY)),
    ),
    OrgSeed(
        "First Canadian Place", OrgKind.CORPORATE,
        (SiteDraft("First Canadian Place, 100 King St W", 43.6487, -79.3817),),
        (ContactSeed("Arjun Mehta", "arjun.mehta@example.com"),
         ContactSeed("Claire Dubois", "claire.dubois@example.com"),
         ContactSeed("Sam Kowalski", "sam.kowalski@example.com", Tier.SECONDARY)),
    ),
    OrgSeed(
        "CF Toronto Eaton Centre", OrgKind.CORPORATE,
        (SiteDraft("Eaton Centre, Dundas St entrance", 43.6557, -79.3811),
         SiteDraft("Eaton Centre, Queen St entrance", 43.6528, -79.3798)),
        (ContactSeed("Jordan Ellis", "jordan.ellis@example.com"),
         ContactSeed("Mei Chen", "mei.chen@example.com", Tier.SECONDARY)),
    ),
    OrgSeed(
        "Scotiabank Arena", OrgKind.VENUE,
        (SiteDraft("Scotiabank Arena, 40 Bay St", 43.6435, -79.3791),
         SiteDraft("Maple Leaf Square", 43.6428, -79.3809)),
        (ContactSeed("Rachel Singh", "rachel.singh@example.com",
                     chat_hook="scotiabank-arena"),
         ContactSeed("Kevin O'Brien", "kevin.obrien@example.com"),
         ContactSeed("Anita Kovacs", "anita.kovacs@example.com", Tier.SECONDARY)),
    ),
    OrgSeed(
        "Rogers Centre", OrgKind.VENUE,
        (SiteDraft("Rogers Centre, 1 Blue Jays Way", 43.6414, -79.3894),),
        (ContactSeed("Luis Ortega", "luis.ortega@example.com"),
         ContactSeed("Hannah Reid", "hannah.reid@example.com", Tier.SECONDARY)),
    ),
    OrgSeed(
        "Union Station", OrgKind.VENUE,
        (SiteDraft("Union Station, 65 Front St W", 43.6453, -79.3806),),
        (ContactSeed("Fatima Noor", "fatima.noor@example.com"),
         ContactSeed("Derek Walsh", "derek.walsh@example.com", Tier.SECONDARY)),
    ),
    OrgSeed(
        "Roy Thomson Hall", OrgKind.VENUE,
        (SiteDraft("Roy Thomson Hall, 60 Simcoe St", 43.6466, -79.3864),),
        (ContactSeed("Isabelle Roy", "isabelle.roy@example.com"),
         ContactSeed("Noah Fischer", "noah.fischer@example.com", Tier.SECONDARY)),
    ),
)

ORGANISATIONS: tuple[OrgSeed, ...] = (POLICE, *BIAS, *DESKS)
PARTNERS: tuple[OrgSeed, ...] = (*BIAS, *DESKS)

# Preset areas for the publisher map: each BIA's boundary as a GeoJSON Polygon.
BIA_BOUNDARIES: dict[str, dict[str, Any]] = {
    bia.name: {"type": "Polygon", "coordinates": [[list(p) for p in bia.boundary]]}
    for bia in BIAS if bia.boundary is not None
}

# About 250 m around King St W & Bay St: Royal Bank Plaza and First Canadian Place are
# inside; Union Station, Roy Thomson Hall, Rogers Centre and Yorkville are not.
SAMPLE_AREA: dict[str, Any] = {"type": "Polygon", "coordinates": [[
    [-79.3842, 43.6480], [-79.3826, 43.6503], [-79.3790, 43.6506], [-79.3770, 43.6484],
    [-79.3782, 43.6459], [-79.3818, 43.6457], [-79.3842, 43.6480],
]]}
# `expires` is left out: a fixed date would go stale; sample_alert(now) adds one.
SAMPLE_ALERT: dict[str, Any] = {
    "headline": "Suspicious package, King St W & Bay St", "event": "Suspicious package",
    "category": "Security", "severity": "Severe", "urgency": "Immediate",
    "certainty": "Observed", "tlp": "TLP:GREEN",
    "description": "Unattended backpack reported at the north lobby doors on Bay St. "
                   "Police are on scene and assessing it.",
    "instruction": "Keep staff away from the north lobby.",
    "area": SAMPLE_AREA, "area_name": "King St W & Bay St", "ack_within_s": 300,
    "language": "en-CA",
}
SAMPLE_LIFETIME_HOURS = 12  # long enough to try the walk-through any time the same day
SAMPLE_DESK = "Royal Bank Plaza"  # the desk the welcome walk-through watches and acks with
# People who sign in to the pages; publishers, approvers and admins set up an authenticator
# the first time.
PEOPLE = (("admin@tps.demo", Role.ADMIN, "Toronto Police Service"),
          ("publisher@tps.demo", Role.PUBLISHER, "Toronto Police Service"),
          ("approver@tps.demo", Role.APPROVER, "Toronto Police Service"),
          ("desk@rbp.demo", Role.PARTNER, SAMPLE_DESK))


def sample_alert(now: datetime) -> dict[str, Any]:
    """A fresh copy of the sample `POST /alerts` body, expiring some hours after `now`."""
    body = copy.deepcopy(SAMPLE_ALERT)
    expires = now.replace(microsecond=0) + timedelta(hours=SAMPLE_LIFETIME_HOURS)
    body["expires"] = expires.isoformat()
    return body


@dataclass(frozen=True)
class DemoToken:
    role: Role
    organisation: str
    token: str


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: Role
    organisation: str
    password: str


@dataclass(frozen=True)
class DemoCredentials:
    """The tokens and passwords one `seed` run issued; their secrets exist nowhere else."""

    rows: tuple[DemoToken, ...]
    seeded_at: datetime
    logins: tuple[DemoLogin, ...] = ()

    def token(self, role: Role, organisation: str = POLICE.name) -> str:
        for row in self.rows:
            if row.role == role and row.organisation == organisation:
                return row.token
        raise KeyError(f"no demo {role.value} token for {organisation}")


async def seed(sessions: Sessions, *, clock: Callable[[], datetime] = utcnow,
               hooks: str = DISCARD_HOOKS) -> DemoCredentials:
    """Enrol the demo organisations once, then replace the demo tokens, in one commit; the
    demo chat contacts post under `hooks` (an apprise URL prefix)."""
    now = clock()
    async with sessions() as session:
        ids = {org.name: await _ensure_organisation(session, org, hooks)
               for org in ORGANISATIONS}
        await _point_hooks(session, list(ids.values()), hooks)
        await _revoke_demo_tokens(session, now)
        rows = [
            await _issue(session, Role.ADMIN, POLICE.name, ids[POLICE.name]),
            await _issue(session, Role.PUBLISHER, POLICE.name, ids[POLICE.name]),
            await _issue(session, Role.APPROVER, POLICE.name, ids[POLICE.name]),
        ]
        rows += [await _issue(session, Role.PARTNER, org.name, ids[org.name])
                 for org in PARTNERS]
        logins = [await _person(session, email, role, org, ids[org], now)
                  for email, role, org in PEOPLE]
        await session.commit()
    return DemoCredentials(tuple(rows), now, tuple(logins))


async def _person(session: AsyncSession, email: str, role: Role, organisation: str,
                  organisation_id: str, now: datetime) -> DemoLogin:
    """A demo person with a new password on every start, signed out everywhere."""
    password = secrets.token_urlsafe(12)
    user = await user_by_email(session, email)
    if user is None:
        user = User(email=email, name=email.split("@")[0].title(), role=role,
                    organisation_id=organisation_id, password_hash="", created_at=now)
        session.add(user)
        await session.flush()
        await audit.record(session, ACTOR, "user.create", user.id, {"role": role})
    user.password_hash = await hash_password(password)
    session.add(user)
    await sessions.end_all(session, user.id, now, "demo restart")
    return DemoLogin(email, role, organisation, password)


async def _ensure_organisation(session: AsyncSession, org: OrgSeed, hooks: str) -> str:
    """The organisation's id; it is enrolled with its sites and contacts only if missing.

    An organisation that already exists is left exactly as it is, so re-running the demo
    never duplicates rows nor undoes what an operator changed through the API.
    """
    found = await session.exec(select(Organisation).where(Organisation.name == org.name))
    existing = found.first()
    if existing is not None:
        if existing.boundary is None and org.name in BIA_BOUNDARIES:
            existing.boundary = BIA_BOUNDARIES[org.name]  # a demo database from before presets
            session.add(existing)
        return existing.id
    organisation = await create_organisation(
        session, OrganisationDraft(org.name, org.kind, list(org.sites)))
    organisation.boundary = BIA_BOUNDARIES.get(org.name)
    await audit.record(session, ACTOR, "organisation.create", organisation.id,
                       {"name": org.name, "kind": org.kind, "sites": len(org.sites)})
    for seed_contact in org.contacts:
        body: dict[str, Any] = {"name": seed_contact.name, "email": seed_contact.email,
                                "tier": seed_contact.tier}
        if seed_contact.chat_hook:
            body["chat_url"] = f"{hooks}/{seed_contact.chat_hook}"
        # The same checks as the API, so demo addresses are ones each channel accepts.
        contact = read_contact(body, organisation.id, SEED_CHANNELS)
        session.add(contact)
        await audit.record(session, ACTOR, "contact.create", contact.id,
                           {"organisation_id": organisation.id, "tier": contact.tier})
    return organisation.id


async def _point_hooks(session: AsyncSession, organisation_ids: list[str], hooks: str) -> None:
    """Move the demo's own chat URLs (an earlier run's port, or the discard port) to `hooks`;
    a chat URL an operator set is left alone."""
    found = await session.exec(select(Contact).where(
        col(Contact.organisation_id).in_(organisation_ids)))
    for contact in found.all():
        chat_url = contact.addresses.get("chat_url", "")
        match = _DEMO_HOOK.fullmatch(chat_url)
        if match and chat_url != (wanted := f"{hooks}/{match['slug']}"):
            contact.addresses = {**contact.addresses, "chat_url": wanted}
            session.add(contact)
            await audit.record(session, ACTOR, "contact.update", contact.id,
                               {"fields": ["chat_url"]})


async def _revoke_demo_tokens(session: AsyncSession, now: datetime) -> None:
    result = await session.exec(select(ApiToken).where(
        col(ApiToken.label).startswith(TOKEN_LABEL), col(ApiToken.revoked_at).is_(None)))
    for row in result.all():
        row.revoked_at = now
        session.add(row)
        await revoked(session)
        await audit.record(session, ACTOR, "token.revoke", row.id, {"label": row.label})


async def _issue(session: AsyncSession, role: Role, organisation: str,
                 organisation_id: str) -> DemoToken:
    label = f"{TOKEN_LABEL}{role.value}:{organisation}"
    row, secret = await issue_token(session, role, organisation_id, label=label)
    await audit.record(session, ACTOR, "token.create", row.id,
                       {"organisation_id": organisation_id, "role": role, "label": label})
    return DemoToken(role, organisation, secret)
