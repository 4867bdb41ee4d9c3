"""A contact's addresses, one per channel, in one column keyed by each channel's contact
field, so a channel plugin brings its own field without a migration of its own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = ('email', 'chat_url')
contact = sa.table('contact', sa.column('id', sa.String), sa.column('email', sa.String),
                   sa.column('chat_url', sa.String), sa.column('addresses', sa.JSON))


# Columns are added and dropped in place (SQLite 3.35 and later can), never by rebuilding
# the table: tokens, accounts and deliveries refer to contacts, and a rebuild would drop
# the table they point at.


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('contact', sa.Column('addresses', sa.JSON(), nullable=False,
                                       server_default='{}'))
    bind = op.get_bind()
    for row in bind.execute(sa.select(contact.c.id, contact.c.email, contact.c.chat_url)).all():
        addresses = {name: getattr(row, name) for name in FIELDS if getattr(row, name)}
        bind.execute(contact.update().where(contact.c.id == row.id)
                     .values(addresses=addresses))
    op.drop_column('contact', 'email')
    op.drop_column('contact', 'chat_url')


def downgrade() -> None:
    """Downgrade schema."""
    op.add_column('contact', sa.Column('email', sa.String(length=320), nullable=True))
    op.add_column('contact', sa.Column('chat_url', sa.String(length=2000), nullable=True))
    bind = op.get_bind()
    for row in bind.execute(sa.select(contact.c.id, contact.c.addresses)).all():
        addresses = row.addresses or {}
        bind.execute(contact.update().where(contact.c.id == row.id)
                     .values({name: addresses.get(name) for name in FIELDS}))
    op.drop_column('contact', 'addresses')
