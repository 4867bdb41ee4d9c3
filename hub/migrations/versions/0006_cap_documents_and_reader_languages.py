"""CAP documents as received, each alert's CAP summary, areas that are only named, readers'
languages.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 15:23:21.619367

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import partners.models

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('cap_message',
    sa.Column('alert_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('identifier', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('sent', partners.models.UtcDateTime(), nullable=False),
    sa.Column('sent_text', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('signer', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('received_at', partners.models.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name='fk_cap_message_alert_id'),
    sa.PrimaryKeyConstraint('alert_id'),
    sa.UniqueConstraint('sender', 'identifier', name='uq_cap_message_sender_identifier')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cap', sa.JSON(none_as_null=True), nullable=True))
        batch_op.alter_column('area',
               existing_type=sa.JSON(),
               nullable=True)

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=35),
                                      nullable=True))

    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=35),
                                      nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_column('language')

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('language')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.alter_column('area',
               existing_type=sa.JSON(),
               nullable=False)
        batch_op.drop_column('cap')

    op.drop_table('cap_message')
