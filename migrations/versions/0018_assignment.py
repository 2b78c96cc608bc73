"""applications: the reviewer an application is assigned to (account id), for the work queues' "assigned to me"

Revision ID: 0018_assignment
Revises: 0017_site_kind
Create Date: 2026-12-04 02:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018_assignment'
down_revision = '0017_site_kind'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('application', sa.Column('assigned_to', sa.BigInteger(), nullable=True))
    op.create_index(op.f('ix_application_assigned_to'), 'application', ['assigned_to'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_application_assigned_to'), table_name='application')
    # In place on SQLite too (3.35+): a batch copy of `application` would fail on the rows that point at it.
    op.execute("ALTER TABLE application DROP COLUMN assigned_to")
