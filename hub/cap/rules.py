"""CAP's value rules: each check takes an element's stripped text and returns what it means.

Checks return problems as short messages; `hub.cap` attaches the element path. Nothing here
knows about XML, so the rules can be tested and reused without a document.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

# CAP 1.2 §3.3.2: "2002-05-24T16:49:00-07:00"; no "Z", no fractional seconds.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")  # RFC 3066
_FORBIDDEN_IN_ID = re.compile(r"[\s,<&]")
_MIN_POLYGON_POINTS = 4

Point = tuple[float, float]


def parse_datetime(text: str) -> tuple[datetime | None, str | None]:
    """An aware datetime keeping its offset, or the reason `text` is not a CAP date-time."""
    if not _DATETIME.fullmatch(text):
        return None, f"{text!r} is not a CAP date-time (YYYY-MM-DDThh:mm:ss±hh:mm)"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None, f"{text!r} is not a real date and time"
    return value, None


def check_choice(text: str, allowed: tuple[str, ...]) -> str | None:
    """Why `text` is not one of an enumeration's values, or None."""
    if text in allowed:
        return None
    shown = "empty" if not text else f"{text!r}"
    return f"is {shown}; must be one of {', '.join(allowed)}"


def check_identifier(text: str) -> str | None:
    """CAP identifiers and senders: no whitespace, commas, '<' or '&'."""
    if _FORBIDDEN_IN_ID.search(text):
        return f"{text!r} must not contain spaces, commas, '<' or '&'"
    return None


def check_language(text: str) -> str | None:
    if _LANGUAGE.fullmatch(text):
        return None
    return f"{text!r} is not an RFC 3066 language tag (e.g. en-US)"


def parse_references(text: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """`sender,identifier,sent` triples separated by whitespace; at least one."""
    if not text:
        return [], ["is empty; give one or more sender,identifier,sent entries"]
    found: list[tuple[str, str, str]] = []
    problems: list[str] = []
    for entry in text.split():
        parts = entry.split(",")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            problems.append(f"{entry!r} is not sender,identifier,sent")
            continue
        _, bad_time = parse_datetime(parts[2])
        if bad_time:
            problems.append(f"{entry!r}: sent {bad_time}")
            continue
        found.append((parts[0], parts[1], parts[2]))
    return found, problems


def parse_point(token: str) -> tuple[Point | None, str | None]:
    """`lat,lon` in WGS 84 decimal degrees."""
    parts = token.split(",")
    if len(parts) != 2 or not all(_NUMBER.fullmatch(p) for p in parts):
        return None, f"{token!r} is not a lat,lon point"
    lat, lon = float(parts[0]), float(parts[1])
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        return None, f"{token!r} is out of range (lat -90..90, lon -180..180)"
    return (lat, lon), None


def parse_polygon(text: str) -> tuple[tuple[Point, ...], list[str]]:
    """A closed ring of at least four `lat,lon` points separated by whitespace."""
    if not text:
        return (), ["is empty; a polygon needs at least 4 points"]
    points: list[Point] = []
    problems: list[str] = []
    for token in text.split():
        point, problem = parse_point(token)
        if problem:
            problems.append(problem)
        elif point is not None:
            points.append(point)
    if problems:
        return (), problems
    if len(points) < _MIN_POLYGON_POINTS:
        problems.append(f"has {len(points)} points; a polygon needs at least 4")
    elif points[0] != points[-1]:
        problems.append("is not closed: the first and last points differ")
    return tuple(points), problems


def parse_circle(text: str) -> tuple[tuple[float, float, float] | None, str | None]:
    """`lat,lon radius_km` with a radius of zero or more."""
    tokens = text.split()
    if len(tokens) != 2:
        return None, f"{text!r} is not 'lat,lon radius'"
    point, problem = parse_point(tokens[0])
    if problem or point is None:
        return None, problem
    if not _NUMBER.fullmatch(tokens[1]) or float(tokens[1]) < 0:
        return None, f"radius {tokens[1]!r} is not a number of kilometres >= 0"
    return (point[0], point[1], float(tokens[1])), None


def parse_number(text: str) -> tuple[float | None, str | None]:
    if _NUMBER.fullmatch(text):
        return float(text), None
    return None, f"{text!r} is not a number"


def parse_size(text: str) -> tuple[int | None, str | None]:
    if text.isascii() and text.isdigit():
        return int(text), None
    return None, f"{text!r} is not a whole number of bytes"


def check_deref_uri(text: str, limit: int) -> str | None:
    """Base64 content (line breaks allowed) decoding to at most `limit` bytes."""
    compact = "".join(text.split())
    if len(compact) // 4 * 3 > limit + 2:  # refuse before decoding something huge
        return f"decodes to more than {limit} bytes"
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64"
    if len(decoded) > limit:
        return f"decodes to {len(decoded)} bytes; the limit is {limit}"
    return None
