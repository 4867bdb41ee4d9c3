"""Who sent each alert, as shown on every card, dashboard and message: the sending
organisation's name, or for an imported CAP alert its `senderName` (else `sender`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 19:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

alert = sa.table('alert', sa.column('id', sa.String), sa.column('sender_org_id', sa.String),
                 sa.column('sender_name', sa.String), sa.column('cap', sa.JSON))
organisation = sa.table('organisation', sa.column('id', sa.String), sa.column('name', sa.String))


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('alert') as batch:
        batch.add_column(sa.Column('sender_name', sa.String(length=400), nullable=False,
                                   server_default=''))
    bind = op.get_bind()
    names = dict(bind.execute(sa.select(organisation.c.id, organisation.c.name)).all())
    for row in bind.execute(sa.select(alert.c.id, alert.c.sender_org_id, alert.c.cap)).all():
        cap = row.cap or {}
        infos = cap.get('infos') or [{}]
        name = (infos[0].get('sender_name') or cap.get('sender')) if cap else None
        name = name or names.get(row.sender_org_id) or ''
        if name:
            bind.execute(alert.update().where(alert.c.id == row.id)
                         .values(sender_name=name[:400]))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('alert') as batch:
        batch.drop_column('sender_name')
