"""review times: each application keeps when it first reached pending review and when it was first decided after
that (approve, reject or return), so the weekly review-time statistics read one indexed range of applications
instead of joining every event (filled from the events for the applications already there); and the kept figures
of ended weeks (review_time_week), which the dashboard reads instead of the decisions

Revision ID: 0023_review_times
Revises: 0022_complaints
Create Date: 2026-12-04 18:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023_review_times'
down_revision = '0022_complaints'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns are added in place on SQLite too: no batch copy of a table others point at.
    op.add_column('application', sa.Column('review_started_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('application', sa.Column('first_decided_at', sa.DateTime(timezone=True), nullable=True))
    _backfill()
    op.create_index('ix_application_review_time', 'application',
                    ['county_code', 'first_decided_at', 'review_started_at'], unique=False)
    op.create_table(
        'review_time_week',
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('county_code', sa.String(length=6), nullable=False),
        sa.Column('reviewed', sa.Integer(), nullable=False),
        sa.Column('median_hours', sa.Numeric(precision=10, scale=1), nullable=False),
        sa.Column('p90_hours', sa.Numeric(precision=10, scale=1), nullable=False),
        sa.PrimaryKeyConstraint('week', 'county_code', name=op.f('pk_review_time_week')),
    )  # filled by the job applications.keep_review_weeks; until then the figures are computed from applications


def _backfill() -> None:
    """Set both times from the events, as the transition function sets them (the same SQL on both databases)."""
    op.execute("""
        UPDATE application SET review_started_at = (
            SELECT min(e.at) FROM application_event e
            WHERE e.application_id = application.id AND e.to_state = 'pending_review')
        WHERE review_started_at IS NULL""")
    op.execute("""
        UPDATE application SET first_decided_at = (
            SELECT min(e.at) FROM application_event e
            WHERE e.application_id = application.id AND e.action IN ('approve', 'reject', 'return')
              AND e.at >= application.review_started_at)
        WHERE first_decided_at IS NULL AND review_started_at IS NOT NULL""")


def downgrade() -> None:
    op.drop_table('review_time_week')
    op.drop_index('ix_application_review_time', table_name='application')
    if op.get_bind().dialect.name == 'sqlite':  # SQLite drops a column in place (3.35+), no batch copy
        op.execute('ALTER TABLE application DROP COLUMN first_decided_at')
        op.execute('ALTER TABLE application DROP COLUMN review_started_at')
    else:
        op.drop_column('application', 'first_decided_at')
        op.drop_column('application', 'review_started_at')
