"""Organisations and their contacts: enrolment over the API."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import col, select

from channels.chat import ChatChannel
from hub import audit
from hub.access import NotFound, Principal
from hub.http import SESSIONS, created, principal_of, read_json
from partners.enrolment import create_organisation, read_contact, read_organisation, sites_of
from partners.models import Contact, Organisation, Site

routes = web.RouteTableDef()
_chat = ChatChannel()


def organisation_json(organisation: Organisation, sites: list[Site]) -> dict[str, Any]:
    return {"id": organisation.id, "name": organisation.name, "kind": organisation.kind,
            "sites": [{"id": s.id, "name": s.name, "lat": s.lat, "lon": s.lon} for s in sites]}


def contact_json(contact: Contact) -> dict[str, Any]:
    # A chat URL is a credential (a webhook secret): it is shown masked, never echoed.
    chat_url = _chat.describe(contact.chat_url) if contact.chat_url else None
    return {"id": contact.id, "organisation_id": contact.organisation_id, "name": contact.name,
            "email": contact.email, "chat_url": chat_url, "tier": contact.tier}


def _require_member(principal: Principal, organisation_id: str) -> None:
    if not principal.hub_admin and principal.organisation_id != organisation_id:
        raise NotFound("no such organisation")


@routes.post("/api/v1/organisations")
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
async def organisation_show(request: web.Request) -> web.Response:
    principal = principal_of(request)
    organisation_id = request.match_info["id"]
    _require_member(principal, organisation_id)
    async with request.app[SESSIONS]() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound("no such organisation")
        return web.json_response(
            organisation_json(organisation, await sites_of(session, organisation.id)))


@routes.post("/api/v1/organisations/{id}/contacts")
async def contact_create(request: web.Request) -> web.Response:
    principal = principal_of(request)
    organisation_id = request.match_info["id"]
    _require_member(principal, organisation_id)
    principal.require_org_admin(organisation_id)
    body = await read_json(request)
    async with request.app[SESSIONS]() as session:
        if await session.get(Organisation, organisation_id) is None:
            raise NotFound("no such organisation")
        contact = read_contact(body, organisation_id)
        session.add(contact)
        await session.flush()
        await audit.record(session, principal.actor, "contact.create", contact.id,
                           {"organisation_id": organisation_id, "tier": contact.tier})
        await session.commit()
        return created(contact_json(contact))


@routes.get("/api/v1/organisations/{id}/contacts")
async def contact_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    organisation_id = request.match_info["id"]
    _require_member(principal, organisation_id)
    principal.require_org_admin(organisation_id)
    async with request.app[SESSIONS]() as session:
        contacts = (await session.exec(
            select(Contact).where(Contact.organisation_id == organisation_id)
            .order_by(col(Contact.tier), col(Contact.name)))).all()
        return web.json_response([contact_json(c) for c in contacts])
