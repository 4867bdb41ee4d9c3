"""Public tips: police evidence requests, the tips and files the public sends, and the
resumable (tus) uploads that bring the large files.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 09:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import partners.models

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'tip_upload',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('length', sa.BigInteger(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
        sa.Column('completed_at', partners.models.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'evidence_request',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('slug', sa.String(length=80), nullable=False),
        sa.Column('organisation_id', sa.String(length=32), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('area', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('starts', partners.models.UtcDateTime(), nullable=True),
        sa.Column('ends', partners.models.UtcDateTime(), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
        sa.Column('closed_by', sa.String(length=64), nullable=True),
        sa.Column('closed_at', partners.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('slug'),
    )
    op.create_index(op.f('ix_evidence_request_organisation_id'), 'evidence_request',
                    ['organisation_id'], unique=False)
    op.create_table(
        'tip',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('receipt_hash', sa.String(length=64), nullable=False),
        sa.Column('evidence_request_id', sa.String(length=32), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('contact', sa.String(length=400), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('duplicate_of', sa.String(length=32), nullable=True),
        sa.Column('moderated_by', sa.String(length=64), nullable=True),
        sa.Column('moderated_at', partners.models.UtcDateTime(), nullable=True),
        sa.Column('created_at', partners.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['duplicate_of'], ['tip.id']),
        sa.ForeignKeyConstraint(['evidence_request_id'], ['evidence_request.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('receipt_hash'),
    )
    op.create_index(op.f('ix_tip_evidence_request_id'), 'tip', ['evidence_request_id'],
                    unique=False)
    op.create_table(
        'tip_file',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('tip_id', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('received_at', partners.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['tip_id'], ['tip.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_tip_file_tip_id'), 'tip_file', ['tip_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_tip_file_tip_id'), table_name='tip_file')
    op.drop_table('tip_file')
    op.drop_index(op.f('ix_tip_evidence_request_id'), table_name='tip')
    op.drop_table('tip')
    op.drop_index(op.f('ix_evidence_request_organisation_id'),
                  table_name='evidence_request')
    op.drop_table('evidence_request')
    op.drop_table('tip_upload')
