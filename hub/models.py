"""Hub tables: alerts, the delivery outbox, acknowledgements, the audit trail, counters,
evidence requests and public tips."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hub.cap import Category, Certainty, Severity, Urgency
from hub.media import MediaKind
from hub.tlp import Tlp
from partners.models import StoredEnum, UtcDateTime, new_id, utcnow


class AlertStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a second person's approval
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # its author took it back while it waited for approval


class MsgType(enum.StrEnum):
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"


class AckStatus(enum.StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESPONDING = "responding"
    NOT_AFFECTED = "not_affected"
    NEED_HELP = "need_help"


class Counter(SQLModel, table=True):
    """Named monotonic counters; bumping one locks its row until commit, so `seq` order is
    commit order and a desk resuming from a seq can never skip an alert committed later."""

    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(default=0, sa_type=sa.BigInteger)


class Alert(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    seq: int | None = Field(default=None, sa_type=sa.BigInteger,
                            sa_column_kwargs={"unique": True})
    status: AlertStatus = Field(sa_type=StoredEnum(AlertStatus, 16))
    msg_type: MsgType = Field(default=MsgType.ALERT, sa_type=StoredEnum(MsgType, 8))
    references_id: str | None = Field(default=None, foreign_key="alert.id", max_length=32)
    sender_org_id: str | None = Field(default=None, foreign_key="organisation.id",
                                      max_length=32)
    # Who sent it, as every card, dashboard and message names it: the sending
    # organisation, or for an imported CAP alert its senderName (else its sender).
    sender_name: str = Field(default="", max_length=400,
                             sa_column_kwargs={"server_default": ""})
    created_by: str = Field(max_length=64)
    headline: str = Field(max_length=200)
    event: str = Field(max_length=200)
    category: Category = Field(sa_type=StoredEnum(Category, 16))
    severity: Severity = Field(sa_type=StoredEnum(Severity, 16))
    urgency: Urgency = Field(sa_type=StoredEnum(Urgency, 16))
    certainty: Certainty = Field(sa_type=StoredEnum(Certainty, 16))
    tlp: Tlp = Field(sa_type=StoredEnum(Tlp, 20))
    description: str = Field(default="", sa_type=sa.Text)
    instruction: str = Field(default="", sa_type=sa.Text)
    language: str = Field(default="en-CA", max_length=35)
    # None for a CAP alert whose areas are only named (geocodes): kept and shown, reaching
    # nobody by geofence.
    area: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON(none_as_null=True))
    # The area in words (a preset's name, or an imported alert's areaDesc); "" when unnamed.
    area_name: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    # Field report files police attached to this message, as its audience may see them
    # (location blanked): [{report_id, file_id, kind, size, sha1}]; CAP <resource>s.
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON,
                                              sa_column_kwargs={"server_default": "[]"})
    expires: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ack_within_s: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    approved_by: str | None = Field(default=None, max_length=64)
    # What a CAP document carried beyond the columns above (other languages, named areas,
    # resources, parameters, the signature check); None for an alert written in Vigil.
    cap: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON(none_as_null=True))


class CapMessage(SQLModel, table=True):
    """The CAP document an alert was imported from, byte for byte, so exporting it loses
    nothing and keeps the sender's signature; sender and identifier name it for references."""

    __tablename__ = "cap_message"
    __table_args__ = (sa.UniqueConstraint("sender", "identifier"),)

    alert_id: str = Field(primary_key=True, foreign_key="alert.id", max_length=32)
    sender: str = Field(max_length=400)
    identifier: str = Field(max_length=400)
    sent: datetime = Field(sa_type=UtcDateTime)
    sent_text: str = Field(max_length=40)  # as written, for references back to it
    status: str = Field(max_length=16)  # CAP's: Actual, Exercise, System, Test, Draft
    document: bytes = Field(sa_type=sa.LargeBinary)
    signature: str = Field(max_length=8)  # valid | invalid | absent
    signer: str | None = Field(default=None, max_length=400)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Delivery(SQLModel, table=True):
    """One outbox row per recipient and channel; the feed is a channel like any other."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    alert_id: str = Field(foreign_key="alert.id", index=True, max_length=32)
    # None for a resident's delivery, which names its subscription instead.
    organisation_id: str | None = Field(default=None, foreign_key="organisation.id",
                                        index=True, max_length=32)
    contact_id: str | None = Field(default=None, foreign_key="contact.id", max_length=32)
    subscription_id: str | None = Field(default=None, foreign_key="subscription.id",
                                        max_length=32)
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=400)
    idempotency_key: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, index=True,
                                   sa_type=StoredEnum(DeliveryStatus, 16))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # A worker's claim: until this time no other worker takes the row. A worker that dies
    # mid-send simply lets the lease run out and the row is claimed again.
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reason: str = Field(default="publish", max_length=16)  # publish | escalation


class Fanout(SQLModel, table=True):
    """Outbound deliveries still to be written: everyone a message reached on a channel
    other than the feed, one row per message, so that the publish transaction writes one
    row where it would write thousands. The outbox turns it into Delivery rows
    (hub/fanout.py) before it claims, as does anything that reads them."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    alert_id: str = Field(foreign_key="alert.id", index=True, max_length=32)
    reason: str = Field(max_length=16)  # publish | escalation, as Delivery.reason
    created_at: datetime = Field(sa_type=UtcDateTime)
    # [organisation_id, contact_id, channel, recipient, subscription_id] per delivery
    recipients: list[list[str | None]] = Field(sa_type=sa.JSON)


