"""Organisations, their sites and contacts: enrolment and administration over the API."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.registry import Registry
from hub import audit, fanout
from hub.access import SIGNED_IN, Principal, Rule, allow, roles
from hub.errors import Conflict, NotFound
from hub.http import PUBLISHING, SESSIONS, created, managed_organisation, principal_of, read_json
from hub.models import Ack, Delivery, Report
from partners.enrolment import (
    MAX_SITES,
    create_organisation,
    read_contact,
    read_contact_change,
    read_organisation,
    read_site,
    sites_of,
)
from partners.models import ApiToken, Contact, Invitation, Organisation, Role, Site, User

routes = web.RouteTableDef()


def site_json(site: Site) -> dict[str, Any]:
    return {"id": site.id, "name": site.name, "lat": site.lat, "lon": site.lon}


def organisation_json(organisation: Organisation, sites: list[Site]) -> dict[str, Any]:
    return {"id": organisation.id, "name": organisation.name, "kind": organisation.kind,
            "sites": [site_json(s) for s in sites]}


def contact_json(contact: Contact, channels: Registry) -> dict[str, Any]:
    """The contact with an entry for each channel's address (null when it has none); a
    secret address (a webhook URL is a credential) is shown masked, never echoed."""
    addresses: dict[str, str | None] = {}
    for field, plugin in channels.by_field.items():
        address = contact.addresses.get(field)
        addresses[field] = plugin.describe(address) if address and plugin.secret else address
    return {"id": contact.id, "organisation_id": contact.organisation_id, "name": contact.name,
            **addresses, "tier": contact.tier, "language": contact.language}


@routes.post("/api/v1/organisations")
@allow(Rule(hub_admin=True))
async def organisation_create(request: web.Request) -> web.Response:
    principal = principal_of(request)
    draft = read_organisation(await read_json(request))
    async with request.app[SESSIONS]() as session:
        organisation = await create_organisation(session, draft)
        await audit.record(session, principal.actor, "organisation.create", organisation.id,
                           {"name": draft.name, "kind": draft.kind, "sites": len(draft.sites)})
        await session.commit()
        return created(organisation_json(organisation, await sites_of(session, organisation.id)))


@routes.get("/api/v1/organisations")
@allow(SIGNED_IN)
async def organisation_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        query = select(Organisation).order_by(col(Organisation.name))
        if not principal.hub_admin:
            query = query.where(Organisation.id == principal.organisation_id)
        organisations = (await session.exec(query)).all()
        return web.json_response([organisation_json(o, await sites_of(session, o.id))
                                  for o in organisations])


@routes.get("/api/v1/organisations/{id}")
@allow(SIGNED_IN)
async def organisation_show(request: web.Request) -> web.Response:
    principal = principal_of(request)
    organisation_id = request.match_info["id"]
    principal.require_member(organisation_id)
    async with request.app[SESSIONS]() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound("no such organisation")
        return web.json_response(
            organisation_json(organisation, await sites_of(session, organisation.id)))


@routes.post("/api/v1/organisations/{id}/contacts")
@allow(roles(Role.ADMIN))
async def contact_create(request: web.Request) -> web.Response:
    principal, organisation_id = managed_organisation(request)
    body = await read_json(request)
    async with request.app[SESSIONS]() as session:
        if await session.get(Organisation, organisation_id) is None:
            raise NotFound("no such organisation")
        contact = read_contact(body, organisation_id, request.app[PUBLISHING].channels)
        session.add(contact)
        await session.flush()
        await audit.record(session, principal.actor, "contact.create", contact.id,
                           {"organisation_id": organisation_id, "tier": contact.tier})
        await session.commit()
        return created(contact_json(contact, request.app[PUBLISHING].channels))


@routes.get("/api/v1/organisations/{id}/contacts")
@allow(roles(Role.ADMIN))
async def contact_list(request: web.Request) -> web.Response:
    _, organisation_id = managed_organisation(request)
    async with request.app[SESSIONS]() as session:
        contacts = (await session.exec(
            select(Contact).where(Contact.organisation_id == organisation_id)
            .order_by(col(Contact.tier), col(Contact.name)))).all()
        channels = request.app[PUBLISHING].channels
        return web.json_response([contact_json(c, channels) for c in contacts])


@routes.post("/api/v1/organisations/{id}/sites")
@allow(roles(Role.ADMIN))
async def site_create(request: web.Request) -> web.Response:
    principal, organisation_id = managed_organisation(request)
    draft = read_site(await read_json(request))
    async with request.app[SESSIONS]() as session:
        if await session.get(Organisation, organisation_id) is None:
            raise NotFound("no such organisation")
        count = (await session.exec(select(func.count()).select_from(Site)
                                    .where(Site.organisation_id == organisation_id))).one()
        if count >= MAX_SITES:
            raise Conflict("too_many_sites", f"an organisation has at most {MAX_SITES} sites")
        site = Site(organisation_id=organisation_id, name=draft.name, lat=draft.lat,
                    lon=draft.lon)
        session.add(site)
        await session.flush()
        await audit.record(session, principal.actor, "site.create", site.id,
                           {"organisation_id": organisation_id, "name": site.name,
                            "lat": site.lat, "lon": site.lon})
        await session.commit()
        return created(site_json(site))


@routes.delete("/api/v1/sites/{id}")
@allow(roles(Role.ADMIN))
async def site_delete(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        site = await session.get(Site, request.match_info["id"])
        if site is None:
            raise NotFound("no such site")
        principal.require_member(site.organisation_id)
        principal.require_org_admin(site.organisation_id)
        answer = site_json(site)
        await session.delete(site)
        await audit.record(session, principal.actor, "site.delete", site.id,
                           {"organisation_id": site.organisation_id, "name": site.name})
        await session.commit()
        return web.json_response(answer)


async def _own_contact(session: AsyncSession, principal: Principal, contact_id: str) -> Contact:
    """The contact, if the principal administers its organisation; otherwise NotFound."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("no such contact")
    principal.require_member(contact.organisation_id)
    principal.require_org_admin(contact.organisation_id)
    return contact


