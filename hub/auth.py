"""The guard: who is asking (token or session cookie), CSRF and Origin checks, the policy."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from hub import audit
from hub.access import Principal, bearer, person, resident_principal, rule_of
from hub.errors import Forbidden
from hub.http import CLOCK, COOKIES, LOGIN, PRINCIPAL, SESSIONS, SETTINGS, TOKENS, Handler
from hub.mfa import mfa_required
from hub.sessions import Resumed, resume
from partners import residents

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# Only small page forms carry the token as a field; uploads (multipart) send the header, so
# the check never has to read a large body into memory.
FORM_TYPES = ("application/x-www-form-urlencoded",)


def allowed_origins(request: web.Request) -> set[str]:
    """This hub's own origins: the public URL's, and the one the request was sent to when
    that is an IP address or localhost.

    Not a host name of the request's choosing: with DNS rebinding, a page of
    evil.example talks to this hub with `Host: evil.example` and `Origin:
    http://evil.example`, which look alike. An address typed as digits cannot be rebound."""
    public = urlsplit(request.app[SETTINGS].public_url)
    origins = {f"{public.scheme}://{public.netloc}"}
    if _literal_host(request.url.host or ""):
        origins.add(f"{request.scheme}://{request.host}")
    return origins


def _literal_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def origin_of(request: web.Request) -> str | None:
    """The Origin header, or the origin of the Referer when a browser leaves Origin out."""
    origin = request.headers.get("Origin")
    if origin:
        return origin
    referer = urlsplit(request.headers.get("Referer", ""))
    return f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else None


async def identify(request: web.Request) -> tuple[Principal | None, Resumed | None]:
    """The principal of the request's bearer token or session cookie, and the browser session.

    A browser that gave its password but not yet its second factor has a session and no
    principal: it may only finish signing in.
    """
    secret = bearer(request.headers.get("Authorization"))
    if secret is not None:
        return await secret_principal(request, secret), None
    async with request.app[SESSIONS]() as session:
        cookie = request.cookies.get(request.app[COOKIES].session_cookie)
        if not cookie:
            return None, None
        login = await resume(session, request.app[COOKIES], cookie, request.app[CLOCK]())
        if login is None:
            return None, None
        if mfa_required(login.user) and not login.row.mfa_passed:
            return None, login
        return await person(session, login.user), login


async def secret_principal(request: web.Request, secret: str) -> Principal:
    """The principal of an API token (looked up in batches) or of a resident's link."""
    if secret.startswith(residents.TOKEN_PREFIX):
        async with request.app[SESSIONS]() as session:
            return await resident_principal(session, secret)
    return await request.app[TOKENS].principal(secret)


def csrf_expected(request: web.Request) -> str | None:
    cookies = request.app[COOKIES]
    csrf_cookie = request.cookies.get(cookies.csrf_cookie)
    if not csrf_cookie:
        return None
    return cookies.csrf_token(csrf_cookie, request.cookies.get(cookies.session_cookie))


async def check_csrf(request: web.Request) -> None:
    """A browser's state-changing request must come from our own page: the right Origin and
    the form token that only our pages know (ASVS 5.0 3.5)."""
    origin = origin_of(request)
    if origin is None or origin not in allowed_origins(request):
        raise Forbidden(f"cross-site request refused: origin {origin or 'missing'}")
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.content_type in FORM_TYPES:
        form = await request.post()  # aiohttp keeps it, so the handler reads it again
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    expected = csrf_expected(request)
    if not presented or not expected or not hmac.compare_digest(presented, expected):
        raise Forbidden("the CSRF token is missing or wrong; reload the page and try again")


