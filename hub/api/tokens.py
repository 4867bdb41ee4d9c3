"""API tokens: issued by admins, shown once, stored hashed, listed without their secrets."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import col, select

from hub import audit
from hub.access import allow, roles
from hub.errors import Forbidden, NotFound
from hub.http import CLOCK, SESSIONS, created, managed_organisation, principal_of, read_json
from hub.revocations import revoked
from partners.credentials import issue_token
from partners.enrolment import ORG_ADMIN_MAY_ISSUE, check_role_fits
from partners.models import MAX_ID, STAFF_ROLES, ApiToken, Contact, Organisation, Role
from partners.validation import Checker, NotKnown

routes = web.RouteTableDef()
MAX_LABEL = 200


@routes.post("/api/v1/tokens")
@allow(roles(Role.ADMIN))
async def token_create(request: web.Request) -> web.Response:
    principal = principal_of(request)
    check = Checker(await read_json(request))
    check.only({"organisation_id", "role", "contact_id", "label"})
    organisation_id = check.text("organisation_id", max_len=MAX_ID)
    role = check.choice("role", Role, among=STAFF_ROLES)
    contact_id = check.text("contact_id", required=False, max_len=MAX_ID)
    label = check.text("label", required=False, max_len=MAX_LABEL, default="")
    check.done()
    assert organisation_id is not None and role is not None
    principal.require_org_admin(organisation_id)
    if not principal.hub_admin and role not in ORG_ADMIN_MAY_ISSUE:
        raise Forbidden(f"an organisation admin may not issue {role.value} tokens")
    async with request.app[SESSIONS]() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotKnown({"organisation_id": "no such organisation"})
        check_role_fits(role, organisation)
        if contact_id:
            contact = await session.get(Contact, contact_id)
            if contact is None or contact.organisation_id != organisation_id:
                raise NotKnown({"contact_id": "no such contact in this organisation"})
        row, secret = await issue_token(session, role, organisation_id,
                                        contact_id=contact_id or None, label=label or "")
        await session.flush()
        await audit.record(session, principal.actor, "token.create", row.id,
                           {"organisation_id": organisation_id, "role": role})
        await session.commit()
    return created({"id": row.id, "token": secret, "role": role,
                    "organisation_id": organisation_id, "contact_id": row.contact_id})


@routes.post("/api/v1/tokens/{id}/revoke")
@allow(roles(Role.ADMIN))
async def token_revoke(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        row = await session.get(ApiToken, request.match_info["id"])
        if row is None or row.organisation_id is None or not (
                principal.hub_admin or principal.organisation_id == row.organisation_id):
            raise NotFound("no such token")  # the bootstrap token is the operator's, not ours
        principal.require_org_admin(row.organisation_id)
        if row.revoked_at is None:
            row.revoked_at = request.app[CLOCK]()
            session.add(row)
            await revoked(session)
            await audit.record(session, principal.actor, "token.revoke", row.id,
                               {"organisation_id": row.organisation_id, "role": row.role})
            await session.commit()
    return web.json_response({"id": row.id, "revoked_at": row.revoked_at.isoformat()})


def token_json(row: ApiToken) -> dict[str, Any]:
    """A token as an admin sees it later: never its secret (only its hash is kept anyway)."""
    return {"id": row.id, "role": row.role, "label": row.label,
            "organisation_id": row.organisation_id, "contact_id": row.contact_id,
            "created_at": row.created_at.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}


@routes.get("/api/v1/organisations/{id}/tokens")
@allow(roles(Role.ADMIN))
async def token_list(request: web.Request) -> web.Response:
    _, organisation_id = managed_organisation(request)
    async with request.app[SESSIONS]() as session:
        if await session.get(Organisation, organisation_id) is None:
            raise NotFound("no such organisation")
        rows = (await session.exec(
            select(ApiToken).where(ApiToken.organisation_id == organisation_id)
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id)))).all()
        return web.json_response([token_json(row) for row in rows])
