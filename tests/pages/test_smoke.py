"""The browser harness itself: a person signs in with the second factor."""

from __future__ import annotations

from tests.pages.conftest import LiveHub, screenshot


async def test_publisher_signs_in_with_second_factor(live: LiveHub) -> None:
    police = await live.api.organisation("Toronto Police Service", "police")
    person = await live.person(police, "publisher", "pub@tps.example")
    page = await live.page()
    await live.sign_in(page, person)
    await page.goto("/account")
    await screenshot(page, "account")
    assert await page.get_by_role("heading", level=1).text_content() == "pub"
