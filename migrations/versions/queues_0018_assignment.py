"""applications: the reviewer an application is assigned to (account id), for the work queues' "assigned to me"

Revision ID: queues_0018_assignment
Revises: 0017_site_kind
Create Date: 2026-12-04 02:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'queues_0018_assignment'
down_revision = '0017_site_kind'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('application') as batch:
        batch.add_column(sa.Column('assigned_to', sa.BigInteger(), nullable=True))
    op.create_index(op.f('ix_application_assigned_to'), 'application', ['assigned_to'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_application_assigned_to'), table_name='application')
    with op.batch_alter_table('application') as batch:
        batch.drop_column('assigned_to')
