"""Input checking: turn untrusted JSON into typed values or an error naming every bad field."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

E = TypeVar("E", bound=enum.Enum)
# A BCP 47 language tag as alerts and recipients carry it (en-CA, fr, es-419).
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# What XML 1.0 cannot carry (and so no CAP document, Atom feed or mail header either): C0
# controls but tab, LF and CR; U+FFFE and U+FFFF; lone surrogates, which no UTF-8 encodes.
# Written as escapes, so the controls read as a JSON Schema (ECMA 262) pattern too; the
# patterns leave out the surrogates, which generators of JSON Schema cannot draw from and
# which reach the hub only as a `\ud800`-style escape.
XML_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
NOT_IN_XML = re.compile(rf"[{XML_CONTROLS}\ud800-\udfff]")
# Every character str.splitlines() breaks a line at: none may be in a one-line field,
# whose text ends up in a mail header (the subject) or a title.
_LINE_BREAKS = r"\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029"
LINE_BREAKS = re.compile(f"[{_LINE_BREAKS}]")
# What `Checker.text` refuses, as the OpenAPI document states it (`"not": {"pattern": ...}`,
# which leaves generators free to draw text up to its longest): a character XML cannot
# carry, and in a one-line field (`line=True`) a line break too.
CONTROL = f"[{XML_CONTROLS}]"
CONTROL_OR_BREAK = f"[{XML_CONTROLS}{_LINE_BREAKS}]"
# The longest text `Checker.text` takes unless told: the name of an organisation, a site,
# a contact or a person.
MAX_NAME = 200
MAX_LANGUAGE_TAG = 35  # RFC 5646 4.4.1: every tag of up to 35 characters must be kept whole
MAX_MOMENT = 40  # an ISO 8601 date-time with fractions and offset
MAX_LAT, MAX_LON = 90, 180  # degrees either side of the equator and of the prime meridian


def xml_safe(text: str) -> str:
    """`text` with what XML cannot carry replaced by U+FFFD, for writers of text stored
    before the input checks refused it."""
    return NOT_IN_XML.sub("\ufffd", text)


def one_line(text: str) -> str:
    """`text` as one line: each line break, with the spaces around it, one space."""
    if not LINE_BREAKS.search(text):
        return text
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


class InvalidInput(ValueError):
    """Bad input: `fields` maps each offending field path to what is wrong with it."""

    def __init__(self, fields: dict[str, str], detail: str | None = None) -> None:
        self.fields = fields
        self.detail = detail or "; ".join(f"{k}: {v}" for k, v in fields.items())
        super().__init__(self.detail)

    status, code = 422, "invalid"


class Conflicting(InvalidInput):
    """Well formed, but at odds with what the hub holds (a name taken, a TLP loosened)."""

    status, code = 409, "conflict"


class NotKnown(InvalidInput):
    """Well formed, but it names nothing the hub holds (no such organisation; a link that
    expired or was used)."""

    status, code = 404, "not_found"


class Checker:
    """Collects field errors while reading one JSON object, so one 422 names them all."""

    def __init__(self, body: object, prefix: str = "", *, nullable: Iterable[str] = ()) -> None:
        """`nullable`: the fields for which null means something (clear it, no expiry);
        any other field sent as null is refused, as the OpenAPI document says, rather than
        taken for a field left out."""
        self.errors: dict[str, str] = {}
        self.prefix = prefix
        if not isinstance(body, dict):
            raise InvalidInput({prefix or "body": "must be a JSON object"})
        self.body: dict[str, Any] = body
        for key in [key for key, value in body.items() if value is None]:
            if key not in nullable:
                self.fail(key, "must not be null (leave the field out instead)")

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(self.path(name), message)

    def only(self, allowed: Iterable[str]) -> None:
        """Refuse unknown keys: a typo such as `severty` must not be silently dropped."""
        for key in self.body.keys() - set(allowed):
            self.fail(key, "is not a known field")

    def text(self, name: str, *, required: bool = True, max_len: int = MAX_NAME,
             default: str | None = None, line: bool = False) -> str | None:
        """A string; with `line`, one line of it (no line breaks of any kind)."""
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return default
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return default
        value = value.strip()
        if (bad := NOT_IN_XML.search(value)) is not None:
            self.fail(name, f"must not contain the control character U+{ord(bad.group()):04X}")
        elif line and LINE_BREAKS.search(value):
            self.fail(name, "must be one line, without line breaks")
        elif required and not value:
            self.fail(name, "must not be empty")
        elif len(value) > max_len:
            self.fail(name, f"must be at most {max_len} characters")
        return value

    def secret(self, name: str, *, low: int, high: int) -> str | None:
        """A string kept exactly as sent (a password: spaces count), `low` to `high`
        characters, with nothing XML cannot carry (nor a lone surrogate, which no UTF-8
        encodes for the hash)."""
        value = self.body.get(name)
        if not isinstance(value, str) or not value:
            self.fail(name, "is required")
            return None
        if (bad := NOT_IN_XML.search(value)) is not None:
            self.fail(name, f"must not contain the control character U+{ord(bad.group()):04X}")
            return None
        if not low <= len(value) <= high:
            self.fail(name, f"must be {low} to {high} characters long")
            return None
        return value

    def language(self, name: str) -> str | None:
        """An optional language tag such as fr-CA; None when absent, null or blank."""
        value = self.text(name, required=False, max_len=MAX_LANGUAGE_TAG)
        if not value:
            return None
        if not LANGUAGE_TAG.match(value):
            self.fail(name, "must be a language tag such as en-CA or fr")
            return None
        return value

    def choice(self, name: str, kind: type[E], *, required: bool = True,
               default: E | None = None, among: Iterable[E] | None = None) -> E | None:
        """One member of the enum (or of `among`, a subset of it)."""
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return default
        members = [member for member in kind if among is None or member in set(among)]
        for member in members:
            if member.value == value:
                return member
        allowed = ", ".join(str(member.value) for member in members)
        self.fail(name, f"must be one of: {allowed}")
        return default

    def number(self, name: str, *, low: float, high: float) -> float | None:
        value = self.body.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(name, "must be a number")
            return None
        if not math.isfinite(value):
            self.fail(name, "must be a finite number")
            return None
        if not low <= value <= high:
            self.fail(name, f"must be between {low:g} and {high:g}")
            return None
        return float(value)

    def integer(self, name: str, *, low: int, high: int, required: bool = False) -> int | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return None
        # JSON has one number type: 3252.0 is the whole number JSON Schema's "integer" allows.
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            self.fail(name, "must be a whole number")
            return None
        if not low <= value <= high:
            self.fail(name, f"must be between {low} and {high}")
            return None
        return int(value)

    def moment(self, name: str, *, required: bool = True) -> datetime | None:
        """An ISO 8601 date-time with its UTC offset, such as 2026-11-21T18:00:00-05:00."""
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return None
        if not isinstance(value, str) or len(value) > MAX_MOMENT:
            self.fail(name, "must be an ISO 8601 date-time such as 2026-11-21T18:00:00-05:00")
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(name, "must be an ISO 8601 date-time such as 2026-11-21T18:00:00-05:00")
            return None
        if moment.tzinfo is None:
            self.fail(name, "must carry a UTC offset, e.g. -05:00 or Z")
            return None
        return moment

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)
