"""Input checking: turn untrusted JSON into typed values or an error naming every bad field."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable
from typing import Any, TypeVar

E = TypeVar("E", bound=enum.Enum)
# A BCP 47 language tag as alerts and recipients carry it (en-CA, fr, es-419).
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# What XML 1.0 cannot carry (and so no CAP document, Atom feed or mail header either): C0
# controls but tab, LF and CR; U+FFFE and U+FFFF; lone surrogates, which no UTF-8 encodes.
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Every character str.splitlines() breaks a line at: none may be in a one-line field,
# whose text ends up in a mail header (the subject) or a title.
LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


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


class Checker:
    """Collects field errors while reading one JSON object, so one 422 names them all."""

    def __init__(self, body: object, prefix: str = "") -> None:
        self.errors: dict[str, str] = {}
        self.prefix = prefix
        if not isinstance(body, dict):
            raise InvalidInput({prefix or "body": "must be a JSON object"})
        self.body: dict[str, Any] = body

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(self.path(name), message)

    def only(self, allowed: Iterable[str]) -> None:
        """Refuse unknown keys: a typo such as `severty` must not be silently dropped."""
        for key in self.body.keys() - set(allowed):
            self.fail(key, "is not a known field")

    def text(self, name: str, *, required: bool = True, max_len: int = 200,
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

    def language(self, name: str) -> str | None:
        """An optional language tag such as fr-CA; None when absent, null or blank."""
        value = self.text(name, required=False, max_len=35)
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
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, "must be a whole number")
            return None
        if not low <= value <= high:
            self.fail(name, f"must be between {low} and {high}")
            return None
        return value

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)
