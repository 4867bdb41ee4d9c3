"""The desk stays readable (issue 15.4): an answered alert folds to one line, an alert can
be dismissed to the earlier alerts (which count what they list), an update says what
changed, and an alert replayed after a drop is marked as missed while away."""

from __future__ import annotations

from playwright.async_api import expect

from hub.http import FEED
from tests.pages.conftest import LiveHub, screenshot
from tests.pages.test_desk import desk


async def test_answered_alerts_fold_and_dismissed_ones_go_to_earlier_alerts(
        live: LiveHub) -> None:
    page, publisher = await desk(live, viewport={"width": 1000, "height": 900})
    first = await live.api.publish(publisher, headline="Suspicious package, King St W")
    second = await live.api.publish(publisher, headline="Road closed, Bay St")
    card = page.locator(f"#alert-{first['id']}")
    await card.get_by_role("button", name="Received").click()
    # Answered: one line with the severity, the headline and the answer.
    fold = card.locator(".fold-line")
    await expect(fold).to_be_visible()
    await expect(fold).to_contain_text("Suspicious package, King St W")
    await expect(fold).to_contain_text("Received")
    await expect(card.locator(".banner")).to_be_hidden()
    await screenshot(page, "desk-folded")
    await fold.get_by_role("button", name="Show").click()
    await expect(card.locator(".banner")).to_be_visible()

    # Dismissed: off the live board, listed (and counted) under Earlier alerts.
    await expect(page.locator("#history-heading")).to_have_text("Earlier alerts")
    await page.locator(f"#alert-{second['id']}").get_by_role("button", name="Dismiss").click()
    await expect(page.locator("#live-alerts #alert-" + second["id"])).to_have_count(0)
    await expect(page.locator("#history-heading")).to_have_text("Earlier alerts (1)")
    await expect(page.locator("#history")).to_contain_text("Road closed, Bay St")
    await expect(page.locator("#history-state")).to_contain_text("1 earlier alert,")
    # Dismissed from the screen, not from the record.
    shown = await live.api.call("GET", f"/api/v1/alerts/{second['id']}", publisher)
    assert shown["status"] == "published"


async def test_an_update_says_what_changed(live: LiveHub) -> None:
    page, publisher = await desk(live)
    alert = await live.api.publish(publisher)
    await live.api.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher,
                        expect=201, json={"severity": "Moderate",
                                          "instruction": "Use the south doors."})
    changed = page.locator(f"#alert-{alert['id']} .changed")
    await expect(changed).to_have_text(
        "What changed: severity Severe → Moderate; what to do.")


async def test_an_alert_replayed_after_a_drop_is_marked_missed_while_away(
        live: LiveHub) -> None:
    page, publisher = await desk(live)
    await page.context.set_offline(True)
    for connected in list(live.api.client.app[FEED].desks):
        await connected.ws.close(code=1012, message=b"restart")
    await expect(page.locator(".status.offline")).to_be_visible()
    missed = await live.api.publish(publisher, headline="Road closed, Bay St")
    await page.context.set_offline(False)
    await expect(page.locator(".status.online")).to_have_text("Live")
    await expect(page.locator(f"#alert-{missed['id']} .missed")).to_contain_text(
        "Missed while away")
    fresh = await live.api.publish(publisher, headline="All lanes open, Bay St")
    await expect(page.locator(f"#alert-{fresh['id']} .banner")).to_contain_text(
        "All lanes open")
    await expect(page.locator(f"#alert-{fresh['id']} .missed")).to_have_count(0)
