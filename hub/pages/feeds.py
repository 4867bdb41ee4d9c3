"""Public feeds: the Atom feed of current TLP:CLEAR alerts and each one's CAP document.

The Atom feed follows the shape public alert aggregators read (as national weather services
publish theirs): one entry per current alert, linking its CAP 1.2 document with type
`application/cap+xml` and repeating the key CAP fields as `cap:` elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiohttp import web
from lxml import etree

from hub.access import PUBLIC, allow
from hub.cap import NS_12
from hub.cap_alerts import cap_time
from hub.cap_export import cap_document, cap_response
from hub.errors import NotFound
from hub.geo import describe_area
from hub.http import CLOCK, PUBLISHING, SESSIONS, SETTINGS
from hub.messages import KIND_LABELS
from hub.models import Alert, AlertStatus
from hub.pages.residents import public_alerts_query
from hub.tlp import Tlp
from partners.validation import xml_safe

routes = web.RouteTableDef()
ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 100


def cap_url(public_url: str, alert_id: str) -> str:
    return f"{public_url}/feeds/alerts/{alert_id}.cap"


def atom_document(alerts: Sequence[Alert], public_url: str, now: datetime) -> bytes:
    """An Atom 1.0 feed (RFC 4287) of the current public alerts, newest first."""
    self_url = f"{public_url}/feeds/alerts.atom"
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM, "cap": NS_12})
    _node(feed, "id", self_url)
    _node(feed, "title", "Vigil public safety alerts")
    _node(feed, "subtitle", "Current alerts the police marked TLP:CLEAR: anyone may read "
          "and share them. Each entry links its CAP 1.2 document.")
    _node(feed, "updated", cap_time(max((_sent(a) for a in alerts), default=now)))
    _node(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _node(feed, "link", rel="alternate", type="text/html", href=f"{public_url}/public")
    _node(_node(feed, "author"), "name", "Vigil")
    for alert in alerts:
        document = cap_url(public_url, alert.id)
        entry = _node(feed, "entry")
        _node(entry, "id", document)
        _node(entry, "title", f"{KIND_LABELS.get(alert.msg_type, '')}{alert.headline}")
        _node(entry, "updated", cap_time(_sent(alert)))
        _node(entry, "published", cap_time(_sent(alert)))
        _node(entry, "summary", "\n\n".join(p for p in (alert.description, alert.instruction)
                                            if p))
        _node(entry, "category", term=alert.event, scheme="urn:vigil:event")
        _node(entry, "link", rel="alternate", type="application/cap+xml", href=document)
        _node(entry, "link", rel="related", type="text/html",
              href=f"{public_url}/public#alert-{alert.id}")
        _cap_fields(entry, alert)
    return etree.tostring(feed, encoding="utf-8", xml_declaration=True, pretty_print=True)


def _cap_fields(entry: Any, alert: Alert) -> None:
    cap = alert.cap or {}
    for name, value in (("event", alert.event), ("effective", cap_time(_sent(alert))),
                        ("expires", cap_time(alert.expires) if alert.expires else None),
                        ("status", cap.get("status", "Actual")), ("msgType", alert.msg_type),
                        ("category", alert.category), ("urgency", alert.urgency),
                        ("severity", alert.severity), ("certainty", alert.certainty),
                        ("areaDesc", _area_description(alert))):
        if value:
            etree.SubElement(entry, f"{{{NS_12}}}{name}").text = xml_safe(value)
    area = alert.area or {}
    circle = area.get("circle")
    if circle:
        etree.SubElement(entry, f"{{{NS_12}}}circle").text = \
            f"{circle['lat']},{circle['lon']} {circle['radius_m'] / 1000:g}"
    elif area:
        polygons = area["coordinates"] if area["type"] == "MultiPolygon" \
            else [area["coordinates"]]
        for rings in polygons:
            etree.SubElement(entry, f"{{{NS_12}}}polygon").text = " ".join(
                f"{lat},{lon}" for lon, lat in rings[0])


def _area_description(alert: Alert) -> str:
    return alert.area_name or describe_area(alert.area)


def _node(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    node = etree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    node.text = None if text is None else xml_safe(text)
    return node


def _sent(alert: Alert) -> datetime:
    return alert.sent_at or alert.created_at


@routes.get("/feeds/alerts.atom")
@allow(PUBLIC)
async def atom_feed(request: web.Request) -> web.Response:
    now = request.app[CLOCK]()
    async with request.app[SESSIONS]() as session:
        alerts = (await session.exec(public_alerts_query(now).limit(FEED_SIZE))).all()
    body = atom_document(alerts, request.app[SETTINGS].public_url.rstrip("/"), now)
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")


@routes.get(r"/feeds/alerts/{id:[0-9a-f]{32}}.cap")
@allow(PUBLIC)
async def public_cap(request: web.Request) -> web.Response:
    """The CAP document of a published TLP:CLEAR alert, for anyone."""
    async with request.app[SESSIONS]() as session:
        alert = await session.get(Alert, request.match_info["id"])
        if alert is None or alert.status != AlertStatus.PUBLISHED or alert.tlp != Tlp.CLEAR:
            raise NotFound("no public alert has this id")
        document = await cap_document(session, alert, request.app[SETTINGS],
                                       request.app[PUBLISHING].identity)
    return cap_response(document, alert.id)
