"""The organisation administration pages: who reaches which, and a partner admin managing
sites, contact tiers and tokens in a real browser."""

from __future__ import annotations

from collections.abc import Callable

from playwright.async_api import expect

from tests.conftest import INSIDE, OUTSIDE, Browser, Hub
from tests.pages.conftest import LiveHub, screenshot


async def signed_in_admin(hub: Hub, browsers: Callable[[], Browser], org: str,
                          email: str) -> Browser:
    await hub.person(org, "admin", email)
    browser = browsers()
    await browser.sign_in(email)
    await browser.enrol()
    return browser


async def test_a_partner_admin_is_sent_to_their_own_organisation(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    org_a = await hub.organisation("Bay Tower Security", "corporate", [INSIDE])
    org_b = await hub.organisation("Yorkville BIA", "bia", [OUTSIDE])
    browser = await signed_in_admin(hub, browsers, org_a, "boss@bay.example")
    async with browser.http.get(browser.origin + "/organisation",
                                allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == f"/organisations/{org_a}"
    page = await browser.call("GET", f"/organisations/{org_a}", 200)
    assert "Bay Tower Security" in page and "organisation.js" in page
    other = await browser.call("GET", f"/organisations/{org_b}", 404)
    assert "Yorkville" not in other
    await browser.call("GET", "/organisations/no-such-org", 404)


async def test_a_hub_admin_chooses_among_every_organisation(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    police = await hub.organisation("Toronto Police Service", "police")
    org_a = await hub.organisation("Bay Tower Security", "corporate", [INSIDE])
    browser = await signed_in_admin(hub, browsers, police, "chief@tps.example")
    listing = await browser.call("GET", "/organisation", 200)
    assert f'href="/organisations/{org_a}"' in listing and "Toronto Police Service" in listing
    assert "Bay Tower Security" in await browser.call("GET", f"/organisations/{org_a}", 200)


async def test_partners_and_strangers_do_not_reach_the_pages(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    org_a = await hub.organisation("Bay Tower Security", "corporate", [INSIDE])
    await hub.person(org_a, "partner", "desk@bay.example")
    browser = browsers()
    await browser.sign_in("desk@bay.example")
    await browser.call("GET", "/organisation", 403)
    await browser.call("GET", f"/organisations/{org_a}", 403)
    stranger = browsers()
    await stranger.call("GET", f"/organisations/{org_a}", 303)


async def test_a_partner_admin_manages_sites_tiers_and_tokens(live: LiveHub) -> None:
    org = await live.api.organisation("Bay Tower Security", "corporate", [INSIDE])
    desk = await live.api.contact(org, "Tower Desk")
    admin = await live.person(org, "admin", "boss@bay.example")
    page = await live.page(viewport={"width": 1000, "height": 900})
    await live.sign_in(page, admin)
    await page.goto("/organisation")
    await page.wait_for_url(f"**/organisations/{org}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bay Tower Security")
    await expect(page.locator("#organisation[data-loaded]")).to_be_attached()

    # A site by typed coordinates; a bad latitude is named next to its field first.
    await page.get_by_label("Site name").fill("Loading dock")
    await page.get_by_label("Latitude").fill("95")
    await page.get_by_label("Longitude").fill("-79.3801")
    await page.get_by_role("button", name="Add site").click()
    await expect(page.locator("#site-form .field-error")).to_contain_text("lat")
    await page.get_by_label("Latitude").fill("43.6484")
    await page.get_by_role("button", name="Add site").click()
    await expect(page.get_by_role("status")).to_contain_text("Site Loading dock added")
    # Clicking the map fills in the coordinates for the next site.
    await page.locator("#site-map").click(position={"x": 200, "y": 120})
    assert await page.get_by_label("Latitude").input_value() != ""

    # The desk moves to the escalation tier.
    await page.locator("#contacts-primary").get_by_role(
        "button", name="Move to secondary").click()
    await expect(page.locator("#contacts-secondary")).to_contain_text("Tower Desk")

    # A contact by chat URL, one field per channel the hub knows: the URL is a secret, so
    # the list shows it masked and editing offers to keep or remove it, never shows it.
    hook = "json://127.0.0.1:9/hooks/Xq7secretToken"
    await page.get_by_label("Name", exact=True).fill("Ops Room")
    await page.get_by_label("Chat URL", exact=True).fill(hook)
    await page.get_by_role("button", name="Add contact").click()
    await expect(page.locator("#status")).to_contain_text("Ops Room added")
    row = page.locator("#contacts-primary tr", has_text="Ops Room")
    await expect(row.locator("td.masked")).not_to_contain_text("Xq7secretToken")
    await row.get_by_role("button", name="Edit Ops Room").click()
    assert await page.get_by_label("Chat URL", exact=True).input_value() == ""
    chat_url = page.get_by_label("Chat URL", exact=True)
    assert "Keep json://" in (await chat_url.get_attribute("placeholder") or "")
    await expect(page.get_by_label("Remove the Chat URL")).to_be_visible()
    await page.get_by_role("button", name="Cancel editing").click()

    # A token: its secret is shown once, then it is revoked.
    await page.get_by_label("Label").fill("Lobby PC")
    await page.get_by_label("Role").select_option("partner")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.get_by_text("shown only this once")).to_be_visible()
    secret = await page.get_by_label("New token").input_value()
    assert secret.startswith("vgl_")
    await live.api.call("GET", "/api/v1/alerts", secret, expect=200)
    await screenshot(page, "organisation")
    await page.get_by_role("button", name="I have stored it").click()
    await expect(page.locator("#token-secret")).to_be_hidden()
    revoke = page.get_by_role("button", name="Revoke: Lobby PC")
    await revoke.click()
    await page.get_by_role("button", name="Confirm revoke").click()
    await expect(page.locator("#tokens")).to_contain_text("Revoked")

    shown = await live.api.call("GET", f"/api/v1/organisations/{org}", expect=200)
    assert {s["name"] for s in shown["sites"]} == {INSIDE["name"], "Loading dock"}
    contacts = await live.api.call("GET", f"/api/v1/organisations/{org}/contacts", expect=200)
    assert [(c["name"], c["tier"]) for c in contacts] == [("Ops Room", "primary"),
                                                           ("Tower Desk", "secondary")]
    assert contacts[1]["id"] == desk and contacts[0]["email"] is None
    assert "Xq7secretToken" not in contacts[0]["chat_url"]  # stored, and shown masked
    tokens = await live.api.call("GET", f"/api/v1/organisations/{org}/tokens", expect=200)
    lobby = next(t for t in tokens if t["label"] == "Lobby PC")
    assert lobby["role"] == "partner" and lobby["revoked_at"] is not None
    await live.api.call("GET", "/api/v1/alerts", secret, expect=401)


async def test_a_corporate_organisation_is_refused_a_publisher_token(live: LiveHub) -> None:
    # Point 3 of issue 15: publishing is police work, so the hub admin's own page does not
    # offer the police roles for a bank, and the hub refuses them by name if asked anyway.
    police = await live.api.organisation("Toronto Police Service", "police")
    bank = await live.api.organisation("Bay Tower Security", "corporate", [INSIDE])
    admin = await live.person(police, "admin", "chief@tps.example")
    page = await live.page(viewport={"width": 1000, "height": 900})
    await live.sign_in(page, admin)
    await page.goto(f"/organisations/{police}")
    roles = page.get_by_label("Role")
    assert await roles.locator("option").all_inner_texts() == [
        "partner", "admin", "publisher", "approver"]
    await page.goto(f"/organisations/{bank}")
    await expect(page.locator("#organisation[data-loaded]")).to_be_attached()
    assert await roles.locator("option").all_inner_texts() == ["partner", "admin"]
    # A page left open from before this rule, or a hand-edited form, still offers it.
    await roles.evaluate("select => select.add(new Option('publisher', 'publisher'))")
    await roles.select_option("publisher")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("#token-errors")).to_contain_text("publisher is a police role")
    await expect(page.locator("#token-secret")).to_be_hidden()
    await screenshot(page, "organisation-police-role-refused")
    assert await live.api.call("GET", f"/api/v1/organisations/{bank}/tokens", expect=200) == []
