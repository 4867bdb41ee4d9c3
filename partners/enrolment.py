"""Enrolment: validate and store organisations with their sites, and their contacts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.base import TargetError
from channels.registry import Registry
from partners.models import Contact, Organisation, OrgKind, Role, Site, Tier
from partners.validation import MAX_LAT, MAX_LON, Checker, Conflicting, InvalidInput

MAX_SITES = 1000
# Publishing and approving alerts is police work: only a police service's tokens and people
# hold these roles, so no partner can send what reads as a police alert.
POLICE_ROLES = frozenset({Role.PUBLISHER, Role.APPROVER})
# An organisation's own admin may equip its staff and systems, never make them publishers.
ORG_ADMIN_MAY_ISSUE = frozenset({Role.PARTNER, Role.ADMIN})


def roles_for(organisation: Organisation) -> list[Role]:
    """The roles a token or a person of this organisation may hold."""
    return [role for role in Role if role is not Role.RESIDENT
            and (role not in POLICE_ROLES or organisation.kind == OrgKind.POLICE)]


def check_role_fits(role: Role, organisation: Organisation) -> None:
    """Refuse (422 naming `role`) a police role for an organisation that is no police."""
    if role not in roles_for(organisation):
        raise InvalidInput({"role": f"{role.value} is a police role; {organisation.name} "
                                    f"is a {organisation.kind} organisation"})


@dataclass(frozen=True)
class SiteDraft:
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class OrganisationDraft:
    name: str
    kind: OrgKind
    sites: list[SiteDraft]


def read_organisation(body: object) -> OrganisationDraft:
    """Check a `POST /organisations` body; raise InvalidInput naming every bad field."""
    check = Checker(body)
    check.only({"name", "kind", "sites"})
    name = check.text("name")
    kind = check.choice("kind", OrgKind)
    sites: list[SiteDraft] = []
    raw_sites = check.body.get("sites", [])
    if not isinstance(raw_sites, list):
        check.fail("sites", "must be a list of {name, lat, lon}")
    elif len(raw_sites) > MAX_SITES:
        check.fail("sites", f"must have at most {MAX_SITES} sites")
    else:
        for index, raw in enumerate(raw_sites):
            try:
                site = Checker(raw, f"sites[{index}]")
            except InvalidInput as error:
                check.errors.update(error.fields)
                continue
            draft = _site(site)
            check.errors.update(site.errors)
            if draft is not None:
                sites.append(draft)
    check.done()
    assert name is not None and kind is not None
    return OrganisationDraft(name, kind, sites)


def _site(check: Checker) -> SiteDraft | None:
    check.only({"name", "lat", "lon"})
    name = check.text("name")
    lat = check.number("lat", low=-MAX_LAT, high=MAX_LAT)
    lon = check.number("lon", low=-MAX_LON, high=MAX_LON)
    if name and lat is not None and lon is not None and not check.errors:
        return SiteDraft(name, lat, lon)
    return None


def read_site(body: object) -> SiteDraft:
    """Check one `{name, lat, lon}` site body; raise InvalidInput naming every bad field."""
    check = Checker(body)
    draft = _site(check)
    check.done()
    assert draft is not None
    return draft


async def create_organisation(session: AsyncSession, draft: OrganisationDraft) -> Organisation:
    """Add the organisation and its sites to the session (the caller commits)."""
    taken = await session.exec(select(Organisation.id).where(Organisation.name == draft.name))
    if taken.first() is not None:
        raise Conflicting({"name": "an organisation with this name is already enrolled"})
    organisation = Organisation(name=draft.name, kind=draft.kind)
    session.add(organisation)
    try:
        await session.flush()
    except IntegrityError:
        # Another request enrolled the same name between our check and our insert.
        await session.rollback()
        raise Conflicting({"name": "an organisation with this name is already enrolled"}) from None
    for site in draft.sites:
        session.add(Site(organisation_id=organisation.id, name=site.name, lat=site.lat,
                         lon=site.lon))
    return organisation


def read_contact(body: object, organisation_id: str, channels: Registry,
                 nullable: tuple[str, ...] = ("language",)) -> Contact:
    """Check a contact body; each address is checked by the channel that will use it, and
    the contact needs at least one (any channel the hub knows, on or not)."""
    check = Checker(body, nullable=nullable)
    fields = channels.contact_fields
    check.only({"name", "tier", "language", *fields})
    name = check.text("name")
    addresses: dict[str, str] = {}
    for plugin in channels.by_field.values():
        value = check.text(plugin.contact_field, required=False, max_len=plugin.max_length)
        if not value:
            continue
        try:
            plugin.check(value)
        except TargetError as error:
            check.fail(plugin.contact_field, str(error))
        addresses[plugin.contact_field] = value
    tier = check.choice("tier", Tier, required=False, default=Tier.PRIMARY)
    language = check.language("language")
    if fields and not addresses and not any(field in check.errors for field in fields):
        check.fail(fields[0], f"a contact needs {one_of(fields)}")
    check.done()
    assert name is not None and tier is not None
    return Contact(organisation_id=organisation_id, name=name, addresses=addresses, tier=tier,
                   language=language)


def read_contact_change(body: object, contact: Contact, channels: Registry) -> Contact:
    """Check a partial contact body against the contact it changes, exactly as a new contact
    is checked; returns the contact as it would be (a new, unsaved object).

    A field sent as null or "" is cleared (a contact must keep one address)."""
    if not isinstance(body, dict):
        raise InvalidInput({"body": "must be a JSON object"})
    now = {"name": contact.name, "tier": contact.tier, "language": contact.language,
           **contact.addresses}
    merged = {key: value for key, value in now.items() if value is not None}
    merged.update(body)
    fields = channels.contact_fields
    if not any(merged.get(field) for field in fields):
        raise Conflicting({fields[0]: f"a contact must keep {one_of(fields)}"})
    return read_contact(merged, contact.organisation_id, channels,
                        nullable=(*fields, "language"))


def one_of(fields: tuple[str, ...]) -> str:
    """`an email or a chat_url`, for the fields the channels declare."""
    named = [f"a{'n' if field[0] in 'aeiou' else ''} {field}" for field in fields]
    return " or ".join(named) if len(named) < 3 else ", ".join(named[:-1]) + " or " + named[-1]


async def sites_of(session: AsyncSession, organisation_id: str) -> list[Site]:
    result = await session.exec(select(Site).where(Site.organisation_id == organisation_id))
    return list(result.all())
