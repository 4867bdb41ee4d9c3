"""Alerts: read and validate a publish request into a draft, and present an alert as JSON."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from hub.cap import Category, Certainty, Severity, Urgency
from hub.geo import Area, AreaError, parse_area, stored_area
from hub.models import Alert, CapMessage
from hub.tlp import Tlp
from partners.validation import Checker

MAX_ACK_WITHIN_S = 7 * 24 * 3600
MAX_EXPIRY = timedelta(days=366)
# The longest each text may be, here and in the OpenAPI document; headline and event are
# one line each (the headline is the mail's subject).
MAX_TEXT = {"headline": 200, "event": 200, "description": 20_000, "instruction": 10_000,
            "area_name": 200}
# Sent as null: no expiry, no acknowledgement deadline (as when left out).
NULLABLE = ("expires", "ack_within_s")


@dataclass(frozen=True)
class Origin:
    """The CAP document an imported alert comes from: its row (the alert id is filled in when
    the alert is written), what the alert JSON shows of it, and, when it must reach nobody,
    why (it had expired, or it is a Test, System or Draft message)."""

    record: CapMessage
    summary: dict[str, Any]
    withheld: str | None = None

    @property
    def sender_name(self) -> str:
        """Who the document says sent it: its first `<senderName>`, else its `<sender>`."""
        infos = self.summary.get("infos") or [{}]
        return str(infos[0].get("sender_name") or self.summary.get("sender") or "")[:400]


@dataclass(frozen=True, kw_only=True)
class AlertDraft:
    """An alert's content: the one declaration of its fields. The request body, the stored
    columns, a revision's merge and the JSON all follow it (`FIELDS`, `columns`,
    `of_alert`); keyword construction only, so two fields of one type cannot swap."""

    headline: str
    event: str
    category: Category
    severity: Severity
    urgency: Urgency
    certainty: Certainty
    tlp: Tlp
    description: str
    instruction: str
    area: Area
    expires: datetime | None
    ack_within_s: int | None
    language: str
    # The area in words, as the desk and the CAP `areaDesc` name it: a preset's name
    # ("Financial District BIA"), an imported alert's areaDesc, or what the sender typed.
    area_name: str = ""
    # Set by the hub, never sent as such: report files attached by an update, and the CAP
    # document an imported alert came from.
    attachments: tuple[dict[str, Any], ...] = ()
    origin: Origin | None = None

    def columns(self) -> dict[str, Any]:
        """The stored alert's columns for this content (the area as GeoJSON)."""
        values = {name: getattr(self, name) for name in FIELDS}
        return {**values, "area": self.area.json, "attachments": list(self.attachments)}

    @classmethod
    def of_alert(cls, alert: Alert) -> AlertDraft:
        """A stored alert's content, as a draft to revise."""
        values: dict[str, Any] = {name: getattr(alert, name) for name in FIELDS}
        return cls(**{**values, "area": stored_area(alert.area),
                      "attachments": tuple(alert.attachments or ())})


# What a publish request may carry: every field of the draft but what the hub sets.
FIELDS = tuple(f.name for f in fields(AlertDraft) if f.name not in ("origin", "attachments"))


def read_alert(body: object, now: datetime) -> AlertDraft:
    """Check a publish request; raise InvalidInput naming every bad field."""
    check = Checker(body, nullable=NULLABLE)
    check.only(FIELDS)
    headline = check.text("headline", max_len=MAX_TEXT["headline"], line=True)
    event = check.text("event", max_len=MAX_TEXT["event"], line=True)
    category = check.choice("category", Category, required=False, default=Category.SECURITY)
    severity = check.choice("severity", Severity)
    urgency = check.choice("urgency", Urgency)
    certainty = check.choice("certainty", Certainty)
    tlp = check.choice("tlp", Tlp)
    description = check.text("description", required=False, max_len=MAX_TEXT["description"],
                             default="")
    instruction = check.text("instruction", required=False, max_len=MAX_TEXT["instruction"],
                             default="")
    area_name = check.text("area_name", required=False, max_len=MAX_TEXT["area_name"],
                           line=True, default="")
    language = check.language("language") or "en-CA"
    ack_within_s = check.integer("ack_within_s", low=1, high=MAX_ACK_WITHIN_S)
    expires = _read_expires(check, now)
    area: Area | None = None
    if "area" not in check.body:
        check.fail("area", "is required")
    else:
        try:
            area = parse_area(check.body["area"])
        except AreaError as error:
            check.fail(error.field, error.message)
    check.done()
    assert headline and event and category and severity and urgency and certainty and tlp
    assert area is not None
    return AlertDraft(headline=headline, event=event, category=category, severity=severity,
                      urgency=urgency, certainty=certainty, tlp=tlp,
                      description=description or "", instruction=instruction or "",
                      area=area, area_name=area_name or "", expires=expires,
                      ack_within_s=ack_within_s, language=language or "en-CA")


def _read_expires(check: Checker, now: datetime) -> datetime | None:
    expires = check.moment("expires", required=False)
    if expires is None:
        return None
    if expires <= now:
        check.fail("expires", "is in the past")
        return None
    if expires - now > MAX_EXPIRY:
        check.fail("expires", "is more than a year away")
        return None
    return expires


def alert_json(alert: Alert) -> dict[str, Any]:
    """The alert as the API and the live feed present it."""
    return {
        "id": alert.id,
        "seq": alert.seq,
        "status": alert.status,
        "msg_type": alert.msg_type,
        "references": alert.references_id,
        "sender_organisation_id": alert.sender_org_id,
        "sender_name": alert.sender_name,
        **{name: getattr(alert, name) for name in FIELDS},
        "attachments": [{"kind": a["kind"], "size": a["size"], "sha1": a["sha1"],
                         "url": f"/api/v1/alerts/{alert.id}/attachments/{n}"}
                        for n, a in enumerate(alert.attachments or ())],
        "expires": alert.expires.isoformat() if alert.expires else None,
        "sent": alert.sent_at.isoformat() if alert.sent_at else None,
        "created": alert.created_at.isoformat(),
        "cap": alert.cap,
    }
