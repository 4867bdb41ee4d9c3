"""OASIS CAP 1.2 (and 1.1, read only): the message model, a hardened parser and the CAP rules.

`parse(data)` turns a document's bytes into a `Message` or raises `CapInvalid` listing every
violation with its element path. The model mirrors CAP's elements one for one, so writing
a parsed message back out (`hub.cap.write.dump`) loses nothing Vigil understands.

The package is CAP on its own: this reader, its value rules (`rules`), the writer (`write`)
and XML-DSig signatures (`signature`). It imports nothing else from the hub; turning a
`Message` into an alert and back, import and export live beside publishing (`hub.cap_alerts`,
`hub.cap_import`, `hub.cap_export`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as defused_et
from defusedxml import DefusedXmlException

from hub.cap import rules

NS_12 = "urn:oasis:names:tc:emergency:cap:1.2"
NS_11 = "urn:oasis:names:tc:emergency:cap:1.1"
NS_DSIG = "http://www.w3.org/2000/09/xmldsig#"
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
MAX_RESOURCE_BYTES = 1024 * 1024  # one embedded (derefUri) resource, decoded

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess",
                  "AllClear", "None")


class Category(enum.StrEnum):
    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class Severity(enum.StrEnum):
    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Urgency(enum.StrEnum):
    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class Certainty(enum.StrEnum):
    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


# The one declaration of each: alerts carry these enumerations, the reader checks by them.
CATEGORIES = tuple(Category)
URGENCIES = tuple(Urgency)
SEVERITIES = tuple(Severity)
CERTAINTIES = tuple(Certainty)


@dataclass(frozen=True)
class Violation:
    """One broken CAP rule; `path` is the element's XPath, e.g. `/alert/info[1]/urgency`."""

    path: str
    message: str


class CapInvalid(ValueError):
    """A document that is not acceptable CAP: every violation found, not just the first."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.path}: {v.message}" for v in violations))


@dataclass(frozen=True)
class Pair:
    """CAP's valueName/value pair, used by eventCode, parameter and geocode."""

    name: str
    value: str


@dataclass(frozen=True)
class Reference:
    """One entry of `<references>`: `sender,identifier,sent` of an earlier message."""

    sender: str
    identifier: str
    sent: str  # as written, so it can be matched and written back unchanged


@dataclass(frozen=True)
class Resource:
    description: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None  # the base64 content, as sent
    digest: str | None = None  # SHA-1 hex, as sent


@dataclass(frozen=True)
class Circle:
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True)
class CapArea:
    description: str
    # Each polygon is its closed ring of (lat, lon) points, in CAP's own order.
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[Pair, ...] = ()
    altitude: float | None = None
    ceiling: float | None = None


