"""Who sent it (issue 15.3): every alert names its sending organisation, or for imported CAP
the document's own senderName (else sender), never the service that imported it."""

from __future__ import annotations

from collections.abc import Callable

from tests.cap.conftest import SAMPLES
from tests.cap.test_cap_api import send
from tests.capdoc import cap_alert
from tests.conftest import INSIDE, Browser, Hub


async def test_an_alert_and_its_updates_name_the_sending_organisation(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    alert = await hub.publish(publisher)
    shown = await hub.call("GET", f"/api/v1/alerts/{alert['id']}", desk, expect=200)
    assert shown["sender_name"] == "Toronto Police Service"
    update = await hub.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher,
                            expect=201, json={"headline": "Bay St reopened"})
    revised = await hub.call("GET", f"/api/v1/alerts/{update['id']}", desk, expect=200)
    assert revised["sender_name"] == "Toronto Police Service"


async def test_imported_cap_names_its_own_sender_not_the_importing_service(
        hub: Hub, browsers: Callable[[], Browser]) -> None:
    publisher = await hub.publisher()
    # A 2012 Environment Canada watch: its senderName, not "Toronto Police Service".
    created = await send(hub, publisher, (SAMPLES / "canada.cap").read_bytes())
    shown = await hub.call("GET", f"/api/v1/alerts/{created['id']}", publisher, expect=200)
    assert shown["sender_name"] == "Environment Canada"
    # With no senderName, the CAP sender address names it.
    bare = cap_alert("TFS-9", sender="cap@tfs.example").replace(
        b"<senderName>Toronto Fire Services</senderName>", b"")
    plain = await send(hub, publisher, bare)
    assert (await hub.call("GET", f"/api/v1/alerts/{plain['id']}", publisher))[
        "sender_name"] == "cap@tfs.example"
    org = shown["sender_organisation_id"]
    await hub.person(org, "publisher", "pub@tps.example")
    browser = browsers()
    await browser.sign_in("pub@tps.example")
    await browser.enrol()
    page = await browser.call("GET", f"/alerts/{created['id']}", 200)
    assert "<dt>Sent by</dt><dd>Environment Canada</dd>" in page
