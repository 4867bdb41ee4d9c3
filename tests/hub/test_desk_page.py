"""The partner desk page: who may open it, and a shell that works under the CSP."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import INSIDE, Browser, Hub


async def signed_in(hub: Hub, browsers: Callable[[], Browser], role: str = "partner",
                    kind: str = "corporate") -> Browser:
    org = await hub.organisation("Bay Tower Security" if kind == "corporate"
                                 else "Toronto Police Service", kind, [INSIDE])
    await hub.person(org, role, f"{role}@example.org")
    browser = browsers()
    await browser.sign_in(f"{role}@example.org")
    if role != "partner":  # everyone but partner staff has a second factor
        await browser.enrol()
    return browser


async def test_a_partner_gets_the_desk_with_its_organisation_and_script(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser = await signed_in(hub, browsers)
    async with browser.http.get(browser.origin + "/desk") as response:
        assert response.status == 200
        page = await response.text()
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<h1>Bay Tower Security</h1>" in page
    assert '<script src="/static/desk.js"></script>' in page
    assert '<link rel="stylesheet" href="/static/desk.css">' in page
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert 'data-can-answer="true"' in page
    assert re.search(r'<meta name="csrf-token" content="[0-9a-f]+">', page)
    assert 'role="status" aria-live="polite">Connecting' in page


async def test_the_desk_page_obeys_the_content_policy(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser = await signed_in(hub, browsers)
    page = await browser.call("GET", "/desk", 200)
    # script-src 'self' and style-src 'self': no inline code, no inline styles or handlers.
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page) == []
    assert re.search(r"<style|\sstyle=|\son[a-z]+=", page) is None


async def test_the_desk_script_and_stylesheet_are_served(hub: Hub) -> None:
    for path, kind in [("/static/desk.js", "javascript"), ("/static/desk.css", "text/css")]:
        response = await hub.client.get(path)
        assert response.status == 200 and kind in response.content_type


async def test_an_organisation_admin_watches_without_answer_buttons(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser = await signed_in(hub, browsers, role="admin")
    page = await browser.call("GET", "/desk", 200)
    assert 'data-can-answer="false"' in page and "you can watch alerts here" in page


async def test_a_stranger_is_sent_to_sign_in(hub: Hub) -> None:
    response = await hub.client.get("/desk", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login?next=/desk"


async def test_an_api_token_may_not_open_the_desk(hub: Hub) -> None:
    _, token = await hub.partner("Bay Tower Security", INSIDE)
    response = await hub.client.get("/desk", headers=hub.auth(token))
    assert response.status == 403 and response.content_type == "text/html"
    assert "browser session" in await response.text()


async def test_a_police_publisher_may_not_open_the_desk(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    browser = await signed_in(hub, browsers, role="publisher", kind="police")
    denied = await browser.call("GET", "/desk", 403)
    assert "Not a page for your role" in denied and 'href="/"' in denied


async def test_a_sign_in_still_owing_its_second_factor_is_sent_back_to_sign_in(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    org = await hub.organisation("Toronto Police Service", "police")
    await hub.person(org, "publisher", "pub@tps.example")
    browser = browsers()
    await browser.sign_in("pub@tps.example")  # password only: the second factor is owed
    await browser.call("GET", "/desk", 303)  # back to /login?next=/desk
