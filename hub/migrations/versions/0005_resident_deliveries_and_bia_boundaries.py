"""Resident deliveries (a delivery names a subscription, not an organisation) and BIA boundaries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 14:32:59.218618

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription_id',
                                      sqlmodel.sql.sqltypes.AutoString(length=32),
                                      nullable=True))
        batch_op.alter_column('organisation_id',
               existing_type=sa.VARCHAR(length=32),
               nullable=True)
        batch_op.create_foreign_key('fk_delivery_subscription_id', 'subscription',
                                    ['subscription_id'], ['id'])

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('boundary', sa.JSON(), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('boundary')

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_constraint('fk_delivery_subscription_id', type_='foreignkey')
        batch_op.alter_column('organisation_id',
               existing_type=sa.VARCHAR(length=32),
               nullable=False)
        batch_op.drop_column('subscription_id')

