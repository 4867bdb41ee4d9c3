"""Outbound deliveries written after the publish: one fanout row per message.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 05:40:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import partners.models

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'fanout',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('alert_id', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
        sa.Column('recipients', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['alert_id'], ['alert.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_fanout_alert_id'), 'fanout', ['alert_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_fanout_alert_id'), table_name='fanout')
    op.drop_table('fanout')
