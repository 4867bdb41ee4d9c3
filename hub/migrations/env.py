"""Alembic environment: runs on the connection the hub hands over, or on -x url=..."""

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

import hub.directory  # (registers the tables, as the two below do)
import hub.models  # noqa: F401
import partners.models  # noqa: F401

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True)["url"]
        with create_engine(url).connect() as connection:
            _migrate(connection)
            connection.commit()
    else:
        _migrate(connection)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
