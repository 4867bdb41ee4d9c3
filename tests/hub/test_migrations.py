"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from hub import db
from tests.services import fresh_postgres_database


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async for url in fresh_postgres_database():
        yield url


def schema_drift(connection: object) -> list[object]:
    context = MigrationContext.configure(connection)  # type: ignore[arg-type]
    return list(compare_metadata(context, SQLModel.metadata))


async def check_upgrade(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        await db.upgrade(engine)  # running it again is harmless
        async with engine.connect() as connection:
            assert await connection.run_sync(schema_drift) == []
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert set(SQLModel.metadata.tables) <= tables
    finally:
        await engine.dispose()


async def test_migrations_match_models_on_sqlite(tmp_path: Path) -> None:
    await check_upgrade(f"sqlite+aiosqlite:///{tmp_path}/m.db")


@pytest.mark.postgres
async def test_migrations_match_models_on_postgres(postgres_url: str) -> None:
    await check_upgrade(postgres_url)
