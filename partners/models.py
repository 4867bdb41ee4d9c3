"""Partner tables: organisations, sites, contacts and hashed API tokens."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

MAX_ID = 32  # what new_id makes: a UUID's 32 hex digits


def new_id() -> str:
    """A random opaque identifier for a new row."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


E = TypeVar("E", bound=enum.StrEnum)


class StoredEnum(sa.types.TypeDecorator[E]):
    """An enumeration kept as its string value and read back as the enumeration, so no
    caller re-wraps a column's string (`Tlp(alert.tlp)`); writing a value that is not one
    of its members fails before it reaches the database."""

    impl = sa.String
    cache_ok = True

    def __init__(self, kind: type[E], length: int) -> None:
        super().__init__(length=length)
        self.kind = kind

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.kind(value).value

    def process_result_value(self, value: Any, dialect: Any) -> E | None:
        return None if value is None else self.kind(value)


class OrgKind(enum.StrEnum):
    POLICE = "police"
    BIA = "bia"
    CORPORATE = "corporate"
    VENUE = "venue"
    AGENCY = "agency"


class Tier(enum.StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


class Role(enum.StrEnum):
    ADMIN = "admin"
    PUBLISHER = "publisher"
    APPROVER = "approver"
    PARTNER = "partner"
    # A member of the public holding the link of a confirmed subscription; never a token's
    # or an account's role.
    RESIDENT = "resident"


STAFF_ROLES = frozenset({Role.ADMIN, Role.PUBLISHER, Role.APPROVER, Role.PARTNER})


class Organisation(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    kind: OrgKind = Field(sa_type=StoredEnum(OrgKind, 16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # A BIA's boundary (GeoJSON Polygon or MultiPolygon): a preset area for publishers.
    boundary: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON(none_as_null=True))


class Site(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=32)
    name: str = Field(max_length=200)
    lat: float
    lon: float


class Contact(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=32)
    name: str = Field(max_length=200)
    # Where each channel reaches this person, by the channel's contact field
    # ({"email": ..., "chat_url": ...}); channels.registry declares the fields.
    addresses: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON,
                                      sa_column_kwargs={"server_default": "{}"})
    tier: Tier = Field(sa_type=StoredEnum(Tier, 16))
    # The language this person reads (a tag such as fr-CA); a CAP alert in several languages
    # reaches them in theirs. None: the alert's first language.
    language: str | None = Field(default=None, max_length=35)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ApiToken(SQLModel, table=True):
    """A system credential; only the SHA-256 of the secret is kept."""

    __tablename__ = "api_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    role: Role = Field(sa_type=StoredEnum(Role, 16))
    organisation_id: str | None = Field(
        default=None, foreign_key="organisation.id", index=True, max_length=32
    )
    contact_id: str | None = Field(default=None, foreign_key="contact.id", max_length=32)
    label: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class User(SQLModel, table=True):
    """A person who logs in to the pages; systems use API tokens instead."""

    __tablename__ = "user_account"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True})  # stored lower-case
    name: str = Field(max_length=200)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=32)
    role: Role = Field(sa_type=StoredEnum(Role, 16))
    contact_id: str | None = Field(default=None, foreign_key="contact.id", max_length=32)
    password_hash: str = Field(max_length=200)
    # The TOTP seed, encrypted with a key derived from VIGIL_SECRET_KEY: a copy of the
    # database alone must not be enough to mint second factors.
    totp_secret: str | None = Field(default=None, max_length=400)
    totp_enabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    totp_last_step: int | None = Field(default=None, sa_type=sa.BigInteger)  # no replays
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class RecoveryCode(SQLModel, table=True):
    """A one-time second factor for a person who lost their authenticator."""

    __tablename__ = "recovery_code"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=32)
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Invitation(SQLModel, table=True):
    """An organisation admin's invitation for a person to create their account."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=32)
    email: str = Field(max_length=320)
    role: Role = Field(sa_type=StoredEnum(Role, 16))
    contact_id: str | None = Field(default=None, foreign_key="contact.id", max_length=32)
    invited_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SubscriptionStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the resident to follow the confirmation link
    ACTIVE = "active"
    CANCELLED = "cancelled"


class Subscription(SQLModel, table=True):
    """A resident's wish to hear public alerts around one point; no account needed."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    email: str = Field(max_length=320, index=True)
    lat: float
    lon: float
    radius_m: int
    language: str | None = Field(default=None, max_length=35)  # as for Contact.language
    # The secret of the resident's links (confirm, manage, unsubscribe), kept only hashed.
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    status: SubscriptionStatus = Field(default=SubscriptionStatus.PENDING,
                                       sa_type=StoredEnum(SubscriptionStatus, 16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
