"""CAP messages as Vigil alerts and back: the mapping both ways, with no database in sight.

Import: the first `<info>` gives the alert's columns (the others are kept as translations),
every `<area>` geometry of every `<info>` together makes the geofence, and the scope (with a
TLP label in `<restriction>`) gives the TLP label. Export: a Vigil alert becomes one
`<info>` with one `<area>`; the label travels as scope Public (TLP:CLEAR) or as scope
Restricted with the label as the restriction, so importing an export gives the same alert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import shapely
from shapely.geometry import MultiPolygon, Polygon

from hub.alerts import (
    MAX_ACK_WITHIN_S,
    MAX_TEXT,
    AlertDraft,
)
from hub.cap import (
    CapArea,
    Category,
    Certainty,
    Circle,
    Info,
    Message,
    Pair,
    Reference,
    Resource,
    Severity,
    Urgency,
)
from hub.geo import NOWHERE, Area, AreaError, describe_area, parse_area
from hub.media import MIME_TYPES, MediaKind
from hub.models import Alert, AlertStatus
from hub.tlp import Tlp
from partners.validation import MAX_LANGUAGE_TAG

ACK_PARAMETER = "vigil:ack_within_s"
# A CAP circle of radius 0 is a point (an earthquake's epicentre); it geofences as 1 metre.
MIN_CIRCLE_M = 1.0
CIRCLE_VERTICES = 64
_TLP_IN_TEXT = re.compile(r"TLP:(CLEAR|WHITE|GREEN|AMBER\+STRICT|AMBER|RED)", re.IGNORECASE)
# The CAP statuses whose messages are meant to be acted on; the others are stored and shown
# but reach nobody.
DELIVERED_STATUSES = ("Actual", "Exercise")


@dataclass(frozen=True)
class Identity:
    """How this hub names its own alerts in CAP: `vigil@host` and `vigil.<alert id>`."""

    sender: str

    @classmethod
    def of(cls, public_url: str) -> Identity:
        return cls(f"vigil@{urlsplit(public_url).hostname or 'localhost'}")

    def identifier(self, alert_id: str) -> str:
        return f"vigil.{alert_id}"

    def alert_id_of(self, sender: str, identifier: str) -> str | None:
        """The alert id a CAP sender and identifier name, when they name one of ours."""
        if sender != self.sender or not identifier.startswith("vigil."):
            return None
        return identifier.removeprefix("vigil.")


def cap_time(moment: datetime) -> str:
    """A date-time as CAP writes it: seconds, and an offset rather than Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


# -- import ---------------------------------------------------------------------------------

def draft_of(message: Message) -> AlertDraft:
    """The alert a CAP message makes. Raises AreaError for a geometry Vigil cannot use."""
    info = message.infos[0] if message.infos else None
    area = geofence(message)
    if info is None:
        headline = message.note or f"{message.msg_type} from {message.sender}"
        return AlertDraft(headline=headline[:MAX_TEXT["headline"]], event="(no information)",
                          category=Category.OTHER, severity=Severity.UNKNOWN,
                          urgency=Urgency.UNKNOWN, certainty=Certainty.UNKNOWN,
                          tlp=tlp_of(message), description="", instruction="", area=area,
                          expires=None, ack_within_s=None, language="en-US")
    category = next((Category(c) for c in info.categories if c in set(Category)),
                    Category.OTHER)
    headline = (info.headline or info.event)[:MAX_TEXT["headline"]]
    return AlertDraft(headline=headline, event=info.event[:MAX_TEXT["event"]], category=category,
                      severity=Severity(info.severity), urgency=Urgency(info.urgency),
                      certainty=Certainty(info.certainty), tlp=tlp_of(message),
                      description=(info.description or "")[:MAX_TEXT["description"]],
                      instruction=(info.instruction or "")[:MAX_TEXT["instruction"]], area=area,
                      area_name=_area_name(info), expires=info.expires,
                      ack_within_s=_ack_within(info), language=info.language[:MAX_LANGUAGE_TAG])


def _area_name(info: Info) -> str:
    """The first `<info>`'s `<areaDesc>`s as one line (the others are its translations)."""
    named = "; ".join(area.description for area in info.areas if area.description)
    return " ".join(named.split())[:MAX_TEXT["area_name"]]


