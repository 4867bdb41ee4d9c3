"""People over the API: sign in and out, the second factor, invitations, disabling accounts."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit, login, mfa, sessions
from hub.access import MFA_STEP, PUBLIC, Principal, allow, roles
from hub.auth import csrf_for_page, issue_cookies, login_of, secret_key
from hub.errors import Forbidden, NotFound
from hub.http import (
    CLOCK,
    SESSIONS,
    SETTINGS,
    created,
    principal_of,
    rate_limit,
    read_json,
)
from partners.accounts import (
    MAX_EMAIL,
    MAX_SECRET,
    SIGN_IN_MAX_PASSWORD,
    invite,
    read_invitation,
    read_password,
)
from partners.enrolment import ORG_ADMIN_MAY_ISSUE, check_role_fits
from partners.models import Organisation, Role, User
from partners.validation import MAX_NAME, Checker, Conflicting, NotKnown

routes = web.RouteTableDef()


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name,
            "organisation_id": user.organisation_id, "role": user.role,
            "contact_id": user.contact_id, "mfa": user.totp_enabled_at is not None,
            "disabled": user.disabled_at is not None,
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}


def signed_in(request: web.Request, signed: login.SignedIn, status: int = 200,
              **extra: Any) -> web.Response:
    """The answer to a step of signing in, with the new session's cookies."""
    response = web.Response(status=status, content_type="application/json")
    csrf = issue_cookies(request, response, signed.raw_id)
    response.text = json.dumps({"step": signed.step, "user": user_json(signed.user),
                                "csrf_token": csrf, **extra})
    return response


@routes.post("/api/v1/session")
@allow(PUBLIC)
async def session_create(request: web.Request) -> web.Response:
    rate_limit(request, "login")
    check = Checker(await read_json(request))
    check.only({"email", "password", "code"})
    email = check.text("email", max_len=MAX_EMAIL)
    password = check.secret("password", low=1, high=SIGN_IN_MAX_PASSWORD)
    code = check.text("code", required=False, max_len=login.MAX_CODE)
    check.done()
    assert email is not None and password is not None
    async with request.app[SESSIONS]() as session:
        signed = await login.sign_in(session, email, password, code, request.remote or "",
                                     request.app[CLOCK](), secret_key(request))
    return signed_in(request, signed, status=201)


@routes.get("/api/v1/session")
@allow(MFA_STEP)
async def session_show(request: web.Request) -> web.Response:
    found = login_of(request)
    response = web.Response(content_type="application/json")
    csrf = csrf_for_page(request, response)
    step = login.step_of(found.user, found.row.mfa_passed)
    response.text = json.dumps({"step": step, "user": user_json(found.user),
                                "csrf_token": csrf,
                                "idle_timeout_s": request.app[SETTINGS].session_idle_s})
    return response


@routes.delete("/api/v1/session")
@allow(MFA_STEP)
async def session_delete(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        await login.sign_out(session, login_of(request), request.app[CLOCK]())
    response = web.json_response({"step": "signed_out"})
    issue_cookies(request, response, None)
    return response


@routes.post("/api/v1/session/mfa")
@allow(MFA_STEP)
async def session_mfa(request: web.Request) -> web.Response:
    check = Checker(await read_json(request))
    check.only({"code", "recovery_code"})
    code = check.text("code", required=False, max_len=login.MAX_CODE)
    recovery = check.text("recovery_code", required=False, max_len=login.MAX_RECOVERY_CODE)
    if not code and not recovery:
        check.fail("code", "give the authenticator code, or a recovery code")
    check.done()
    async with request.app[SESSIONS]() as session:
        signed = await login.second_factor(session, login_of(request), code, recovery,
                                           request.remote or "", request.app[CLOCK](),
                                           secret_key(request))
    return signed_in(request, signed)


@routes.post("/api/v1/session/mfa/enrol")
@allow(MFA_STEP)
async def mfa_enrol(request: web.Request) -> web.Response:
    found = login_of(request)
    async with request.app[SESSIONS]() as session:
        seed = await login.enrol(session, found, secret_key(request))
    uri = mfa.provisioning_uri(found.user, seed)
    return web.json_response({"secret": seed, "otpauth_uri": uri, "qr_svg": mfa.qr_svg(uri)})


@routes.post("/api/v1/session/mfa/confirm")
@allow(MFA_STEP)
async def mfa_confirm(request: web.Request) -> web.Response:
    check = Checker(await read_json(request))
    check.only({"code"})
    code = check.text("code", max_len=login.MAX_CODE)
    check.done()
    assert code is not None
    async with request.app[SESSIONS]() as session:
        signed, codes = await login.confirm(session, login_of(request), code,
                                            request.remote or "", request.app[CLOCK](),
                                            secret_key(request))
    return signed_in(request, signed, recovery_codes=codes)


@routes.post("/api/v1/invitations")
@allow(roles(Role.ADMIN))
async def invitation_create(request: web.Request) -> web.Response:
    principal = principal_of(request)
    draft = read_invitation(await read_json(request))
    principal.require_org_admin(draft.organisation_id)
    if not principal.hub_admin and draft.role not in ORG_ADMIN_MAY_ISSUE:
        raise Forbidden(f"an organisation admin may not invite a {draft.role.value}")
    now = request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        organisation = await session.get(Organisation, draft.organisation_id)
        if organisation is None:
            raise NotKnown({"organisation_id": "no such organisation"})
        check_role_fits(draft.role, organisation)
        invitation, secret = await invite(session, draft, principal.actor, now)
        await session.flush()
        await audit.record(session, principal.actor, "user.invite", invitation.id,
                           {"organisation_id": draft.organisation_id, "role": draft.role,
                            "email": draft.email})
        await session.commit()
    link = f"{request.app[SETTINGS].public_url.rstrip('/')}/invite/{secret}"
    return created({"id": invitation.id, "email": invitation.email, "role": invitation.role,
                    "organisation_id": invitation.organisation_id,
                    "contact_id": invitation.contact_id, "token": secret,
                    "accept_url": link, "expires_at": invitation.expires_at.isoformat()})


@routes.post("/api/v1/invitations/accept")
@allow(PUBLIC)
async def invitation_accept(request: web.Request) -> web.Response:
    rate_limit(request, "invitation")
    check = Checker(await read_json(request))
    check.only({"token", "name", "password"})
    token = check.text("token", max_len=MAX_SECRET)
    name = check.text("name", max_len=MAX_NAME)
    password = read_password(check)
    check.done()
    assert token and name and password
    now = request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        user = await login.join(session, token, name, password, now)
    return created(user_json(user))


@routes.get("/api/v1/users")
@allow(roles(Role.ADMIN))
async def user_list(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        query = select(User).order_by(col(User.email))
        if not principal.hub_admin:
            query = query.where(User.organisation_id == principal.organisation_id)
        users = (await session.exec(query)).all()
    return web.json_response([user_json(user) for user in users])


@routes.post("/api/v1/users/{id}/disable")
@allow(roles(Role.ADMIN))
async def user_disable(request: web.Request) -> web.Response:
    return await _set_disabled(request, disabled=True)


@routes.post("/api/v1/users/{id}/enable")
@allow(roles(Role.ADMIN))
async def user_enable(request: web.Request) -> web.Response:
    return await _set_disabled(request, disabled=False)


async def _set_disabled(request: web.Request, *, disabled: bool) -> web.Response:
    principal = principal_of(request)
    now = request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        user = await _managed_user(session, principal, request.match_info["id"])
        if disabled and principal.actor == f"user:{user.id}":
            raise Conflicting({"id": "you cannot disable your own account"})
        ended = 0
        if disabled:
            user.disabled_at = user.disabled_at or now
            # Every browser signed in as this person is signed out at once.
            ended = await sessions.end_all(session, user.id, now, "disabled")
        else:
            user.disabled_at = None
        session.add(user)
        await audit.record(session, principal.actor,
                           "user.disable" if disabled else "user.enable", user.id,
                           {"sessions_ended": ended})
        await session.commit()
    return web.json_response({**user_json(user), "sessions_ended": ended})


async def _managed_user(session: AsyncSession, principal: Principal, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None or not (principal.hub_admin
                            or principal.organisation_id == user.organisation_id):
        raise NotFound("no such user")
    principal.require_org_admin(user.organisation_id)
    return user

