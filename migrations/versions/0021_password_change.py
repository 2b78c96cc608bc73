"""accounts: must_change_password, set by a reset or an admin-made password until its holder chooses their own

Revision ID: 0021_password_change
Revises: 0020_signal_tally
Create Date: 2026-12-04 18:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021_password_change'
down_revision = '0020_signal_tally'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both engines (SQLite adds it in place: no batch copy of a table others point at).
    op.add_column('account', sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                       nullable=False))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE account DROP COLUMN must_change_password")
    else:
        op.drop_column('account', 'must_change_password')
