"""Sign-in pages: password, second factor, authenticator set-up, invitations, the account."""

from __future__ import annotations

from typing import NoReturn

from aiohttp import web

from hub import login, mfa
from hub.access import Forbidden, Unauthenticated
from hub.auth import issue_cookies, login_of, secret_key
from hub.http import CLOCK, SESSIONS, rate_limit
from hub.pages.render import failed, render
from hub.throttle import Throttled
from partners.accounts import MAX_PASSWORD, MIN_PASSWORD, open_invitation
from partners.models import Organisation
from partners.validation import InvalidInput

routes = web.RouteTableDef()
NEXT_PAGE = {login.Step.DONE: "/account", login.Step.CODE: "/login/mfa",
             login.Step.ENROL: "/account/mfa"}


def signed_in(request: web.Request, signed: login.SignedIn) -> NoReturn:
    """On to the next step of signing in, with the new session's cookies."""
    redirect = web.HTTPSeeOther(NEXT_PAGE[signed.step])
    issue_cookies(request, redirect, signed.raw_id)
    raise redirect


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    return render(request, "login", email="")


@routes.post("/login")
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email, password = str(form.get("email", ""))[:320], str(form.get("password", ""))[:1024]
    try:
        rate_limit(request, "login")
        async with request.app[SESSIONS]() as session:
            signed = await login.sign_in(session, email, password, None, request.remote or "",
                                         request.app[CLOCK](), secret_key(request))
    except (Unauthenticated, Throttled) as error:
        return failed(request, "login", error, email=email)
    signed_in(request, signed)


@routes.get("/login/mfa")
async def mfa_page(request: web.Request) -> web.Response:
    login_of(request)
    return render(request, "mfa")


@routes.post("/login/mfa")
async def mfa_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    code, recovery = str(form.get("code", ""))[:16], str(form.get("recovery_code", ""))[:40]
    try:
        async with request.app[SESSIONS]() as session:
            signed = await login.second_factor(session, login_of(request), code or None,
                                               recovery or None, request.remote or "",
                                               request.app[CLOCK](), secret_key(request))
    except (Unauthenticated, Forbidden, Throttled) as error:
        return failed(request, "mfa", error)
    signed_in(request, signed)


@routes.get("/account/mfa")
async def enrol_page(request: web.Request) -> web.Response:
    found = login_of(request)
    async with request.app[SESSIONS]() as session:
        try:
            seed = await login.enrol(session, found, secret_key(request))
        except Forbidden as error:
            return render(request, "mfa", 403, error=str(error))
    uri = mfa.provisioning_uri(found.user, seed)
    return render(request, "enrol", secret=seed, qr_svg=mfa.qr_svg(uri))


@routes.post("/account/mfa")
async def enrol_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    found = login_of(request)
    user = found.user
    async with request.app[SESSIONS]() as session:
        try:
            signed, codes = await login.confirm(session, found,
                                                str(form.get("code", ""))[:16],
                                                request.remote or "", request.app[CLOCK](),
                                                secret_key(request))
        except (Unauthenticated, Forbidden) as error:
            seed = mfa.seed_of(user, secret_key(request)) or ""
            uri = mfa.provisioning_uri(user, seed)
            return failed(request, "enrol", error, secret=seed, qr_svg=mfa.qr_svg(uri))
    response = render(request, "codes", codes=codes)
    issue_cookies(request, response, signed.raw_id)
    return response


@routes.post("/logout")
async def logout_submit(request: web.Request) -> web.StreamResponse:
    async with request.app[SESSIONS]() as session:
        await login.sign_out(session, login_of(request), request.app[CLOCK]())
    redirect = web.HTTPSeeOther("/login")
    issue_cookies(request, redirect, None)
    raise redirect


@routes.get("/invite/{token}")
async def invite_page(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        try:
            invitation = await open_invitation(session, request.match_info["token"],
                                               request.app[CLOCK]())
        except InvalidInput as error:
            return render(request, "login", 404, error=error.fields["token"], email="")
    return render(request, "invite", invitation=invitation, token=request.match_info["token"])


@routes.post("/invite/{token}")
async def invite_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password = str(form.get("name", "")).strip()[:200], str(form.get("password", ""))
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
async def account_page(request: web.Request) -> web.Response:
    found = login_of(request)
    async with request.app[SESSIONS]() as session:
        organisation = await session.get(Organisation, found.user.organisation_id)
    return render(request, "account", user=found.user,
                  organisation=organisation.name if organisation else "")

