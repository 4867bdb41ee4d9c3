"""Accounts, sessions, login throttling, field reports, approval, resident subscriptions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 13:32:28.385564

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import partners.models

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table('throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', partners.models.UtcDateTime(), nullable=True),
    sa.Column('blocked_until', partners.models.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('invitation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('organisation_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('contact_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('invited_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
    sa.Column('expires_at', partners.models.UtcDateTime(), nullable=False),
    sa.Column('accepted_at', partners.models.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_organisation_id'),
                              ['organisation_id'], unique=False)

    op.create_table('report',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('alert_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('organisation_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reporter', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('file_kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('file_size', sa.Integer(), nullable=True),
    sa.Column('file_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('shared_at', partners.models.UtcDateTime(), nullable=True),
    sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_organisation_id'),
                              ['organisation_id'], unique=False)

    op.create_table('user_account',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('organisation_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('contact_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('totp_secret', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('totp_enabled_at', partners.models.UtcDateTime(), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
    sa.Column('last_login_at', partners.models.UtcDateTime(), nullable=True),
    sa.Column('disabled_at', partners.models.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_organisation_id'),
                              ['organisation_id'], unique=False)

    op.create_table('recovery_code',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('used_at', partners.models.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    op.create_table('user_session',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('mfa_passed', sa.Boolean(), nullable=False),
    sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
    sa.Column('last_seen_at', partners.models.UtcDateTime(), nullable=False),
    sa.Column('ended_at', partners.models.UtcDateTime(), nullable=True),
    sa.Column('ended_why', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)

    op.create_table('subscription',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('radius_m', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
    sa.Column('confirmed_at', partners.models.UtcDateTime(), nullable=True),
    sa.Column('cancelled_at', partners.models.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_email'), ['email'], unique=False)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_by',
                                      sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))




def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('approved_by')

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))

    op.drop_table('user_session')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))

    op.drop_table('recovery_code')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_organisation_id'))

    op.drop_table('user_account')
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_report_alert_id'))

    op.drop_table('report')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_organisation_id'))

    op.drop_table('invitation')
    op.drop_table('throttle')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_email'))

    op.drop_table('subscription')