def _is_browser_write(request: web.Request, login: Resumed | None) -> bool:
    """A change sent with a live session cookie (ambient authority), or any page form."""
    if request.method in SAFE_METHODS or "Authorization" in request.headers:
        return False
    return login is not None or not request.path.startswith("/api/")


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Deny by default: every matched route's handler declares its rule (`@allow`), checked
    here."""
    if request.match_info.http_exception is not None:
        return await handler(request)  # no such route: the router answers 404 / 405
    rule = rule_of(request.match_info.route.handler)
    principal: Principal | None = None
    try:
        if rule is None:
            raise Forbidden("no access rule covers this endpoint")
        origin = request.headers.get("Origin")
        if (rule.csrf and request.method not in SAFE_METHODS and origin is not None
                and origin not in allowed_origins(request)):
            raise Forbidden(f"cross-site request refused: origin {origin}")
        principal, login = await identify(request)
        if rule.csrf and _is_browser_write(request, login):
            await check_csrf(request)
        # Known before the check, so a refused page can still name the person's own page.
        request[PRINCIPAL], request[LOGIN] = principal, login
        rule.check(principal, login is not None)
        return await handler(request)
    except Forbidden as error:
        await _record_denial(request, principal, str(error),
                             anonymous=rule is not None and rule.anonymous)
        raise


async def _record_denial(request: web.Request, principal: Principal | None,
                         reason: str, *, anonymous: bool = False) -> None:
    if anonymous:
        actor = "public:tip"  # a tipster's address is never written, refused or not
    else:
        actor = principal.actor if principal else f"address:{request.remote or '?'}"
    try:
        async with request.app[SESSIONS]() as session:
            await audit.record(session, actor, "access.deny", request.path[:64],
                               {"method": request.method, "reason": reason[:200]})
            await session.commit()
    except Exception:  # the denial stands even if the trail cannot be written right now
        log.exception("could not record an access denial")


# Pages load scripts and styles from the hub only, images also from the map tile server;
# nothing may frame them.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data: blob:{tiles}; connect-src 'self'; font-src 'self'; "
       "media-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def content_policy(tile_url: str) -> str:
    """The CSP for a hub whose maps load tiles from `tile_url` (or `none`)."""
    parts = urlsplit(tile_url.replace("{s}", "*"))  # Leaflet's subdomain placeholder
    tiles = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return CSP.format(tiles=tiles)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Added to every answer, errors and WebSocket handshakes included."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy",
                       content_policy(request.app[SETTINGS].tile_url))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
    if request.app[COOKIES].secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith("/api/") or request.app[COOKIES].session_cookie in request.cookies:
        headers.setdefault("Cache-Control", "no-store")


def issue_cookies(request: web.Request, response: web.StreamResponse,
                  raw_id: str | None) -> str:
    """Set a new session cookie (or clear it, for None) and a new CSRF cookie; returns the
    CSRF token that pages and scripts must send back with each change."""
    cookies = request.app[COOKIES]
    csrf_cookie = secrets.token_urlsafe(32)
    cookies.set(response, cookies.csrf_cookie, csrf_cookie)
    if raw_id is None:
        response.del_cookie(cookies.session_cookie, path="/", secure=cookies.secure)
        return cookies.csrf_token(csrf_cookie, None)
    sealed = cookies.seal(raw_id)
    cookies.set(response, cookies.session_cookie, sealed)
    return cookies.csrf_token(csrf_cookie, sealed)


def login_of(request: web.Request) -> Resumed:
    """The browser session the guard found; endpoints with a `browser` rule always have one."""
    found = request.get(LOGIN)
    if found is None:
        raise Forbidden("this needs a signed-in browser session, not an API token")
    return found


def secret_key(request: web.Request) -> str:
    key = request.app[SETTINGS].secret_key
    assert key  # create_app always sets one
    return key


def csrf_for_page(request: web.Request, response: web.StreamResponse) -> str:
    """The CSRF token for a page's forms, setting the browser's CSRF cookie if it has none."""
    expected = csrf_expected(request)
    if expected is not None:
        return expected
    cookies = request.app[COOKIES]
    csrf_cookie = secrets.token_urlsafe(32)
    cookies.set(response, cookies.csrf_cookie, csrf_cookie)
    return cookies.csrf_token(csrf_cookie, request.cookies.get(cookies.session_cookie))
