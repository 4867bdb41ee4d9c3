"""Residents' pages: the sign-up form, the manage page, one-click unsubscribe, the public
alerts page and its Atom feed; only TLP:CLEAR ever leaves the partnership."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from hub.http import SESSIONS, SETTINGS
from hub.models import AuditEvent
from partners.models import Subscription, SubscriptionStatus
from partners.residents import SubscriptionDraft, subscribe, unsubscribe_token
from tests.conftest import Clock, Hub
from tests.hub.conftest import Sink

ATOM = "{http://www.w3.org/2005/Atom}"
FORM = {"email": "sam@resident.example", "lat": "43.6481", "lon": "-79.3805",
        "radius_m": "500"}


async def csrf(hub: Hub, path: str) -> dict[str, str]:
    """Open a page as a browser does; the form fields and headers its forms send back."""
    page = await hub.client.get(path)
    found = re.search(r'name="csrf_token" value="(\w+)"', await page.text())
    assert found is not None
    return {"csrf_token": found.group(1)}


async def submit(hub: Hub, path: str, form: dict[str, str], page: str | None = None
                 ) -> tuple[int, str]:
    fields = {**await csrf(hub, page or path), **form}
    origin = str(hub.client.make_url("/")).rstrip("/")
    response = await hub.client.post(path, data=fields, headers={"Origin": origin})
    return response.status, await response.text()


async def rows(hub: Hub) -> list[Subscription]:
    async with hub.client.app[SESSIONS]() as session:
        return list((await session.exec(select(Subscription))).all())


async def actions(hub: Hub) -> list[str]:
    async with hub.client.app[SESSIONS]() as session:
        events = await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))
        return [event.action for event in events.all() if event.action.startswith("subscr")]


def key(hub: Hub) -> str:
    return str(hub.client.app[SETTINGS].secret_key)


async def active(hub: Hub) -> tuple[Subscription, str]:
    """A confirmed subscription and its secret (the email round trip has its own test)."""
    async with hub.client.app[SESSIONS]() as session:
        row, secret = await subscribe(session, SubscriptionDraft(
            "sam@resident.example", 43.6481, -79.3805, 500), hub.clock())
        row.status = SubscriptionStatus.ACTIVE
        await session.commit()
    return row, secret


async def test_the_form_signs_up_by_email_and_the_confirmed_page_links_to_manage(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock,
        sink: Sink) -> None:
    hub = Hub(await aiohttp_client(make_app(smtp_url=f"smtp://127.0.0.1:{sink.port}")), clock)
    page = await hub.client.get("/subscribe")
    html = await page.text()
    assert page.status == 200 and 'name="lat"' in html and "TLP:CLEAR" in html
    status, html = await submit(hub, "/subscribe", FORM)
    assert status == 200 and "Check your email" in html and FORM["email"] in html
    secret = await sink.subscription_secret()
    assert sink.messages[-1]["To"] == FORM["email"]
    [row] = await rows(hub)
    assert (row.status, row.radius_m, row.lat) == ("pending", 500, 43.6481)
    status, html = await submit(hub, f"/subscribe/confirm/{secret}", {})
    assert status == 200 and "You are subscribed" in html
    assert f'href="/subscribe/manage/{secret}"' in html
    assert await actions(hub) == ["subscription.create", "subscription.confirm"]


async def test_a_number_that_does_not_parse_is_422_naming_it_and_nothing_is_stored(
        hub: Hub) -> None:
    status, html = await submit(hub, "/subscribe", {**FORM, "lat": "north"})
    assert status == 422
    assert 'id="lat-error"' in html and 'id="lon-error"' not in html
    assert 'value="north"' in html and f'value="{FORM["email"]}"' in html
    status, html = await submit(hub, "/subscribe", {**FORM, "lon": "200", "radius_m": "50",
                                                    "email": "nope"})
    assert status == 422
    assert all(f'id="{name}-error"' in html for name in ("lon", "radius_m", "email"))
    assert await rows(hub) == []


async def test_without_an_email_server_the_form_says_so(
        aiohttp_client: Any, make_app: Callable[..., web.Application], clock: Clock) -> None:
    hub = Hub(await aiohttp_client(make_app(smtp_url=None)), clock)
    status, html = await submit(hub, "/subscribe", FORM)
    assert status == 409 and "cannot send email" in html and 'value="43.6481"' in html
    assert await rows(hub) == []


async def test_the_form_needs_the_csrf_token(hub: Hub) -> None:
    origin = str(hub.client.make_url("/")).rstrip("/")
    response = await hub.client.post("/subscribe", data=FORM, headers={"Origin": origin})
    assert response.status == 403
    assert await rows(hub) == []


async def test_the_manage_page_changes_the_area_and_cancels(hub: Hub) -> None:
    row, secret = await active(hub)
    path = f"/subscribe/manage/{secret}"
    page = await hub.client.get(path)
    html = await page.text()
    assert page.status == 200 and row.email in html and "500 m" in html
    assert page.headers["Cache-Control"] == "no-store"
    status, html = await submit(hub, path, {"action": "update", "lat": "43.65",
                                            "lon": "-79.39", "radius_m": "2000"})
    assert status == 200 and "2 km" in html
    [changed] = await rows(hub)
    assert (changed.lat, changed.lon, changed.radius_m) == (43.65, -79.39, 2000)
    status, html = await submit(hub, path, {"action": "update", "lat": "x", "lon": "-79.1",
                                            "radius_m": "20000"})
    assert status == 422 and 'id="lat-error"' in html and 'id="radius_m-error"' in html
    status, _ = await submit(hub, path, {"action": "delete"})
    assert status == 422
    [unchanged] = await rows(hub)
    assert (unchanged.lat, unchanged.lon, unchanged.radius_m) == (43.65, -79.39, 2000)
    status, html = await submit(hub, path, {"action": "cancel"})
    assert status == 200 and "You are unsubscribed" in html and 'href="/subscribe"' in html
    assert [r.status for r in await rows(hub)] == ["cancelled"]
    assert await actions(hub) == ["subscription.update", "subscription.cancel"]
    gone = await hub.client.get(path)
    assert gone.status == 404 and 'href="/subscribe"' in await gone.text()


async def test_unknown_links_are_404_pages(hub: Hub) -> None:
    for path in ("/subscribe/manage/vgs_no-such-link", "/unsubscribe/u_nothing.00",
                 "/unsubscribe/not-even-a-token"):
        response = await hub.client.get(path)
        assert response.status == 404 and 'href="/subscribe"' in await response.text(), path
    status, _ = await submit(hub, "/subscribe/manage/vgs_no-such-link", {"action": "cancel"},
                             page="/subscribe")
    assert status == 404


async def test_opening_the_unsubscribe_link_asks_first(hub: Hub) -> None:
    row, _ = await active(hub)
    token = unsubscribe_token(row.id, key(hub))
    page = await hub.client.get(f"/unsubscribe/{token}")
    assert page.status == 200 and "Unsubscribe" in await page.text()
    assert [r.status for r in await rows(hub)] == ["active"]
    status, html = await submit(hub, f"/unsubscribe/{token}", {})  # the page's own button
    assert status == 200 and "You are unsubscribed" in html
    assert [r.status for r in await rows(hub)] == ["cancelled"]


async def test_one_click_unsubscribe_from_a_mail_service(hub: Hub) -> None:
    row, _ = await active(hub)
    token = unsubscribe_token(row.id, key(hub))
    hub.client.session.cookie_jar.clear()
    # RFC 8058: no cookies, no Origin, no CSRF token; the link's MAC is the authority.
    for _ in range(2):  # and a second time, as mail services retry
        response = await hub.client.post(
            f"/unsubscribe/{token}", data=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status == 200 and "You are unsubscribed" in await response.text()
    assert [r.status for r in await rows(hub)] == ["cancelled"]
    assert await actions(hub) == ["subscription.cancel"]


async def test_a_forged_unsubscribe_link_is_404_and_changes_nothing(hub: Hub) -> None:
    row, _ = await active(hub)
    forged = unsubscribe_token(row.id, "some other key")
    response = await hub.client.post(f"/unsubscribe/{forged}",
                                     data={"List-Unsubscribe": "One-Click"})
    assert response.status == 404
    assert [r.status for r in await rows(hub)] == ["active"]


def entries(feed: bytes) -> list[tuple[str, str]]:
    root = ET.fromstring(feed)
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}updated") is not None
    return [(str(e.findtext(f"{ATOM}id")), str(e.findtext(f"{ATOM}title")))
            for e in root.iter(f"{ATOM}entry")]


async def public(hub: Hub) -> tuple[str, list[tuple[str, str]]]:
    page = await hub.client.get("/public")
    feed = await hub.client.get("/feeds/alerts.atom")
    assert page.status == feed.status == 200
    assert feed.content_type == "application/atom+xml"
    return await page.text(), entries(await feed.read())


async def test_only_tlp_clear_alerts_are_public(hub: Hub) -> None:
    publisher = await hub.publisher()
    clear = await hub.publish(publisher, tlp="TLP:CLEAR", headline="Road closed on Bay St")
    await hub.publish(publisher, tlp="TLP:GREEN", headline="Partners only: lobby threat")
    html, feed = await public(hub)
    assert f'id="alert-{clear["id"]}"' in html and "Road closed on Bay St" in html
    assert "Partners only" not in html
    assert '<link rel="alternate" type="application/atom+xml" href="/feeds/alerts.atom"' in html
    assert feed == [(f"http://127.0.0.1:8080/feeds/alerts/{clear['id']}.cap",
                     "Road closed on Bay St")]


async def test_public_shows_the_newest_message_of_a_chain_until_cancelled_or_expired(
        hub: Hub) -> None:
    publisher = await hub.publisher()
    first = await hub.publish(publisher, tlp="TLP:CLEAR", headline="Road closed")
    other = await hub.publish(publisher, tlp="TLP:CLEAR", headline="Park closed")
    update = await hub.call("POST", f"/api/v1/alerts/{first['id']}/update", publisher,
                            expect=201, json={"headline": "Road closed until noon"})
    html, feed = await public(hub)
    assert "Road closed until noon" in html and ">Road closed<" not in html
    assert f'id="alert-{update["id"]}"' in html and f'id="alert-{first["id"]}"' in html
    # The feed, like the page, holds the current message of each live chain.
    assert [title for _, title in feed] == ["UPDATE: Road closed until noon", "Park closed"]
    await hub.call("POST", f"/api/v1/alerts/{update['id']}/cancel", publisher, expect=201)
    html, feed = await public(hub)
    assert "Road closed" not in html and "Park closed" in html
    assert [title for _, title in feed] == ["Park closed"]
    hub.clock.advance(3 * 3600)  # past `expires`
    html, feed = await public(hub)
    assert "Park closed" not in html and "no public alerts" in html and feed == []
    assert other["id"]


async def test_an_update_to_a_stricter_label_leaves_the_public_page(hub: Hub) -> None:
    publisher = await hub.publisher()
    first = await hub.publish(publisher, tlp="TLP:CLEAR", headline="Road closed")
    await hub.call("POST", f"/api/v1/alerts/{first['id']}/update", publisher, expect=201,
                   json={"tlp": "TLP:GREEN", "headline": "Now partners only"})
    html, feed = await public(hub)
    assert "Road closed" not in html and "Now partners only" not in html
    assert feed == []