def tlp_of(message: Message) -> Tlp:
    """Public is TLP:CLEAR; otherwise a TLP label named in the restriction (or a `TLP`
    parameter) wins, else TLP:AMBER for Restricted and TLP:RED for Private (named people)."""
    texts = [message.restriction or ""] + [p.value for info in message.infos
                                           for p in info.parameters if p.name.upper() == "TLP"]
    for text in texts:
        found = _TLP_IN_TEXT.search(text)
        if found:
            label = found.group(1).upper()
            return Tlp.CLEAR if label in ("CLEAR", "WHITE") else Tlp(f"TLP:{label}")
    if message.scope == "Public":
        return Tlp.CLEAR
    return Tlp.RED if message.scope == "Private" else Tlp.AMBER


def _ack_within(info: Info) -> int | None:
    for parameter in info.parameters:
        if parameter.name == ACK_PARAMETER and parameter.value.isdigit():
            return min(max(int(parameter.value), 1), MAX_ACK_WITHIN_S)
    return None


def geofence(message: Message) -> Area:
    """One area from every polygon and circle of every `<info>`; NOWHERE when the message
    only names places (geocodes). A self-crossing polygon, as some agencies draw them, is
    repaired to the region it outlines rather than refused."""
    polygons: list[tuple[tuple[float, float], ...]] = []
    circles: list[Circle] = []
    for info in message.infos:
        for area in info.areas:
            polygons += [p for p in area.polygons if p not in polygons]
            circles += [c for c in area.circles if c not in circles]
    if not polygons and not circles:
        return NOWHERE
    if not polygons and len(circles) == 1:
        c = circles[0]
        return parse_area({"circle": {"lat": c.lat, "lon": c.lon,
                                      "radius_m": max(c.radius_km * 1000, MIN_CIRCLE_M)}})
    rings: list[list[list[float]]] = []
    for ring in polygons:
        shape = _repaired(Polygon([(lon, lat) for lat, lon in ring]))
        if shape is None:
            rings.append([[lon, lat] for lat, lon in ring])  # as sent, so exports round-trip
        else:
            rings += [_ring(part.exterior.coords) for part in _parts(shape)]
    rings += [_ring(_circle_polygon(c).exterior.coords) for c in circles]
    if len(rings) == 1:
        return parse_area({"type": "Polygon", "coordinates": rings})
    # Overlapping parts are fine: parse_area geofences their union.
    return parse_area({"type": "MultiPolygon", "coordinates": [[ring] for ring in rings]})


def _repaired(polygon: Polygon) -> Polygon | MultiPolygon | None:
    """None for a valid polygon; else the region a self-crossing ring outlines."""
    if polygon.is_valid and polygon.area > 0:
        return None
    pieces = [g for g in _parts(shapely.make_valid(polygon)) if g.area > 0]
    if not pieces:
        raise AreaError("area", "a polygon encloses no area")
    return MultiPolygon(pieces) if len(pieces) > 1 else pieces[0]


def _parts(geometry: Any) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    return [p for g in getattr(geometry, "geoms", []) for p in _parts(g)]


def _ring(points: Any) -> list[list[float]]:
    return [[float(x), float(y)] for x, y, *_ in points]


def _circle_polygon(circle: Circle) -> Polygon:
    radius = max(circle.radius_km * 1000, MIN_CIRCLE_M)
    dlat = radius / 111_320.0
    dlon = dlat / max(math.cos(math.radians(circle.lat)), 1e-6)
    return Polygon([(circle.lon + dlon * math.cos(a), circle.lat + dlat * math.sin(a))
                    for a in (2 * math.pi * i / CIRCLE_VERTICES for i in range(CIRCLE_VERTICES))])


def summary(message: Message, signature: dict[str, Any]) -> dict[str, Any]:
    """What the alert JSON shows of a CAP document beyond the alert's own columns."""
    def pairs(items: Sequence[Pair]) -> list[dict[str, str]]:
        return [{"name": p.name, "value": p.value} for p in items]

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "identifier": message.identifier, "sender": message.sender,
        "sent": message.sent.isoformat(), "status": message.status, "scope": message.scope,
        "source": message.source, "note": message.note, "restriction": message.restriction,
        "addresses": message.addresses, "incidents": message.incidents,
        "codes": list(message.codes), "version": message.version,
        "references": [{"sender": r.sender, "identifier": r.identifier, "sent": r.sent}
                       for r in message.references],
        "signature": signature,
        "warnings": [{"path": w.path, "message": w.message} for w in message.warnings],
        "infos": [{
            "language": i.language, "headline": i.headline or i.event, "event": i.event,
            "description": i.description or "", "instruction": i.instruction or "",
            "categories": list(i.categories), "response_types": list(i.response_types),
            "urgency": i.urgency, "severity": i.severity, "certainty": i.certainty,
            "audience": i.audience, "sender_name": i.sender_name, "web": i.web,
            "contact": i.contact, "effective": when(i.effective), "onset": when(i.onset),
            "expires": when(i.expires), "event_codes": pairs(i.event_codes),
            "parameters": pairs(i.parameters),
            "resources": [{"description": r.description, "mime_type": r.mime_type,
                           "size": r.size, "uri": r.uri, "digest": r.digest,
                           "embedded": r.deref_uri is not None} for r in i.resources],
            "areas": [{"description": a.description, "geocodes": pairs(a.geocodes),
                       "polygons": len(a.polygons), "circles": len(a.circles),
                       "altitude": a.altitude, "ceiling": a.ceiling} for a in i.areas],
        } for i in message.infos],
    }


