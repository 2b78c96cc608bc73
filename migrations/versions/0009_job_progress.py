"""jobs: progress in its own table, so a job reporting it mid-transaction no longer waits on its own row lock

Revision ID: 0009_job_progress
Revises: 0008_audit_seal
Create Date: 2026-11-29 05:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

revision = '0009_job_progress'
down_revision = '0008_audit_seal'
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('job_progress',
    sa.Column('message_id', sa.BigInteger().with_variant(sqlite.INTEGER(), 'sqlite'), autoincrement=False,
              nullable=False),
    sa.Column('progress', JSON_DOC, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_job_progress'))
    )
    op.execute("INSERT INTO job_progress (message_id, progress, updated_at) "
               "SELECT id, progress, COALESCE(done_at, dispatched_at, created_at) FROM outbox_message "
               "WHERE progress IS NOT NULL")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('progress')


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress', JSON_DOC, nullable=True))
    op.execute("UPDATE outbox_message SET progress = (SELECT p.progress FROM job_progress p "
               "WHERE p.message_id = outbox_message.id)")
    op.drop_table('job_progress')
