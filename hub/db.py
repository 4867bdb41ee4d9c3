"""Database access: the async engine, sessions, and migrations to the latest schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Table, event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS = Path(__file__).parent / "migrations"

Sessions = async_sessionmaker[AsyncSession]
PLACEHOLDERS = {"qmark": "?", "format": "%s", "numeric": ":{n}", "numeric_dollar": "${n}"}


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys, a busy timeout and one connection.

    SQLite takes one writer at a time. Two connections of one process that both write wait
    for each other in SQLite's busy handler, which sleeps 1, 2, 5, 10... ms between tries:
    under load a publish spent more time asleep than writing. One connection per process
    queues its sessions in order instead, with no sleeping; other processes still share the
    file through the busy timeout."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=1,
                                     max_overflow=0, pool_timeout=60)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def insert_many(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys) in the session's transaction, in one
    executemany through the driver.

    Each column's type still converts its values, but once per distinct value rather than
    once per row and column: a publish to a thousand organisations writes a thousand rows
    that share their times, and SQLAlchemy's per-row parameter handling cost more than the
    database did."""
    if not rows:
        return
    names = list(rows[0])

    def run(connection: Connection) -> None:
        dialect = connection.dialect
        # dialect_impl: a TypeDecorator's own processing and then its dialect type's.
        convert = [_converter(table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                   for name in names]
        marks = ", ".join(PLACEHOLDERS[dialect.paramstyle].format(n=n + 1)
                          for n in range(len(names)))
        quote = dialect.identifier_preparer.quote
        connection.exec_driver_sql(
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({marks})",
            [tuple(c(row[name]) for c, name in zip(convert, names, strict=True))
             for row in rows])

    await (await session.connection()).run_sync(run)


def _converter(processor: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    if processor is None:
        return lambda value: value
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value not in done:
            done[value] = processor(value)
        return done[value]

    return convert


def session_factory(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Create or migrate the database to the newest schema."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
