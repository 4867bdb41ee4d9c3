"""The area of each alert in words, as desk cards and the CAP `areaDesc` name it: a preset's
name, or an imported CAP alert's area descriptions (backfilled from the stored CAP summary).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

alert = sa.table('alert', sa.column('id', sa.String), sa.column('area_name', sa.String),
                 sa.column('cap', sa.JSON))


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('alert') as batch:
        batch.add_column(sa.Column('area_name', sa.String(length=200), nullable=False,
                                   server_default=''))
    bind = op.get_bind()
    for row in bind.execute(sa.select(alert.c.id, alert.c.cap)
                            .where(alert.c.cap.is_not(None))).all():
        infos = (row.cap or {}).get('infos') or [{}]
        named = '; '.join(area.get('description') or '' for area in infos[0].get('areas', []))
        name = ' '.join(named.split())[:200]
        if name:
            bind.execute(alert.update().where(alert.c.id == row.id).values(area_name=name))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('alert') as batch:
        batch.drop_column('area_name')