class EscalationStatus(enum.StrEnum):
    PENDING = "pending"
    CANCELLED = "cancelled"
    FIRED = "fired"


class Escalation(SQLModel, table=True):
    """A persisted timer: if the organisation has not acknowledged by `due_at`, its
    secondary tier is alerted. Living in the database, it survives any restart."""

    __table_args__ = (sa.UniqueConstraint("alert_id", "organisation_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    alert_id: str = Field(foreign_key="alert.id", index=True, max_length=32)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=32)
    due_at: datetime = Field(sa_type=UtcDateTime, index=True)
    status: EscalationStatus = Field(default=EscalationStatus.PENDING, index=True,
                                     sa_type=StoredEnum(EscalationStatus, 16))
    settled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    settled_by: str | None = Field(default=None, max_length=64)


class DeliveryAttempt(SQLModel, table=True):
    """One try at sending one delivery: when, how it went, and what the far end said."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="delivery.id", index=True, max_length=32)
    at: datetime = Field(sa_type=UtcDateTime)
    ok: bool
    permanent: bool = False
    error: str | None = Field(default=None, sa_type=sa.Text)
    duration_ms: int = 0


class Ack(SQLModel, table=True):
    """The latest answer of one responder to one alert; `responder` is a contact or a token."""

    __table_args__ = (sa.UniqueConstraint("alert_id", "responder"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    alert_id: str = Field(foreign_key="alert.id", index=True, max_length=32)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=32)
    responder: str = Field(max_length=64)
    contact_id: str | None = Field(default=None, foreign_key="contact.id", max_length=32)
    status: str = Field(max_length=16)
    note: str = Field(default="", sa_type=sa.Text)
    via: str = Field(max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AuditEvent(SQLModel, table=True):
    """Append-only trail; each row's hash covers its content and the previous row's hash."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=40)
    subject: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})


