"""Write a `Message` as a CAP 1.2 document, elements in the order the OASIS schema requires.

Built with lxml, which escapes markup and carriage returns and refuses characters XML cannot
carry (ValueError), so what `dump` writes always parses back to the same text.

Its one import from outside `hub.cap` is `partners.validation.xml_safe`, a stdlib-only leaf:
the characters XML cannot carry are declared there once, for input checks and every writer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from lxml import etree

from hub.cap import NS_12, CapArea, Circle, Info, Message, Pair, Resource
from partners.validation import xml_safe

_INDENT = "  "


def dump(message: Message) -> bytes:
    """The message as UTF-8 CAP 1.2 XML with declaration, default namespace and indentation."""
    alert = etree.Element(f"{{{NS_12}}}alert", nsmap={None: NS_12})
    _text(alert, "identifier", message.identifier)
    _text(alert, "sender", message.sender)
    _text(alert, "sent", format_datetime(message.sent))
    _text(alert, "status", message.status)
    _text(alert, "msgType", message.msg_type)
    _text(alert, "source", message.source)
    _text(alert, "scope", message.scope)
    _text(alert, "restriction", message.restriction)
    _text(alert, "addresses", message.addresses)
    for code in message.codes:
        _text(alert, "code", code)
    _text(alert, "note", message.note)
    if message.references:
        _text(alert, "references", " ".join(
            f"{r.sender},{r.identifier},{r.sent}" for r in message.references))
    _text(alert, "incidents", message.incidents)
    for info in message.infos:
        _info(alert, info)
    _indent(alert, 0)
    body: bytes = etree.tostring(alert, encoding="UTF-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def format_datetime(value: datetime) -> str:
    """`YYYY-MM-DDThh:mm:ss±hh:mm` with the value's own offset (UTC as +00:00), no fraction."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"CAP date-times need a UTC offset: {value.isoformat()}")
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{value:%Y-%m-%dT%H:%M:%S}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_number(value: float) -> str:
    """A plain decimal (no exponent) that reads back as exactly the same float."""
    if not math.isfinite(value):
        raise ValueError(f"CAP numbers must be finite: {value!r}")
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def format_polygon(points: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{format_number(lat)},{format_number(lon)}" for lat, lon in points)


def format_circle(circle: Circle) -> str:
    return (f"{format_number(circle.lat)},{format_number(circle.lon)} "
            f"{format_number(circle.radius_km)}")


def _info(alert: etree._Element, info: Info) -> None:
    element = etree.SubElement(alert, f"{{{NS_12}}}info")
    _text(element, "language", info.language)
    for category in info.categories:
        _text(element, "category", category)
    _text(element, "event", info.event)
    for response_type in info.response_types:
        _text(element, "responseType", response_type)
    _text(element, "urgency", info.urgency)
    _text(element, "severity", info.severity)
    _text(element, "certainty", info.certainty)
    _text(element, "audience", info.audience)
    _pairs(element, "eventCode", info.event_codes)
    for name, when in (("effective", info.effective), ("onset", info.onset),
                       ("expires", info.expires)):
        if when is not None:
            _text(element, name, format_datetime(when))
    _text(element, "senderName", info.sender_name)
    _text(element, "headline", info.headline)
    _text(element, "description", info.description)
    _text(element, "instruction", info.instruction)
    _text(element, "web", info.web)
    _text(element, "contact", info.contact)
    _pairs(element, "parameter", info.parameters)
    for resource in info.resources:
        _resource(element, resource)
    for area in info.areas:
        _area(element, area)


def _resource(info: etree._Element, resource: Resource) -> None:
    element = etree.SubElement(info, f"{{{NS_12}}}resource")
    _text(element, "resourceDesc", resource.description)
    _text(element, "mimeType", resource.mime_type)
    if resource.size is not None:
        _text(element, "size", str(resource.size))
    _text(element, "uri", resource.uri)
    _text(element, "derefUri", resource.deref_uri)
    _text(element, "digest", resource.digest)


def _area(info: etree._Element, area: CapArea) -> None:
    element = etree.SubElement(info, f"{{{NS_12}}}area")
    _text(element, "areaDesc", area.description)
    for polygon in area.polygons:
        _text(element, "polygon", format_polygon(polygon))
    for circle in area.circles:
        _text(element, "circle", format_circle(circle))
    _pairs(element, "geocode", area.geocodes)
    if area.altitude is not None:
        _text(element, "altitude", format_number(area.altitude))
    if area.ceiling is not None:
        _text(element, "ceiling", format_number(area.ceiling))


def _pairs(parent: etree._Element, name: str, pairs: Iterable[Pair]) -> None:
    for pair in pairs:
        element = etree.SubElement(parent, f"{{{NS_12}}}{name}")
        _text(element, "valueName", pair.name)
        _text(element, "value", pair.value)


def _text(parent: etree._Element, name: str, value: str | None) -> None:
    if value is not None:
        etree.SubElement(parent, f"{{{NS_12}}}{name}").text = xml_safe(value)


def _indent(element: etree._Element, level: int) -> None:
    """Indent child elements only; text of leaf elements is left exactly as it is."""
    children = list(element)
    if not children:
        return
    element.text = "\n" + _INDENT * (level + 1)
    for child in children:
        _indent(child, level + 1)
        child.tail = "\n" + _INDENT * (level + 1)
    children[-1].tail = "\n" + _INDENT * level
