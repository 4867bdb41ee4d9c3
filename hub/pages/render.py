"""Rendering a page: the jinja environment, the layout's context (who is signed in, the
navigation, the CSRF token, the map tiles) and the error forms."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from hub.access import Forbidden, Principal, Unauthenticated
from hub.auth import csrf_for_page
from hub.http import DEMO_MAILBOX, PRINCIPAL, SETTINGS
from hub.messages import TEMPLATES
from hub.throttle import Throttled
from hub.tlp import EXPLANATIONS, Tlp
from partners.models import Role

_pages = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                            undefined=jinja2.StrictUndefined)
TLP_LABELS = [(tlp.value, EXPLANATIONS[tlp]) for tlp in Tlp]


def navigation(principal: Principal | None) -> list[tuple[str, str]]:
    """The links a signed-in person's header offers, by role."""
    if principal is None or principal.role is Role.RESIDENT:
        return [("/subscribe", "Subscribe"), ("/public", "Public alerts")]
    links: list[tuple[str, str]] = []
    if (principal.role in (Role.PUBLISHER, Role.APPROVER, Role.ADMIN) and principal.hub_admin) \
            or principal.role in (Role.PUBLISHER, Role.APPROVER):
        links.append(("/", "Console"))
    if principal.role is Role.APPROVER:
        links.append(("/approvals", "Approvals"))
    if principal.role in (Role.PARTNER, Role.ADMIN) and not principal.hub_admin:
        links.append(("/desk", "Desk"))
    if principal.role is Role.ADMIN:
        links.append(("/organisation", "Organisation"))
    links.append(("/account", "Account"))
    return links


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    """The page `templates/<name>.html` (or `pages/<name>.html` for a bare name)."""
    response = web.Response(status=status, content_type="text/html")
    principal = request.get(PRINCIPAL)
    context.setdefault("error", None)
    context.setdefault("scripts", [])  # page scripts under hub/static
    context.setdefault("maps", False)  # load Leaflet
    context["csrf_token"] = csrf_for_page(request, response)
    context["viewer"] = principal
    context["nav"] = navigation(principal)
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
