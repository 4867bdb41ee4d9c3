"""Signing in lands on your work (issue 15.6): a stranger's deep link survives the sign-in
for every role, each role lands on its own page without one, and a page the role may not
use is an HTML page that says so, not raw JSON."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import expect

from tests.conftest import INSIDE, PASSWORD
from tests.pages.conftest import LiveHub, Person, screenshot


async def people(live: LiveHub) -> tuple[str, dict[str, tuple[Person, str]]]:
    """The police service's id, and a person of each role with the page each lands on when
    no link was asked for."""
    police = await live.api.organisation("Toronto Police Service", "police")
    partner, _ = await live.api.partner("Bay Tower Security", INSIDE)
    return police, {
        "publisher": (await live.person(police, "publisher", "pub@tps.example"), "/"),
        "approver": (await live.person(police, "approver", "appr@tps.example"), "/approvals"),
        "admin": (await live.person(police, "admin", "chief@tps.example"), "/"),
        "partner": (await live.person(partner, "partner", "desk@bay.example"), "/desk"),
        # /organisation, which sends an organisation's admin on to their own organisation
        "partner admin": (await live.person(partner, "admin", "boss@bay.example"),
                          f"/organisations/{partner}"),
    }


async def test_each_role_keeps_its_deep_link_and_otherwise_lands_on_its_page(
        live: LiveHub) -> None:
    police, everyone = await people(live)
    alert = await live.api.publish(await live.api.token(police, "publisher"))
    wanted = {"publisher": f"/alerts/{alert['id']}", "approver": "/approvals?from=mail",
              "admin": "/organisation", "partner": "/desk", "partner admin": "/account"}
    for role, (person, home) in everyone.items():
        # A deep link opened by a stranger: sent to sign in, then back to it.
        page = await live.page()
        await page.goto(wanted[role])
        await page.wait_for_url(lambda url: url.startswith(f"{live.url}/login?next="))
        await live.sign_in(page, person, here=True)
        await page.wait_for_url(f"{live.url}{wanted[role]}")
        # Without one, each role lands on its own page.
        live.clock.advance(30)  # the next authenticator code: a used one is refused
        page = await live.page()
        await live.sign_in(page, person)
        assert page.url == f"{live.url}{home}", (role, page.url)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil",
                                    "javascript:alert(1)"])
async def test_a_next_that_leaves_the_hub_is_ignored(live: LiveHub, target: str) -> None:
    person, home = (await people(live))[1]["partner"]
    page = await live.page()
    await page.goto(f"/login?next={quote(target)}")
    await live.sign_in(page, person, here=True)
    await page.wait_for_url(f"{live.url}{home}")


async def test_a_page_the_role_may_not_use_is_an_html_page_with_a_way_home(
        live: LiveHub) -> None:
    person, _ = (await people(live))[1]["partner"]
    page = await live.page()
    await live.sign_in(page, person)
    response = await page.goto("/approvals")
    assert response is not None and response.status == 403
    assert "text/html" in (response.headers.get("content-type") or "")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not a page for your role")
    await screenshot(page, "wrong-role")
    await page.get_by_role("link", name="Go to your desk").click()
    await page.wait_for_url(f"{live.url}/desk")


async def test_the_second_factor_pages_show_no_visitor_links_and_codes_can_be_kept(
        live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    await live.api.person(police, "publisher", "new@tps.example")
    page = await live.page(accept_downloads=True)
    await page.goto("/login")
    await expect(page.locator("link[rel=icon]")).to_have_count(1)
    await page.get_by_label("Email address").fill("new@tps.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/account/mfa*")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link")).to_have_count(0)  # no Subscribe, no Public alerts
    seed = await page.locator("#mfa-secret").inner_text()
    await page.get_by_label("The six-digit code the app now shows").fill(live.code(seed))
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = await page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) >= 8
    async with page.expect_download() as caught:
        await page.get_by_role("button", name="Download").click()
    download = await caught.value
    assert download.suggested_filename == "vigil-recovery-codes.txt"
    saved = await asyncio.to_thread(Path(await download.path()).read_text)
    assert all(code in saved for code in codes)
    await page.get_by_role("button", name="Copy").click()
    await expect(page.locator("#codes-status")).to_contain_text("Copied")
    await screenshot(page, "recovery-codes")
    await page.get_by_role("link", name="Continue").click()
    await page.wait_for_url(f"{live.url}/")
