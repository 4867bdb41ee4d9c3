"""The community services directory: places (a service at one location) with their
capacity, and their HSDS schedules.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import partners.models

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        'service_place',
        sa.Column('id', text(length=32), nullable=False),
        sa.Column('organisation_id', text(length=32), nullable=True),
        sa.Column('external_id', text(length=400), nullable=True),
        sa.Column('name', text(length=200), nullable=False),
        sa.Column('need', sa.String(length=16), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('provider', text(length=200), nullable=False),
        sa.Column('address', text(length=400), nullable=False),
        sa.Column('address_1', text(length=200), nullable=False),
        sa.Column('city', text(length=100), nullable=False),
        sa.Column('state_province', text(length=100), nullable=False),
        sa.Column('postal_code', text(length=20), nullable=False),
        sa.Column('country', text(length=2), nullable=False),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('lon', sa.Float(), nullable=True),
        sa.Column('phone', text(length=40), nullable=False),
        sa.Column('time_zone', text(length=64), nullable=False),
        sa.Column('serves', sa.JSON(), nullable=False),
        sa.Column('hours', text(length=500), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=True),
        sa.Column('available', sa.Integer(), nullable=True),
        sa.Column('capacity_updated_at', partners.models.UtcDateTime(), nullable=True),
        sa.Column('capacity_updated_by', text(length=64), nullable=True),
        sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
        sa.Column('updated_at', partners.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('external_id'),
    )
    op.create_index(op.f('ix_service_place_organisation_id'), 'service_place',
                    ['organisation_id'], unique=False)
    op.create_index(op.f('ix_service_place_need'), 'service_place', ['need'], unique=False)
    op.create_table(
        'service_schedule',
        sa.Column('id', text(length=32), nullable=False),
        sa.Column('place_id', text(length=32), nullable=False),
        sa.Column('closed', sa.Boolean(), nullable=False),
        sa.Column('byday', text(length=40), nullable=False),
        sa.Column('opens_at', sa.Integer(), nullable=True),
        sa.Column('closes_at', sa.Integer(), nullable=True),
        sa.Column('valid_from', sa.Date(), nullable=True),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.Column('weekly', sa.Boolean(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('rule', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['place_id'], ['service_place.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_service_schedule_place_id'), 'service_schedule', ['place_id'],
                    unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_service_schedule_place_id'), table_name='service_schedule')
    op.drop_table('service_schedule')
    op.drop_index(op.f('ix_service_place_need'), table_name='service_place')
    op.drop_index(op.f('ix_service_place_organisation_id'), table_name='service_place')
    op.drop_table('service_place')
