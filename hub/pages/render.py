"""Rendering a page: the jinja environment, the layout's context (who is signed in, the
navigation, the CSRF token, the map tiles) and the error forms."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from hub.access import Principal
from hub.auth import csrf_for_page
from hub.errors import Forbidden, Unauthenticated
from hub.http import DEMO_MAILBOX, LOGIN, PRINCIPAL, SETTINGS, Handler
from hub.messages import TEMPLATES
from hub.throttle import Throttled
from hub.tlp import EXPLANATIONS, Tlp
from partners.models import Role

_pages = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                            undefined=jinja2.StrictUndefined)
TLP_LABELS = [(tlp.value, EXPLANATIONS[tlp]) for tlp in Tlp]


def landing(principal: Principal) -> str:
    """The page each role works from: where sign-in leads when no other page was asked for."""
    if principal.role is Role.APPROVER:
        return "/approvals"
    if principal.role is Role.PUBLISHER or principal.hub_admin:
        return "/"
    if principal.role is Role.ADMIN:
        return "/organisation"
    if principal.role is Role.PARTNER:
        return "/desk"
    return "/account"


LANDING_NAMES = {"/approvals": "approvals", "/": "console", "/organisation": "organisation",
                 "/desk": "desk", "/account": "account"}


def navigation(principal: Principal | None) -> list[tuple[str, str]]:
    """The links a signed-in person's header offers, by role."""
    if principal is None or principal.role is Role.RESIDENT:
        return [("/subscribe", "Subscribe"), ("/public", "Public alerts"),
                ("/tips", "Report something")]
    links: list[tuple[str, str]] = []
    if (principal.role in (Role.PUBLISHER, Role.APPROVER, Role.ADMIN) and principal.hub_admin) \
            or principal.role in (Role.PUBLISHER, Role.APPROVER):
        links.append(("/", "Console"))
        links.append(("/reports", "Reports"))
    if principal.role is Role.APPROVER:
        links.append(("/approvals", "Approvals"))
    if principal.role in (Role.PUBLISHER, Role.APPROVER) or principal.hub_admin:
        links.append(("/evidence", "Tips"))
    if principal.role in (Role.PARTNER, Role.ADMIN) and not principal.hub_admin:
        links.append(("/desk", "Desk"))
    if principal.role is Role.ADMIN:
        links.append(("/organisation", "Organisation"))
    links.append(("/services", "Services"))
    links.append(("/account", "Account"))
    return links


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    """The page `templates/<name>.html` (or `pages/<name>.html` for a bare name)."""
    response = web.Response(status=status, content_type="text/html")
    principal = request.get(PRINCIPAL)
    context.setdefault("error", None)
    context.setdefault("next", "")  # the page to go on to after sign-in, on its forms
    context.setdefault("scripts", [])  # page scripts under hub/static
    context.setdefault("maps", False)  # load Leaflet
    context["csrf_token"] = csrf_for_page(request, response)
    context["viewer"] = principal
    # Half signed in (the second factor still to come): no visitor's links, no others yet.
    signing_in = principal is None and request.get(LOGIN) is not None
    context["nav"] = [] if signing_in else navigation(principal)
    context["signing_in"] = signing_in
    context["tile_url"] = request.app[SETTINGS].tile_url
    context["demo_mailbox"] = request.app.get(DEMO_MAILBOX, False)
    template = name if "/" in name else f"pages/{name}"
    response.text = _pages.get_template(f"{template}.html").render(**context)
    return response


def failed(request: web.Request, name: str, error: Exception, **context: Any) -> web.Response:
    """The same form again, with what went wrong and the status the API would give."""
    if isinstance(error, Throttled):
        response = render(request, name, 429, error=str(error), **context)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    status = {Unauthenticated: 401, Forbidden: 403}.get(type(error), 422)
    return render(request, name, status, error=str(error), **context)


def safe_next(value: object) -> str | None:
    """A page of this hub to go on to after sign-in, or None: only a local path (never
    `//host`, a scheme, a backslash or the sign-in pages themselves)."""
    if not isinstance(value, str) or len(value) > 2000 or not _LOCAL.fullmatch(value):
        return None
    return None if value.startswith(("/login", "/logout")) else value


_LOCAL = re.compile(r"/(?![/\\])[^\s\\\x00-\x1f\x7f]*")


def is_page(request: web.Request) -> bool:
    return request.method in ("GET", "HEAD") and not request.path.startswith("/api/")


@web.middleware
async def page_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A page a stranger opens sends them to sign in and back (303 to `/login?next=`); a
    page the signed-in person's role may not use says so in HTML, with a way to their own."""
    try:
        return await handler(request)
    except Unauthenticated:
        if not is_page(request):
            raise
        wanted = safe_next(request.path_qs)
        raise web.HTTPSeeOther("/login" + (f"?next={quote(wanted, safe='')}" if wanted else
                                           "")) from None
    except Forbidden as error:
        principal = request.get(PRINCIPAL)
        if not is_page(request) or principal is None:
            raise
        home = landing(principal)
        return render(request, "forbidden", 403, reason=str(error), home=home,
                      home_name=LANDING_NAMES[home])
