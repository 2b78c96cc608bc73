"""review times: an index on application events by action and time, so the weekly review-time statistics find a
range's decisions without scanning every event

Revision ID: 0023_review_times
Revises: 0020_signal_tally
Create Date: 2026-12-04 18:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0023_review_times'
down_revision = '0020_signal_tally'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_application_event_action_at', 'application_event', ['action', 'at'])


def downgrade() -> None:
    op.drop_index('ix_application_event_action_at', table_name='application_event')