@routes.patch("/api/v1/contacts/{id}")
@allow(roles(Role.ADMIN))
async def contact_update(request: web.Request) -> web.Response:
    principal = principal_of(request)
    body = await read_json(request)
    async with request.app[SESSIONS]() as session:
        contact = await _own_contact(session, principal, request.match_info["id"])
        channels = request.app[PUBLISHING].channels
        changed = read_contact_change(body, contact, channels)
        fields = [name for name in ("name", "tier", "language")
                  if getattr(changed, name) != getattr(contact, name)]
        fields += [name for name in channels.contact_fields
                   if changed.addresses.get(name) != contact.addresses.get(name)]
        for name in ("name", "tier", "language", "addresses"):
            setattr(contact, name, getattr(changed, name))
        if fields:
            session.add(contact)
            await audit.record(session, principal.actor, "contact.update", contact.id,
                               {"organisation_id": contact.organisation_id, "fields": fields,
                                "tier": contact.tier})
            await session.commit()
        return web.json_response(contact_json(contact, channels))


async def history_of(session: AsyncSession, contact_id: str) -> list[str]:
    """What refers to the contact; each is history (or a credential) that must be kept."""
    who = f"contact:{contact_id}"
    checks: list[tuple[str, Any]] = [
        ("deliveries", select(Delivery.id).where(Delivery.contact_id == contact_id)),
        ("acknowledgements", select(Ack.id).where(or_(col(Ack.contact_id) == contact_id,
                                                      col(Ack.responder) == who))),
        ("field reports", select(Report.id).where(Report.reporter == who)),
        ("accounts", select(User.id).where(User.contact_id == contact_id)),
        ("API tokens", select(ApiToken.id).where(ApiToken.contact_id == contact_id)),
        ("invitations", select(Invitation.id).where(Invitation.contact_id == contact_id)),
    ]
    return [name for name, query in checks if (await session.exec(query.limit(1))).first()]


@routes.delete("/api/v1/contacts/{id}")
@allow(roles(Role.ADMIN))
async def contact_delete(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        contact = await _own_contact(session, principal, request.match_info["id"])
        await fanout.settle(session)  # deliveries not yet written are history too
        history = await history_of(session, contact.id)
        if history:
            raise Conflict("referenced", f"the contact has {', '.join(history)}, kept as "
                           "history of who was alerted and who answered; it cannot be removed")
        answer = contact_json(contact, request.app[PUBLISHING].channels)
        await session.delete(contact)
        await audit.record(session, principal.actor, "contact.delete", contact.id,
                           {"organisation_id": contact.organisation_id, "name": contact.name})
        await session.commit()
        return web.json_response(answer)
