"""Partner administration pages: an organisation's sites, contacts, tiers and tokens."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import col, select

from hub.access import allow, pages_for
from hub.http import PUBLISHING, SESSIONS, principal_of
from hub.pages.render import render
from partners.enrolment import ORG_ADMIN_MAY_ISSUE, roles_for
from partners.models import Organisation, Role

routes = web.RouteTableDef()


@routes.get("/organisation")
@allow(pages_for(Role.ADMIN))
async def own_organisation_page(request: web.Request) -> web.Response:
    """An organisation's admin goes to their organisation; a hub admin chooses one."""
    principal = principal_of(request)
    if not principal.hub_admin:
        raise web.HTTPSeeOther(f"/organisations/{principal.organisation_id}")
    async with request.app[SESSIONS]() as session:
        organisations = (await session.exec(
            select(Organisation).order_by(col(Organisation.name)))).all()
    return render(request, "organisation/own_organisation_page", organisations=organisations,
                  scripts=[])


@routes.get("/organisations/{id}")
@allow(pages_for(Role.ADMIN))
async def organisation_page(request: web.Request) -> web.Response:
    """The admin page of one organisation; its data is loaded by organisation.js."""
    principal = principal_of(request)
    organisation_id = request.match_info["id"]
    organisation = None
    if principal.hub_admin or principal.organisation_id == organisation_id:
        async with request.app[SESSIONS]() as session:
            organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        # Another organisation's page is as unknown as one that does not exist.
        return render(request, "organisation/missing", 404)
    token_roles = sorted((role.value for role in roles_for(organisation)
                          if principal.hub_admin or role in ORG_ADMIN_MAY_ISSUE),
                         key=lambda role: role != Role.PARTNER)  # the usual one first
    channels = list(request.app[PUBLISHING].channels.known.values())  # a field each
    return render(request, "organisation/organisation_page", organisation=organisation,
                  token_roles=token_roles, channels=channels, scripts=["organisation.js"],
                  maps=True)
