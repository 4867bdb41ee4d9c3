"""Partner tables: organisations, sites, contacts and hashed API tokens."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


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


class Organisation(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    kind: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


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
    email: str | None = Field(default=None, max_length=320)
    chat_url: str | None = Field(default=None, max_length=2000)
    tier: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ApiToken(SQLModel, table=True):
    """A system credential; only the SHA-256 of the secret is kept."""

    __tablename__ = "api_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    role: str = Field(max_length=16)
    organisation_id: str | None = Field(
        default=None, foreign_key="organisation.id", index=True, max_length=32
    )
    contact_id: str | None = Field(default=None, foreign_key="contact.id", max_length=32)
    label: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
