"""Escalation timers, and why each delivery was made (publish or escalation).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 13:08:06.614402

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import partners.models

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('escalation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('alert_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('organisation_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('due_at', partners.models.UtcDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('settled_at', partners.models.UtcDateTime(), nullable=True),
    sa.Column('settled_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alert_id', 'organisation_id')
    )
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_status'), ['status'], unique=False)

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False,
                                      server_default='publish'))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('reason')

    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_status'))
        batch_op.drop_index(batch_op.f('ix_escalation_due_at'))
        batch_op.drop_index(batch_op.f('ix_escalation_alert_id'))

    op.drop_table('escalation')
