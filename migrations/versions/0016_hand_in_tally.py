"""hand-in tallies: duties per county, trade-in day and standing, for the closed-loop figures

Revision ID: 0016_hand_in_tally
Revises: 0015_application_tally
Create Date: 2026-12-04 02:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016_hand_in_tally'
down_revision = '0015_application_tally'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'hand_in_tally',
        sa.Column('county_code', sa.String(length=6), nullable=False),
        sa.Column('occurred_on', sa.Date(), nullable=False),
        sa.Column('standing', sa.String(length=16), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('county_code', 'occurred_on', 'standing', name=op.f('pk_hand_in_tally')),
    )
    _backfill()


def _backfill() -> None:
    """Count the duties that exist already, as recycling.hand_in_tally would have."""
    op.execute("""
        INSERT INTO hand_in_tally (county_code, occurred_on, standing, count)
        SELECT county_code, occurred_on,
               CASE WHEN status <> 'closed' THEN status
                    WHEN closed_on IS NOT NULL AND closed_on <= due_on THEN 'closed_on_time'
                    ELSE 'closed_late' END,
               count(*)
        FROM hand_in_obligation GROUP BY 1, 2, 3""")


def downgrade() -> None:
    op.drop_table('hand_in_tally')
