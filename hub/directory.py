"""Community services directory tables: the places (a service at one location) and their
opening hours."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from partners.models import StoredEnum, UtcDateTime, new_id, utcnow

DEFAULT_TIME_ZONE = "America/Toronto"  # Peel Region's, and the demo's


class Need(enum.StrEnum):
    SHELTER = "shelter"
    MEAL = "meal"
    WARMING_CENTRE = "warming_centre"
    COOLING_CENTRE = "cooling_centre"
    DROP_IN = "drop_in"
    CRISIS_LINE = "crisis_line"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize().replace("Drop in", "Drop-in")


class ServedGroup(enum.StrEnum):
    """Whom a place serves; `pets` means people may come with their pets."""

    MEN = "men"
    WOMEN = "women"
    YOUTH = "youth"
    FAMILIES = "families"
    PETS = "pets"


class ServicePlace(SQLModel, table=True):
    """A service at one location: a shelter, a meal programme, a warming centre, a crisis
    line. Beds or seats, when it has them, are `capacity`; `available` is how many are free
    as its agency last said, at `capacity_updated_at`."""

    __tablename__ = "service_place"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    # The agency that runs it: its admins and partners update the capacity.
    organisation_id: str | None = Field(default=None, foreign_key="organisation.id",
                                        index=True, max_length=32)
    # Where an import found it (`hsds:<service>@<location>`, `csv:<name>@<address>`): a
    # second import of the same data updates the place instead of adding another.
    external_id: str | None = Field(default=None, max_length=400,
                                    sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    need: Need = Field(sa_type=StoredEnum(Need, 16), index=True)
    description: str = Field(default="", sa_type=sa.Text)
    provider: str = Field(default="", max_length=200)  # the organisation HSDS data named
    address: str = Field(default="", max_length=400)  # one line, as people read it
    # The parts HSDS addresses have, where the source gave them.
    address_1: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    state_province: str = Field(default="", max_length=100)
    postal_code: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=2)
    lat: float | None = None
    lon: float | None = None
    phone: str = Field(default="", max_length=40)
    time_zone: str = Field(default=DEFAULT_TIME_ZONE, max_length=64)
    serves: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # The hours as people read them (OpenStreetMap's words); "" when nobody said.
    hours: str = Field(default="", max_length=500)
    capacity: int | None = None
    available: int | None = None
    capacity_updated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    capacity_updated_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ServiceSchedule(SQLModel, table=True):
    """One HSDS schedule of a place: open on `byday` from `opens_at` to `closes_at`
    (minutes after local midnight; closing at or before opening runs past midnight), or,
    with `closed`, a closure from `valid_from` to `valid_to`."""

    __tablename__ = "service_schedule"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    place_id: str = Field(foreign_key="service_place.id", index=True, max_length=32)
    closed: bool = False
    byday: str = Field(default="", max_length=40)  # RFC 5545 codes: MO,TU,WE
    opens_at: int | None = None
    closes_at: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    # False for a rule the hub does not evaluate (monthly, by week number...): kept and
    # served back, and the place's hours count as unknown.
    weekly: bool = True
    description: str = Field(default="", sa_type=sa.Text)
    # The rest of an imported HSDS schedule (freq, interval, bymonthday, notes...), as read.
    rule: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
