"""Field reports that travel: on an alert or on none, with any number of files, a time
seen, a label, review states and forwards to more partners; alerts carry attached report
files. Each report's one file moves to
`report_file` under the report's own id, so its stored name is unchanged.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:14:53.843109

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import partners.models

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


report = sa.table('report', sa.column('id', sa.String), sa.column('file_kind', sa.String),
                  sa.column('file_size', sa.Integer), sa.column('file_sha256', sa.String))
report_file = sa.table('report_file', sa.column('id', sa.String),
                       sa.column('report_id', sa.String), sa.column('position', sa.Integer),
                       sa.column('kind', sa.String), sa.column('size', sa.Integer),
                       sa.column('sha256', sa.String))


def upgrade() -> None:
    """Upgrade schema. The report table is rebuilt (SQLite) before anything refers to it."""
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('observed_at', partners.models.UtcDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('tlp', sa.String(length=20), nullable=False,
                                      server_default='TLP:AMBER'))
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False,
                                      server_default='new'))
        batch_op.add_column(sa.Column('reviewed_by',
                                      sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', partners.models.UtcDateTime(),
                                      nullable=True))
        batch_op.alter_column('alert_id', existing_type=sa.VARCHAR(length=32), nullable=True)
        batch_op.create_index(batch_op.f('ix_report_status'), ['status'], unique=False)
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE report SET observed_at = created_at, "
                         "tlp = (SELECT tlp FROM alert WHERE alert.id = report.alert_id)"))
    files = [{'id': row.id, 'report_id': row.id, 'position': 0, 'kind': row.file_kind,
              'size': row.file_size, 'sha256': row.file_sha256}
             for row in bind.execute(sa.select(report).where(report.c.file_kind.is_not(None)))]
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.alter_column('observed_at', existing_type=partners.models.UtcDateTime(),
                              nullable=False)
        batch_op.drop_column('file_sha256')
        batch_op.drop_column('file_kind')
        batch_op.drop_column('file_size')
    op.create_table(
        'report_file',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('report_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['report.id'], ),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('report_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_file_report_id'), ['report_id'],
                              unique=False)
    op.create_table(
        'report_forward',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('report_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('organisation_id', sqlmodel.sql.sqltypes.AutoString(length=32),
                  nullable=False),
        sa.Column('forwarded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
        sa.ForeignKeyConstraint(['report_id'], ['report.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('report_id', 'organisation_id'))
    with op.batch_alter_table('report_forward', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_forward_organisation_id'),
                              ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_forward_report_id'), ['report_id'],
                              unique=False)
    if files:
        op.bulk_insert(report_file, files)
    # In place, never a rebuild: deliveries, acks and reports refer to alerts.
    op.add_column('alert', sa.Column('attachments', sa.JSON(), nullable=False,
                                     server_default='[]'))


def downgrade() -> None:
    """Downgrade schema: each report keeps its first file; reports on no alert are dropped
    (the schema before could not hold them)."""
    op.drop_column('alert', 'attachments')
    bind = op.get_bind()
    first = {row.report_id: row for row in bind.execute(
        sa.select(report_file).order_by(report_file.c.position.desc()))}
    with op.batch_alter_table('report_forward', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_forward_report_id'))
        batch_op.drop_index(batch_op.f('ix_report_forward_organisation_id'))
    op.drop_table('report_forward')
    with op.batch_alter_table('report_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_file_report_id'))
    op.drop_table('report_file')
    bind.execute(sa.text("DELETE FROM report WHERE alert_id IS NULL"))
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_size', sa.INTEGER(), nullable=True))
        batch_op.add_column(sa.Column('file_kind', sa.VARCHAR(length=8), nullable=True))
        batch_op.add_column(sa.Column('file_sha256', sa.VARCHAR(length=64), nullable=True))
        batch_op.drop_index(batch_op.f('ix_report_status'))
        batch_op.alter_column('alert_id', existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_by')
        batch_op.drop_column('status')
        batch_op.drop_column('tlp')
        batch_op.drop_column('observed_at')
    for report_id, row in first.items():
        bind.execute(report.update().where(report.c.id == report_id).values(
            file_kind=row.kind, file_size=row.size, file_sha256=row.sha256))
