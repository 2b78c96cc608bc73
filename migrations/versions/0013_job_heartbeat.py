"""jobs: each run holds its job by a token and a heartbeat, so a job whose worker died shows as stalled and runs again

Revision ID: 0013_job_heartbeat
Revises: 0012_audit_hmac
Create Date: 2026-12-20 10:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013_job_heartbeat'
down_revision = '0012_audit_hmac'
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('job_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('runs', sa.Integer(), nullable=False, server_default='0'))
        batch_op.alter_column('progress', existing_type=JSON_DOC, nullable=True)
    with op.batch_alter_table('job_progress', schema=None) as batch_op:
        batch_op.alter_column('runs', existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    # A run's row without progress has nothing the older schema can hold.
    op.execute("DELETE FROM job_progress WHERE progress IS NULL")
    with op.batch_alter_table('job_progress', schema=None) as batch_op:
        batch_op.alter_column('progress', existing_type=JSON_DOC, nullable=False)
        batch_op.drop_column('runs')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('run_token')