@dataclass(frozen=True)
class Info:
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    language: str = "en-US"
    response_types: tuple[str, ...] = ()
    audience: str | None = None
    event_codes: tuple[Pair, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[Pair, ...] = ()
    resources: tuple[Resource, ...] = ()
    areas: tuple[CapArea, ...] = ()


@dataclass(frozen=True)
class Message:
    """A CAP `<alert>`. Date-times keep the offset they were written with."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[Reference, ...] = ()
    incidents: str | None = None
    infos: tuple[Info, ...] = ()
    version: str = "1.2"  # the version it was read as; Vigil always writes 1.2
    # What the reader let pass that CAP 1.2 does not allow but real agencies send, as other
    # CAP consumers do: an empty <references/> (Canada's NAAD), an empty <polygon/> (the US
    # National Weather Service). Each is skipped, and shown with the alert.
    warnings: tuple[Violation, ...] = ()


_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)  # stands in for a bad date-time; never returned
_VERSIONS = {NS_12: "1.2", NS_11: "1.1"}
_ALERT_ONE = ("identifier", "sender", "sent", "status", "msgType", "source", "scope",
              "restriction", "addresses", "note", "references", "incidents")
_INFO_ONE = ("language", "event", "urgency", "severity", "certainty", "audience", "effective",
             "onset", "expires", "senderName", "headline", "description", "instruction", "web",
             "contact")
_RESOURCE_ONE = ("resourceDesc", "mimeType", "size", "uri", "derefUri", "digest")
_AREA_ONE = ("areaDesc", "altitude", "ceiling")
_PAIR_ONE = ("valueName", "value")


def parse(data: bytes) -> Message:
    """Read a CAP 1.2 or 1.1 document; raise CapInvalid naming every violation."""
    root = _load(data)
    namespace, name = _split(root.tag)
    if name != "alert" or namespace not in _VERSIONS:
        found = f"namespace {namespace!r}" if namespace else "no namespace"
        raise CapInvalid([Violation("/", f"the root element is <{name}> in {found}; expected "
                                         f"<alert> in {NS_12} or {NS_11}")])
    reader = _Reader(namespace)
    message = reader.alert(root)
    if reader.violations:
        raise CapInvalid(reader.violations)
    return replace(message, warnings=tuple(reader.warnings))


def _load(data: bytes) -> Element:
    """Parse bytes (so the declared encoding applies) with DTDs and entities refused."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CapInvalid([Violation("/", f"the document is {len(data)} bytes; the limit is "
                                         f"{MAX_DOCUMENT_BYTES}")])
    try:
        root: Element = defused_et.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                              forbid_external=True)
    except DefusedXmlException as exc:
        raise CapInvalid([Violation("/", "DTDs, entity declarations and external references "
                                         "are not allowed")]) from exc
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise CapInvalid([Violation("/", f"malformed XML at line {line}, column {column + 1}: "
                                         f"{reason}")]) from exc
    except (LookupError, ValueError) as exc:  # an encoding Python or expat cannot read
        raise CapInvalid([Violation("/", f"unreadable XML declaration: {exc}")]) from exc
    return root


class _Kids:
    """One CAP element's children, grouped by local name, each with its XPath."""

    def __init__(self, path: str, groups: dict[str, list[tuple[Element, str]]]) -> None:
        self.path = path
        self.groups = groups

    def first(self, name: str) -> tuple[Element | None, str]:
        found = self.groups.get(name)
        return (found[0][0] if found else None), f"{self.path}/{name}"

    def all(self, name: str) -> list[tuple[Element, str]]:
        return self.groups.get(name, [])


