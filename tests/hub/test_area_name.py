"""The area in words (issue 15.4): a preset's name or an imported alert's `areaDesc` travels
with the alert, to the desk, the mail, the CAP export and the Atom feed."""

from __future__ import annotations

from lxml import etree

from hub.messages import Renderer
from tests.cap.conftest import SAMPLES
from tests.cap.test_cap_api import send
from tests.conftest import INSIDE, Hub
from tests.hub.test_messages import an_alert

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


async def test_a_named_area_travels_with_the_alert_to_its_cap_and_atom(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, desk = await hub.partner("Bay Tower Security", INSIDE)
    alert = await hub.publish(publisher, area_name="  Financial District BIA ", tlp="TLP:CLEAR")
    shown = await hub.call("GET", f"/api/v1/alerts/{alert['id']}", desk, expect=200)
    assert shown["area_name"] == "Financial District BIA"
    cap = etree.fromstring(await _cap(hub, desk, alert["id"]))
    assert cap.findtext(f"{CAP}info/{CAP}area/{CAP}areaDesc") == "Financial District BIA"
    atom = await (await hub.client.get("/feeds/alerts.atom")).read()
    assert b"<cap:areaDesc>Financial District BIA</cap:areaDesc>" in atom


async def _cap(hub: Hub, token: str, alert_id: str) -> bytes:
    response = await hub.client.get(f"/api/v1/alerts/{alert_id}/cap", headers=hub.auth(token))
    assert response.status == 200
    return await response.read()


async def test_an_unnamed_area_is_described_by_its_shape(hub: Hub) -> None:
    publisher = await hub.publisher()
    alert = await hub.publish(publisher)
    shown = await hub.call("GET", f"/api/v1/alerts/{alert['id']}", publisher, expect=200)
    assert shown["area_name"] == ""
    cap = etree.fromstring(await _cap(hub, publisher, alert["id"]))
    assert cap.findtext(f"{CAP}info/{CAP}area/{CAP}areaDesc", "").startswith("a zone from ")


async def test_an_update_keeps_the_name_unless_it_redraws_the_area(hub: Hub) -> None:
    publisher = await hub.publisher()
    alert = await hub.publish(publisher, area_name="Financial District BIA")
    kept = await hub.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher,
                          expect=201, json={"headline": "Bay St reopened"})
    assert (await hub.call("GET", f"/api/v1/alerts/{kept['id']}", publisher))[
        "area_name"] == "Financial District BIA"
    circle = {"circle": {"lat": 43.6481, "lon": -79.3805, "radius_m": 150}}
    redrawn = await hub.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher,
                             expect=201, json={"area": circle})
    assert (await hub.call("GET", f"/api/v1/alerts/{redrawn['id']}", publisher))[
        "area_name"] == ""
    renamed = await hub.call("POST", f"/api/v1/alerts/{alert['id']}/update", publisher,
                             expect=201, json={"area": circle, "area_name": "Bay & King"})
    assert (await hub.call("GET", f"/api/v1/alerts/{renamed['id']}", publisher))[
        "area_name"] == "Bay & King"


async def test_a_bad_area_name_is_refused_by_name_and_nothing_is_written(hub: Hub) -> None:
    publisher = await hub.publisher()
    for bad, said in (("Financial\nDistrict", "one line"), ("x" * 201, "at most 200"),
                      (42, "must be a string"), ("bell\u0007", "control character")):
        answer = await hub.publish(publisher, expect=422, area_name=bad)
        assert said in answer["fields"]["area_name"], answer
    listed = await hub.call("GET", "/api/v1/alerts", publisher, expect=200)
    assert listed == []


async def test_imported_cap_is_named_by_its_area_descriptions(hub: Hub) -> None:
    publisher = await hub.publisher()
    created = await send(hub, publisher, (SAMPLES / "canada.cap").read_bytes())
    shown = await hub.call("GET", f"/api/v1/alerts/{created['id']}", publisher, expect=200)
    # The first <info>'s areas; the French <info> is their translation.
    assert shown["area_name"] == \
        "Windsor - Leamington - Essex County; Chatham-Kent - Rondeau Park"


def test_the_mail_names_the_area() -> None:
    message = Renderer("http://127.0.0.1:8080").alert(
        an_alert(area_name="Financial District BIA"), html=True)
    assert "\nArea: Financial District BIA\n" in message.text
    assert message.html is not None and \
        "<strong>Area:</strong> Financial District BIA" in message.html
    plain = Renderer("http://127.0.0.1:8080").alert(an_alert(), html=False)
    assert "Area:" not in plain.text