class UserSession(SQLModel, table=True):
    """A logged-in browser. The cookie holds only an encrypted random id; the row decides."""

    __tablename__ = "user_session"

    id: str = Field(primary_key=True, max_length=64)  # SHA-256 of the id in the cookie
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=32)
    mfa_passed: bool = False
    created_at: datetime = Field(sa_type=UtcDateTime)
    last_seen_at: datetime = Field(sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_why: str | None = Field(default=None, max_length=32)
    address: str = Field(default="", max_length=64)


class Throttle(SQLModel, table=True):
    """Failed logins per account or address; shared by every web process through the database."""

    key: str = Field(primary_key=True, max_length=400)
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    blocked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ReportStatus(enum.StrEnum):
    """Where police are with a report: just in, looked at, acted on."""

    NEW = "new"
    REVIEWED = "reviewed"
    ACTIONED = "actioned"


class Report(SQLModel, table=True):
    """A field report sent by a partner, on an alert or standing alone: text, a point, when
    it was seen, and any number of photos or videos (ReportFile)."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    alert_id: str | None = Field(default=None, foreign_key="alert.id", index=True,
                                 max_length=32)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=32)
    reporter: str = Field(max_length=64)  # who sent it: a user, a contact or a token
    text: str = Field(default="", sa_type=sa.Text)
    lat: float
    lon: float
    observed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # A report on no alert carries its own label; one on an alert takes the alert's.
    tlp: Tlp = Field(default=Tlp.AMBER, sa_type=StoredEnum(Tlp, 20))
    status: ReportStatus = Field(default=ReportStatus.NEW, index=True,
                                 sa_type=StoredEnum(ReportStatus, 16))
    reviewed_by: str | None = Field(default=None, max_length=64)  # the last status change
    reviewed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Shared by the sending police service with every organisation the alert reached:
    # they then see it without who sent it, and a copy of the file without its location.
    shared_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ReportFile(SQLModel, table=True):
    """One photo or video of a report, kept as sent (its name is made from this id)."""

    __tablename__ = "report_file"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    report_id: str = Field(foreign_key="report.id", index=True, max_length=32)
    position: int = 0
    kind: str = Field(max_length=8)
    size: int
    sha256: str = Field(max_length=64)


class ReportForward(SQLModel, table=True):
    """A report police passed to one more partner organisation."""

    __tablename__ = "report_forward"
    __table_args__ = (sa.UniqueConstraint("report_id", "organisation_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    report_id: str = Field(foreign_key="report.id", index=True, max_length=32)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=32)
    forwarded_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class EvidenceStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # its page stays up; it takes no new tips


class TipStatus(enum.StrEnum):
    NEW = "new"
    RELEVANT = "relevant"
    NOT_RELEVANT = "not_relevant"
    DUPLICATE = "duplicate"


class EvidenceRequest(SQLModel, table=True):
    """A police appeal to the public for what they saw of an incident, with a public page."""

    __tablename__ = "evidence_request"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    slug: str = Field(max_length=80, sa_column_kwargs={"unique": True})
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=32)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    area: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON(none_as_null=True))
    starts: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ends: datetime | None = Field(default=None, sa_type=UtcDateTime)
    status: EvidenceStatus = Field(default=EvidenceStatus.OPEN,
                                   sa_type=StoredEnum(EvidenceStatus, 8))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UtcDateTime)
    closed_by: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Tip(SQLModel, table=True):
    """What a member of the public sent: no address and no header of the request that
    brought it is kept, only what they chose to write (`contact` too is theirs to give)."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    # SHA-256 of the receipt code the tipster was given: it alone adds files later.
    receipt_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    evidence_request_id: str | None = Field(default=None, foreign_key="evidence_request.id",
                                            index=True, max_length=32)
    text: str = Field(default="", sa_type=sa.Text)
    contact: str | None = Field(default=None, max_length=400)
    status: TipStatus = Field(default=TipStatus.NEW, sa_type=StoredEnum(TipStatus, 16))
    duplicate_of: str | None = Field(default=None, foreign_key="tip.id", max_length=32)
    moderated_by: str | None = Field(default=None, max_length=64)
    moderated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)


class TipFile(SQLModel, table=True):
    """A photo or video of a tip, kept byte for byte as it arrived, with its SHA-256."""

    __tablename__ = "tip_file"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tip_id: str = Field(foreign_key="tip.id", index=True, max_length=32)
    name: str = Field(default="", max_length=200)  # as the sender called it; shown only
    kind: MediaKind = Field(sa_type=StoredEnum(MediaKind, 8))
    size: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UtcDateTime)


class TipUpload(SQLModel, table=True):
    """A resumable (tus) upload for a tip. Its id is the SHA-256 of the secret in its URL,
    which is its only authority; the bytes so far are a file of their own, whose size is
    the offset. A tip that takes it in removes the row."""

    __tablename__ = "tip_upload"

    id: str = Field(primary_key=True, max_length=64)
    length: int = Field(sa_type=sa.BigInteger)
    name: str = Field(default="", max_length=200)
    kind: MediaKind | None = Field(default=None, sa_type=StoredEnum(MediaKind, 8))
    sha256: str | None = Field(default=None, max_length=64)  # once every byte is in
    created_at: datetime = Field(sa_type=UtcDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