class _Reader:
    """Maps one document onto the model, collecting every violation on the way."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace
        self.version = _VERSIONS[namespace]
        self.violations: list[Violation] = []
        self.warnings: list[Violation] = []

    def bad(self, path: str, message: str) -> None:
        self.violations.append(Violation(path, message))

    def tolerate(self, path: str, message: str) -> None:
        self.warnings.append(Violation(path, message))

    # -- structure -----------------------------------------------------------------------------

    def kids(self, element: Element, path: str, one: tuple[str, ...], many: tuple[str, ...] = (),
             signature: bool = False) -> _Kids:
        """Group children; report unknown elements and repeats of single-valued ones."""
        groups: dict[str, list[Element]] = {}
        strangers: dict[str, list[Element]] = {}
        for child in element:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions
            namespace, local = _split(child.tag)
            if namespace == self.ns and (local in one or local in many):
                groups.setdefault(local, []).append(child)
            elif not (signature and namespace == NS_DSIG and local == "Signature"):
                strangers.setdefault(child.tag, []).append(child)
        out: dict[str, list[tuple[Element, str]]] = {}
        for local, items in groups.items():
            if local in many:
                out[local] = [(e, f"{path}/{local}[{i}]") for i, e in enumerate(items, 1)]
                continue
            out[local] = [(items[0], f"{path}/{local}")]
            for i in range(2, len(items) + 1):
                self.bad(f"{path}/{local}[{i}]", f"<{local}> is given {len(items)} times; "
                                                 "CAP allows one")
        for tag, items in strangers.items():
            namespace, local = _split(tag)
            where = f" in namespace {namespace!r}" if namespace != self.ns else ""
            for i, _ in enumerate(items, 1):
                suffix = f"[{i}]" if len(items) > 1 else ""
                self.bad(f"{path}/{local}{suffix}", f"<{local}>{where} is not a CAP element")
        return _Kids(path, out)

    def leaf(self, element: Element, path: str) -> str:
        """An element's stripped text; elements inside it are violations."""
        for child in element:
            if isinstance(child.tag, str):
                self.bad(f"{path}/{_split(child.tag)[1]}", "is not a CAP element "
                                                            "(this element holds text only)")
        return (element.text or "").strip()

    def text(self, kids: _Kids, name: str, required: bool = False) -> str | None:
        """A single element's text; absent or empty reads as None."""
        element, path = kids.first(name)
        if element is None:
            if required:
                self.bad(path, "is required")
            return None
        value = self.leaf(element, path)
        if not value and required:
            self.bad(path, "is required but empty")
        return value or None

    def choice(self, kids: _Kids, name: str, allowed: tuple[str, ...]) -> str:
        """A required enumerated value ("" when missing or wrong)."""
        element, path = kids.first(name)
        if element is None:
            self.bad(path, "is required")
            return ""
        return self.choice_of(element, path, allowed)

    def choice_of(self, element: Element, path: str, allowed: tuple[str, ...]) -> str:
        value = self.leaf(element, path)
        if self.version == "1.1" and value == "Very Likely" and allowed is CERTAINTIES:
            value = "Likely"  # CAP 1.1's deprecated certainty
        problem = rules.check_choice(value, allowed)
        if problem:
            self.bad(path, problem)
        return value

    def time(self, kids: _Kids, name: str) -> datetime | None:
        element, path = kids.first(name)
        if element is None:
            return None
        value, problem = rules.parse_datetime(self.leaf(element, path))
        if problem:
            self.bad(path, problem)
        return value

    def number(self, kids: _Kids, name: str) -> float | None:
        element, path = kids.first(name)
        if element is None:
            return None
        value, problem = rules.parse_number(self.leaf(element, path))
        if problem:
            self.bad(path, problem)
        return value

    def pairs(self, kids: _Kids, name: str) -> tuple[Pair, ...]:
        out = []
        for element, path in kids.all(name):
            inner = self.kids(element, path, _PAIR_ONE)
            value_name = self.present(inner, "valueName")
            value = self.present(inner, "value")
            out.append(Pair(value_name, value))
        return tuple(out)

    def present(self, kids: _Kids, name: str) -> str:
        """A required element whose text may be empty (valueName, value)."""
        element, path = kids.first(name)
        if element is None:
            self.bad(path, "is required")
            return ""
        return self.leaf(element, path)

    # -- CAP's blocks --------------------------------------------------------------------------

    def alert(self, root: Element) -> Message:
        kids = self.kids(root, "/alert", _ALERT_ONE, ("code", "info"), signature=True)
        identifier = self.token(kids, "identifier")
        sender = self.token(kids, "sender")
        sent = self.time(kids, "sent")
        if kids.first("sent")[0] is None:
            self.bad("/alert/sent", "is required")
        scope = self.choice(kids, "scope", SCOPES)
        restriction = self.text(kids, "restriction")
        if restriction and scope != "Restricted":
            self.bad("/alert/restriction", "is only allowed when scope is Restricted")
        if scope == "Restricted" and not restriction:
            self.bad("/alert/restriction", "is required when scope is Restricted")
        addresses = self.text(kids, "addresses")
        if scope == "Private" and not addresses:
            self.bad("/alert/addresses", "is required when scope is Private")
        codes = tuple(c for c in (self.leaf(e, p) for e, p in kids.all("code")) if c)
        return Message(
            identifier=identifier, sender=sender, sent=sent or _NO_TIME,
            status=self.choice(kids, "status", STATUSES),
            msg_type=self.choice(kids, "msgType", MSG_TYPES), scope=scope,
            source=self.text(kids, "source"), restriction=restriction, addresses=addresses,
            codes=codes, note=self.text(kids, "note"), references=self.references(kids),
            incidents=self.text(kids, "incidents"),
            infos=tuple(self.info(e, p) for e, p in kids.all("info")), version=self.version)

    def token(self, kids: _Kids, name: str) -> str:
        value = self.text(kids, name, required=True) or ""
        problem = rules.check_identifier(value)
        if problem:
            self.bad(kids.first(name)[1], problem)
        return value

    def references(self, kids: _Kids) -> tuple[Reference, ...]:
        element, path = kids.first("references")
        if element is None:
            return ()
        text = self.leaf(element, path)
        if not text:
            self.tolerate(path, "is empty (CAP requires at least one reference); read as absent")
            return ()
        found, problems = rules.parse_references(text)
        for problem in problems:
            self.bad(path, problem)
        return tuple(Reference(*triple) for triple in found)

    def info(self, element: Element, path: str) -> Info:
        kids = self.kids(element, path, _INFO_ONE,
                         ("category", "responseType", "eventCode", "parameter", "resource",
                          "area"))
        language = self.text(kids, "language") or "en-US"
        problem = rules.check_language(language)
        if problem:
            self.bad(f"{path}/language", problem)
        categories = kids.all("category")
        if not categories:
            self.bad(f"{path}/category", "is required (at least one)")
        return Info(
            categories=tuple(self.choice_of(e, p, CATEGORIES) for e, p in categories),
            event=self.text(kids, "event", required=True) or "",
            urgency=self.choice(kids, "urgency", URGENCIES),
            severity=self.choice(kids, "severity", SEVERITIES),
            certainty=self.choice(kids, "certainty", CERTAINTIES),
            language=language,
            response_types=tuple(self.choice_of(e, p, RESPONSE_TYPES)
                                 for e, p in kids.all("responseType")),
            audience=self.text(kids, "audience"), event_codes=self.pairs(kids, "eventCode"),
            effective=self.time(kids, "effective"), onset=self.time(kids, "onset"),
            expires=self.time(kids, "expires"), sender_name=self.text(kids, "senderName"),
            headline=self.text(kids, "headline"), description=self.text(kids, "description"),
            instruction=self.text(kids, "instruction"), web=self.text(kids, "web"),
            contact=self.text(kids, "contact"), parameters=self.pairs(kids, "parameter"),
            resources=tuple(self.resource(e, p) for e, p in kids.all("resource")),
            areas=tuple(self.area(e, p) for e, p in kids.all("area")))

    def resource(self, element: Element, path: str) -> Resource:
        kids = self.kids(element, path, _RESOURCE_ONE)
        description = self.text(kids, "resourceDesc", required=True) or ""
        # CAP 1.1 made mimeType optional; 1.2 requires it.
        mime_type = self.text(kids, "mimeType", required=self.version == "1.2")
        size = None
        size_text = self.text(kids, "size")
        if size_text is not None:
            size, problem = rules.parse_size(size_text)
            if problem:
                self.bad(f"{path}/size", problem)
        deref_uri = self.text(kids, "derefUri")
        if deref_uri is not None:
            problem = rules.check_deref_uri(deref_uri, MAX_RESOURCE_BYTES)
            if problem:
                self.bad(f"{path}/derefUri", problem)
        return Resource(description, mime_type or "application/octet-stream", size=size,
                        uri=self.text(kids, "uri"), deref_uri=deref_uri,
                        digest=self.text(kids, "digest"))

    def area(self, element: Element, path: str) -> CapArea:
        kids = self.kids(element, path, _AREA_ONE, ("polygon", "circle", "geocode"))
        polygons = []
        for polygon, where in kids.all("polygon"):
            text = self.leaf(polygon, where)
            if not text:
                self.tolerate(where, "is empty (CAP requires at least 4 points); skipped")
                continue
            points, problems = rules.parse_polygon(text)
            for issue in problems:
                self.bad(where, issue)
            polygons.append(points)
        circles = []
        for circle, where in kids.all("circle"):
            parsed, problem = rules.parse_circle(self.leaf(circle, where))
            if problem:
                self.bad(where, problem)
            if parsed:
                circles.append(Circle(*parsed))
        altitude, ceiling = self.number(kids, "altitude"), self.number(kids, "ceiling")
        if kids.first("ceiling")[0] is not None and kids.first("altitude")[0] is None:
            self.bad(f"{path}/ceiling", "is only allowed together with altitude")
        return CapArea(self.text(kids, "areaDesc", required=True) or "", polygons=tuple(polygons),
                       circles=tuple(circles), geocodes=self.pairs(kids, "geocode"),
                       altitude=altitude, ceiling=ceiling)


def _split(tag: str) -> tuple[str, str]:
    """`{namespace}local` as (namespace, local); no namespace gives ""."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag
