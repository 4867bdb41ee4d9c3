"""Sign-in pages: password, second factor, authenticator set-up, invitations, the account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn
from urllib.parse import quote

from aiohttp import web

from hub import login, mfa
from hub.access import ACCOUNT, MFA_STEP, PUBLIC, allow, person
from hub.auth import issue_cookies, login_of, secret_key
from hub.errors import Forbidden, Unauthenticated
from hub.http import CLOCK, SESSIONS, rate_limit
from hub.pages.render import failed, landing, render, safe_next
from hub.throttle import Throttled
from partners.accounts import (
    MAX_EMAIL,
    MAX_PASSWORD,
    MIN_PASSWORD,
    SIGN_IN_MAX_PASSWORD,
    open_invitation,
)
from partners.models import Organisation, User
from partners.validation import MAX_NAME, InvalidInput

routes = web.RouteTableDef()
# The page each unfinished step of signing in goes on to; `next` rides along on each.
STEP_PAGE = {login.Step.CODE: "/login/mfa", login.Step.ENROL: "/account/mfa"}


def next_of(request: web.Request, form: Mapping[str, object] | None = None) -> str | None:
    """The page asked for before sign-in (the form's, else the query's), if it is ours."""
    return safe_next((form or {}).get("next") or request.query.get("next"))


def with_next(path: str, wanted: str | None) -> str:
    return f"{path}?next={quote(wanted, safe='')}" if wanted else path


async def signed_in(request: web.Request, signed: login.SignedIn,
                    wanted: str | None) -> NoReturn:
    """On to the next step of signing in, with the new session's cookies: once done, to the
    page asked for, else to the one the person's role works from."""
    if signed.step in STEP_PAGE:
        target = with_next(STEP_PAGE[signed.step], wanted)
    else:
        target = wanted or await _landing(request, signed.user)
    redirect = web.HTTPSeeOther(target)
    issue_cookies(request, redirect, signed.raw_id)
    raise redirect


async def _landing(request: web.Request, user: User) -> str:
    async with request.app[SESSIONS]() as session:
        return landing(await person(session, user))


@routes.get("/login")
@allow(PUBLIC)
async def login_page(request: web.Request) -> web.Response:
    return render(request, "login", email="", next=next_of(request) or "")


@routes.post("/login")
@allow(PUBLIC)
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = str(form.get("email", ""))[:MAX_EMAIL]
    password = str(form.get("password", ""))[:SIGN_IN_MAX_PASSWORD]
    wanted = next_of(request, form)
    try:
        rate_limit(request, "login")
        async with request.app[SESSIONS]() as session:
            signed = await login.sign_in(session, email, password, None, request.remote or "",
                                         request.app[CLOCK](), secret_key(request))
    except (Unauthenticated, Throttled) as error:
        return failed(request, "login", error, email=email, next=wanted or "")
    await signed_in(request, signed, wanted)


@routes.get("/login/mfa")
@allow(MFA_STEP)
async def mfa_page(request: web.Request) -> web.Response:
    login_of(request)
    return render(request, "mfa", next=next_of(request) or "")


@routes.post("/login/mfa")
@allow(MFA_STEP)
async def mfa_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    code = str(form.get("code", ""))[:login.MAX_CODE]
    recovery = str(form.get("recovery_code", ""))[:login.MAX_RECOVERY_CODE]
    wanted = next_of(request, form)
    try:
        async with request.app[SESSIONS]() as session:
            signed = await login.second_factor(session, login_of(request), code or None,
                                               recovery or None, request.remote or "",
                                               request.app[CLOCK](), secret_key(request))
    except (Unauthenticated, Forbidden, Throttled) as error:
        return failed(request, "mfa", error, next=wanted or "")
    await signed_in(request, signed, wanted)


@routes.get("/account/mfa")
@allow(MFA_STEP)
async def enrol_page(request: web.Request) -> web.Response:
    found = login_of(request)
    async with request.app[SESSIONS]() as session:
        try:
            seed = await login.enrol(session, found, secret_key(request))
        except Forbidden as error:
            return render(request, "mfa", 403, error=str(error), next="")
    uri = mfa.provisioning_uri(found.user, seed)
    return render(request, "enrol", secret=seed, qr_svg=mfa.qr_svg(uri),
                  next=next_of(request) or "")


@routes.post("/account/mfa")
@allow(MFA_STEP)
async def enrol_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    found = login_of(request)
    user = found.user
    wanted = next_of(request, form)
    async with request.app[SESSIONS]() as session:
        try:
            signed, codes = await login.confirm(session, found,
                                                str(form.get("code", ""))[:login.MAX_CODE],
                                                request.remote or "", request.app[CLOCK](),
                                                secret_key(request))
        except (Unauthenticated, Forbidden) as error:
            seed = mfa.seed_of(user, secret_key(request)) or ""
            uri = mfa.provisioning_uri(user, seed)
            return failed(request, "enrol", error, secret=seed, qr_svg=mfa.qr_svg(uri),
                          next=wanted or "")
    response = render(request, "codes", codes=codes, scripts=["codes.js"],
                      onward=wanted or await _landing(request, user))
    issue_cookies(request, response, signed.raw_id)
    return response


@routes.post("/logout")
@allow(MFA_STEP)
async def logout_submit(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS]() as session:
        await login.sign_out(session, login_of(request), request.app[CLOCK]())
    redirect = web.HTTPSeeOther("/login")
    issue_cookies(request, redirect, None)
    raise redirect


@routes.get("/invite/{token}")
@allow(PUBLIC)
async def invite_page(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        try:
            invitation = await open_invitation(session, request.match_info["token"],
                                               request.app[CLOCK]())
        except InvalidInput as error:
            return render(request, "login", 404, error=error.fields["token"], email="")
    return render(request, "invite", invitation=invitation, token=request.match_info["token"])


@routes.post("/invite/{token}")
@allow(PUBLIC)
async def invite_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password = str(form.get("name", "")).strip()[:MAX_NAME], str(form.get("password", ""))
    token, now = request.match_info["token"], request.app[CLOCK]()
    rate_limit(request, "invitation")
    async with request.app[SESSIONS]() as session:
        try:
            invitation = await open_invitation(session, token, now)
        except InvalidInput as error:
            return render(request, "login", 404, error=error.fields["token"], email="")
        if not name or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            return render(request, "invite", 422, invitation=invitation, token=token,
                          error=f"Give your name and a password of {MIN_PASSWORD} to "
                                f"{MAX_PASSWORD} characters.")
        await login.join(session, token, name, password, now)
    raise web.HTTPSeeOther("/login")


@routes.get("/account")
@allow(ACCOUNT)
async def account_page(request: web.Request) -> web.Response:
    found = login_of(request)
    async with request.app[SESSIONS]() as session:
        organisation = await session.get(Organisation, found.user.organisation_id)
    return render(request, "account", user=found.user,
                  organisation=organisation.name if organisation else "")

