"""What an import makes of its rows before anything is stored: place drafts, and the field
checks every format shares, each problem named by where it is (file and row, or JSON path)
and its field."""

from __future__ import annotations

import enum
import math
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from hub.directory import DEFAULT_TIME_ZONE, Need, ServedGroup
from partners.validation import LINE_BREAKS, NOT_IN_XML

E = TypeVar("E", bound=enum.Enum)
DECIMAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
WHOLE = re.compile(r"^[0-9]+$")
# Phone numbers as directories write them: digits, spaces, + - ( ) . / and "ext"/"x".
PHONE = re.compile(r"^\+?[0-9 ()./-]{3,30}((x|ext\.?) ?[0-9]{1,6})?$", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    where: str  # `services.csv row 3`, `row 7`, `service_list.json services[0]`
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}, {self.field}: {self.message}"


@dataclass(frozen=True)
class ScheduleDraft:
    closed: bool = False
    byday: str = ""
    opens_at: int | None = None
    closes_at: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    weekly: bool = True
    description: str = ""
    rule: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlaceDraft:
    external_id: str
    name: str
    need: Need
    where: str  # where it was read, for reports
    description: str = ""
    provider: str = ""
    address: str = ""
    address_1: str = ""
    city: str = ""
    state_province: str = ""
    postal_code: str = ""
    country: str = ""
    lat: float | None = None
    lon: float | None = None
    phone: str = ""
    time_zone: str = DEFAULT_TIME_ZONE
    serves: tuple[str, ...] = ()
    hours: str = ""
    capacity: int | None = None
    available: int | None = None
    schedules: tuple[ScheduleDraft, ...] = ()


@dataclass
class Report:
    """Everything an import found wrong (refusing it all) or worth saying (warnings)."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


class Fields:
    """Reads one record's fields, adding a problem for each bad one to the report."""

    def __init__(self, report: Report, where: str) -> None:
        self.report, self.where = report, where
        self.failed = False

    def fail(self, name: str, message: str) -> None:
        self.failed = True
        self.report.problems.append(Problem(self.where, name, message))

    def warn(self, name: str, message: str) -> None:
        self.report.warnings.append(Problem(self.where, name, message))

    def text(self, name: str, value: object, *, max_len: int = 200, required: bool = False,
             line: bool = True) -> str:
        if value is None or value == "":
            if required:
                self.fail(name, "is required")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(name, "must be text")
            return ""
        text = str(value).strip()
        if (bad := NOT_IN_XML.search(text)) is not None:
            self.fail(name, f"must not contain the control character U+{ord(bad.group()):04X}")
        elif line and LINE_BREAKS.search(text):
            self.fail(name, "must be one line, without line breaks")
        elif required and not text:
            self.fail(name, "is required")
        elif len(text) > max_len:
            self.fail(name, f"must be at most {max_len} characters")
        else:
            return text
        return ""

    def number(self, name: str, value: object) -> float | None:
        """A decimal number, written as text or as a JSON number; None when blank."""
        if value is None or value == "":
            return None
        if isinstance(value, str) and DECIMAL.match(value.strip()):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            self.fail(name, "must be a decimal number such as 43.59")
            return None
        return float(value)

    def coordinate(self, name: str, value: object, limit: float, *,
                   required: bool) -> float | None:
        if value is None or value == "":
            if required:
                self.fail(name, "is required")
            return None
        number = self.number(name, value)
        if number is None:
            return None
        if not -limit <= number <= limit:
            self.fail(name, f"must be between {-limit:g} and {limit:g}")
            return None
        return number

    def count(self, name: str, value: object, *, low: int, high: int) -> int | None:
        """A whole number from `low` to `high`; None when blank."""
        if value is None or value == "":
            return None
        if isinstance(value, str) and WHOLE.match(value.strip()):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, "must be a whole number")
            return None
        if not low <= value <= high:
            self.fail(name, f"must be between {low} and {high}")
            return None
        return value

    def choice(self, name: str, value: object, kind: type[E]) -> E | None:
        for member in kind:
            if member.value == value:
                return member
        if value in (None, ""):
            self.fail(name, "is required")
        else:
            allowed = ", ".join(str(member.value) for member in kind)
            self.fail(name, f"must be one of: {allowed}")
        return None

    def phone(self, name: str, value: object, extension: object = None) -> str:
        # Spreadsheets that quote a cell twice leave quotes around it ("+1 905 ...").
        text = self.text(name, value, max_len=40).strip('"').strip()
        if text and not PHONE.match(text):
            self.fail(name, "must be a phone number such as +1 905-555-0100 or 211")
            return ""
        number = self.count("extension", extension, low=0, high=999_999) if extension else None
        return f"{text} ext. {number}" if text and number is not None else text

    def time_zone(self, name: str, value: object) -> str:
        text = self.text(name, value, max_len=64)
        if not text:
            return DEFAULT_TIME_ZONE
        if text not in zoneinfo.available_timezones():
            self.fail(name, "must be a time zone name such as America/Toronto")
            return DEFAULT_TIME_ZONE
        return text

    def serves(self, name: str, value: object) -> tuple[str, ...]:
        """Groups separated by `;`, `,`, `|` or spaces: men; women; youth; families; pets."""
        text = self.text(name, value, max_len=200)
        wanted = [part.lower() for part in re.split(r"[;,|\s]+", text) if part]
        groups = [group.value for group in ServedGroup]
        unknown = [part for part in wanted if part not in groups]
        if unknown:
            self.fail(name, f"{unknown[0]!r} is not one of: {', '.join(groups)}")
            return ()
        return tuple(group for group in groups if group in wanted)

    def day(self, name: str, value: object) -> date | None:
        text = self.text(name, value, max_len=40)
        if not text:
            return None
        if len(text) > 10 and text[10] in "T ":
            text = text[:10]  # a date-time: its date
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(name, "must be a date such as 2026-12-24")
            return None


def one_line_address(*parts: str) -> str:
    """An address as one line: its parts that are there, separated by commas."""
    return ", ".join(part for part in parts if part)
