"""A counter of credential revocations, so the live feed re-checks its desks only after one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

counter = sa.table('counter', sa.column('name', sa.String), sa.column('value', sa.BigInteger))


def upgrade() -> None:
    """Upgrade schema."""
    op.bulk_insert(counter, [{'name': 'revocations', 'value': 0}])


def downgrade() -> None:
    """Downgrade schema."""
    op.execute(counter.delete().where(counter.c.name == 'revocations'))