# -- languages ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Texts:
    """An alert's words in one language."""

    language: str
    headline: str
    event: str
    description: str
    instruction: str


def texts(alert: Alert, wanted: Sequence[str] = ()) -> Texts:
    """The alert's words in the first of the wanted languages it has (an exact tag, then the
    same primary language: fr matches fr-CA), else in its first language."""
    own = Texts(alert.language, alert.headline, alert.event, alert.description,
                alert.instruction)
    infos = (alert.cap or {}).get("infos") or []
    choices = [own] + [Texts(i["language"], i["headline"][:200], i["event"][:200],
                             i["description"], i["instruction"]) for i in infos[1:]]
    for want in (w.strip().lower() for w in wanted if w and w.strip()):
        exact = [t for t in choices if t.language.lower() == want]
        same = [t for t in choices if t.language.lower().split("-")[0] == want.split("-")[0]]
        if exact or same:
            return (exact or same)[0]
    return own


def accepted_languages(header: str | None) -> list[str]:
    """The tags of an Accept-Language header, most wanted first."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


# -- export ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    """An earlier message of the same alert, as a CAP reference names it."""

    sender: str
    identifier: str
    sent: str


def message_of(alert: Alert, identity: Identity, earlier: Sequence[Sent],
               sender_name: str | None, public_url: str) -> Message:
    """A Vigil alert as a CAP 1.2 message (one `<info>`, one `<area>`)."""
    tlp = alert.tlp
    parameters = (Pair(ACK_PARAMETER, str(alert.ack_within_s)),) if alert.ack_within_s else ()
    area = _cap_area(alert.area, alert.area_name)
    info = Info(
        categories=(alert.category,), event=alert.event, urgency=alert.urgency,
        severity=alert.severity, certainty=alert.certainty, language=alert.language,
        expires=alert.expires, sender_name=sender_name, headline=alert.headline,
        description=alert.description or None, instruction=alert.instruction or None,
        web=f"{public_url.rstrip('/')}/public#alert-{alert.id}" if tlp is Tlp.CLEAR else None,
        parameters=parameters, areas=(area,) if area else (),
        resources=tuple(_resource(alert.id, n, attached, public_url)
                        for n, attached in enumerate(alert.attachments or ())))
    return Message(
        identifier=identity.identifier(alert.id), sender=identity.sender,
        sent=(alert.sent_at or alert.created_at).replace(microsecond=0),
        status="Actual" if alert.status == AlertStatus.PUBLISHED else "Draft",
        msg_type=alert.msg_type, source="Vigil",
        scope="Public" if tlp is Tlp.CLEAR else "Restricted",
        restriction=None if tlp is Tlp.CLEAR else str(tlp),
        references=tuple(Reference(e.sender, e.identifier, e.sent) for e in earlier),
        infos=(info,))


def _resource(alert_id: str, n: int, attached: dict[str, Any], public_url: str) -> Resource:
    """A report file an update carries, where its audience fetches it, with its SHA-1."""
    return Resource(f"Field report photo or video {n + 1}",
                    MIME_TYPES[MediaKind(attached["kind"])], attached["size"],
                    f"{public_url.rstrip('/')}/api/v1/alerts/{alert_id}/attachments/{n}",
                    digest=attached["sha1"])


def _cap_area(area: dict[str, Any] | None, name: str) -> CapArea | None:
    if area is None:
        return None
    description = name or describe_area(area)
    circle = area.get("circle")
    if circle:
        return CapArea(description, circles=(Circle(circle["lat"], circle["lon"],
                                                    circle["radius_m"] / 1000),))
    polygons = area["coordinates"] if area["type"] == "MultiPolygon" else [area["coordinates"]]
    # CAP polygons have no holes: each outer ring is written; holes are dropped.
    return CapArea(description, polygons=tuple(
        tuple((lat, lon) for lon, lat in rings[0]) for rings in polygons))

