"""Publishing bad alerts: each is a 422 naming the field, and nothing is stored."""

from __future__ import annotations

import io
import json
import math
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from hub.http import SESSIONS
from tests.conftest import INSIDE, NOW, SQUARE, Hub, alert_body


def polygon(ring: list[Any]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


BOWTIE = [[-79.383, 43.6465], [-79.378, 43.6495], [-79.378, 43.6465], [-79.383, 43.6495],
          [-79.383, 43.6465]]
MANY = [[-79.38 + 0.001 * math.cos(2 * math.pi * i / 10_001),
         43.65 + 0.001 * math.sin(2 * math.pi * i / 10_001)] for i in range(10_001)]
MANY.append(MANY[0])

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown severity", {"severity": "Apocalyptic"}, "severity"),
    ("unknown urgency", {"urgency": "Now"}, "urgency"),
    ("unknown certainty", {"certainty": "Sure"}, "certainty"),
    ("unknown category", {"category": "Crime"}, "category"),
    ("unknown tlp", {"tlp": "TLP:WHITE"}, "tlp"),
    ("latitude above 90", {"area": polygon([[-79.38, 91.0], [-79.37, 43.6], [-79.36, 43.7],
                                            [-79.38, 91.0]])}, "area.coordinates[0][0]"),
    ("longitude below -180", {"area": polygon([[-181.0, 43.6], [-79.37, 43.6],
                                               [-79.36, 43.7], [-181.0, 43.6]])},
     "area.coordinates[0][0]"),
    ("circle latitude out of range",
     {"area": {"circle": {"lat": -95.0, "lon": -79.38, "radius_m": 100}}}, "area.circle"),
    ("unclosed ring", {"area": polygon([*SQUARE[:-1], [-79.3831, 43.6466]])},
     "area.coordinates[0]"),
    ("self-intersecting ring", {"area": polygon(BOWTIE)}, "area.coordinates"),
    ("fewer than 4 positions", {"area": polygon([[-79.38, 43.64], [-79.37, 43.64],
                                                 [-79.38, 43.64]])}, "area.coordinates[0]"),
    ("more than 10,000 vertices", {"area": polygon(MANY)}, "area.coordinates[0]"),
    ("zero radius", {"area": {"circle": {"lat": 43.648, "lon": -79.381, "radius_m": 0}}},
     "area.circle.radius_m"),
    ("negative radius", {"area": {"circle": {"lat": 43.648, "lon": -79.381, "radius_m": -5}}},
     "area.circle.radius_m"),
    ("absurd radius", {"area": {"circle": {"lat": 43.648, "lon": -79.381,
                                           "radius_m": 40_000_000}}}, "area.circle.radius_m"),
    ("expires in the past", {"expires": (NOW - timedelta(minutes=1)).isoformat()}, "expires"),
    ("expires without offset", {"expires": "2026-11-21T18:00:00"}, "expires"),
    ("expires not a date", {"expires": "tomorrow"}, "expires"),
    ("missing headline", {"headline": None}, "headline"),
    ("missing area", {"area": None}, "area"),
    ("area of an unknown type", {"area": {"type": "Point", "coordinates": [-79.38, 43.64]}},
     "area.type"),
    ("non-positive ack deadline", {"ack_within_s": 0}, "ack_within_s"),
    ("unknown field", {"severty": "Severe"}, "severty"),
]


def body_without_nones(overrides: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alert_body(**overrides).items() if v is not None}


async def row_counts(hub: Hub) -> dict[str, int]:
    async with hub.client.app[SESSIONS]() as session:
        counts = {}
        for name, table in SQLModel.metadata.tables.items():
            result = await session.exec(select(func.count()).select_from(table))
            counts[name] = result.scalar_one()
        return counts


@pytest.fixture
async def publisher(hub: Hub) -> str:
    token = await hub.publisher()
    await hub.partner("Bay Tower Security", INSIDE)
    return token


async def assert_refused(hub: Hub, publisher: str, field: str, **request: Any) -> None:
    before = await row_counts(hub)
    headers = {**hub.auth(publisher), **request.pop("headers", {})}
    response = await hub.client.post("/api/v1/alerts", headers=headers, **request)
    data = await response.json()
    assert response.status == 422, data
    assert data["error"] == "invalid"
    assert field in data["fields"], data
    assert data["detail"]
    assert await row_counts(hub) == before


@pytest.mark.parametrize(("case", "overrides", "field"), CASES, ids=[c[0] for c in CASES])
async def test_invalid_alert_is_422_naming_the_field(hub: Hub, publisher: str, case: str,
                                                     overrides: dict[str, Any],
                                                     field: str) -> None:
    await assert_refused(hub, publisher, field, json=body_without_nones(overrides))


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinite_numbers_are_refused(hub: Hub, publisher: str,
                                                    number: str) -> None:
    text = json.dumps(alert_body()).replace("-79.383", number, 1)
    assert number in text
    await assert_refused(hub, publisher, "body", data=text,
                         headers={**hub.auth(publisher), "Content-Type": "application/json"})


async def test_infinite_radius_is_refused(hub: Hub, publisher: str) -> None:
    text = json.dumps(alert_body(area={"circle": {"lat": 43.6, "lon": -79.3, "radius_m": 1e999}}))
    assert "Infinity" in text
    await assert_refused(hub, publisher, "body", data=text)


async def test_body_over_one_mebibyte_is_refused(hub: Hub, publisher: str) -> None:
    text = json.dumps(alert_body(description="x" * (1024 * 1024)))
    await assert_refused(hub, publisher, "body", data=io.BytesIO(text.encode()))


async def test_chunked_body_over_one_mebibyte_is_refused(hub: Hub, publisher: str) -> None:
    async def chunks() -> Any:
        for _ in range(17):
            yield b" " * 65536
        yield json.dumps(alert_body()).encode()

    await assert_refused(hub, publisher, "body", data=chunks())


@pytest.mark.parametrize("text", ["{", "", "[1, 2", "{'headline': 'single quotes'}", "\xff"])
async def test_malformed_json_is_refused(hub: Hub, publisher: str, text: str) -> None:
    await assert_refused(hub, publisher, "body", data=text.encode("latin-1"))


async def test_non_object_body_is_refused(hub: Hub, publisher: str) -> None:
    await assert_refused(hub, publisher, "body", json=[alert_body()])


async def test_every_bad_field_is_named_at_once(hub: Hub, publisher: str) -> None:
    response = await hub.client.post("/api/v1/alerts", headers=hub.auth(publisher),
                                     json=alert_body(severity="Huge", urgency="Soon",
                                                     tlp="TLP:PINK"))
    fields = (await response.json())["fields"]
    assert {"severity", "urgency", "tlp"} <= fields.keys()


async def test_valid_alert_is_stored_with_its_rows(hub: Hub, publisher: str) -> None:
    before = await row_counts(hub)
    created = await hub.publish(publisher)
    after = await row_counts(hub)
    assert created["status"] == "published"
    assert after["alert"] == before["alert"] + 1
    assert after["delivery"] == before["delivery"] + 1  # the desk's feed
    assert after["fanout"] == before["fanout"] + 1  # its contact's email, for the worker
    assert after["audit_event"] == before["audit_event"] + 1
