"""Migrations that move data keep it: a contact's addresses (0011) and a report's one file
(0012) come through an upgrade from the schema before, and back through a downgrade, on
SQLite and PostgreSQL, with tokens still bound to the contacts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from hub import db
from tests.services import fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/old.db"
        return
    async for found in fresh_postgres_database():
        yield found


def _upgrade_to(connection: sa.Connection, revision: str, down: bool = False) -> None:
    config = db.alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


OLD_ROWS = [
    "INSERT INTO organisation (id, name, kind, created_at) VALUES "
    "('org', 'Bay Tower', 'corporate', '2026-11-01 10:00:00')",
    "INSERT INTO contact (id, organisation_id, name, email, chat_url, tier, created_at) VALUES "
    "('c1', 'org', 'Guard', 'guard@example.org', NULL, 'primary', '2026-11-01 10:00:00'), "
    "('c2', 'org', 'Ops', NULL, 'json://127.0.0.1:9/hooks/ops', 'primary', "
    "'2026-11-01 10:00:00')",
    "INSERT INTO api_token (id, token_hash, role, organisation_id, contact_id, label, "
    "created_at) VALUES ('t1', 'h1', 'partner', 'org', 'c1', 'desk', '2026-11-01 10:00:00')",
    "INSERT INTO alert (id, seq, status, msg_type, sender_org_id, created_by, sender_name, "
    "headline, event, category, severity, urgency, certainty, tlp, description, instruction, "
    "language, area, area_name, created_at) VALUES ('a1', 1, 'published', 'Alert', 'org', "
    "'token:t', 'Police', 'Package', 'Package', 'Security', 'Severe', 'Immediate', "
    "'Observed', 'TLP:GREEN', '', '', 'en-CA', '{}', '', '2026-11-01 10:00:00')",
    "INSERT INTO report (id, alert_id, organisation_id, reporter, text, lat, lon, file_kind, "
    "file_size, file_sha256, created_at) VALUES ('r1', 'a1', 'org', 'token:t', 'seen', "
    "43.6, -79.3, 'jpeg', 1234, 'ab12', '2026-11-01 10:05:00'), ('r2', 'a1', 'org', "
    "'token:t', 'no photo', 43.6, -79.3, NULL, NULL, NULL, '2026-11-01 10:06:00')",
]


async def _rows(engine: Any, query: str) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(sa.text(query))).all())


async def test_contacts_and_reports_keep_their_data_through_the_upgrade_and_back(url: str) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0010")
            for statement in OLD_ROWS:
                await connection.execute(sa.text(statement))
        await db.upgrade(engine)
        addresses = dict(await _rows(engine, "SELECT id, addresses FROM contact ORDER BY id"))
        assert [_json(addresses["c1"]), _json(addresses["c2"])] == [
            {"email": "guard@example.org"}, {"chat_url": "json://127.0.0.1:9/hooks/ops"}]
        assert await _rows(engine, "SELECT contact_id FROM api_token") == [("c1",)]
        files = await _rows(engine, "SELECT id, report_id, kind, size, sha256 FROM report_file")
        assert [tuple(row) for row in files] == [("r1", "r1", "jpeg", 1234, "ab12")]
        reports = await _rows(engine, "SELECT id, tlp, status, observed_at, created_at "
                                      "FROM report ORDER BY id")
        assert [(r[0], r[1], r[2]) for r in reports] == [("r1", "TLP:GREEN", "new"),
                                                        ("r2", "TLP:GREEN", "new")]
        assert all(str(r[3]) == str(r[4]) for r in reports)  # seen when it was sent
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0010", down=True)
        back = await _rows(engine, "SELECT id, email, chat_url FROM contact ORDER BY id")
        assert [tuple(row) for row in back] == [("c1", "guard@example.org", None),
                                                ("c2", None, "json://127.0.0.1:9/hooks/ops")]
        kept = await _rows(engine, "SELECT id, file_kind, file_sha256 FROM report ORDER BY id")
        assert [tuple(row) for row in kept] == [("r1", "jpeg", "ab12"), ("r2", None, None)]
    finally:
        await engine.dispose()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
