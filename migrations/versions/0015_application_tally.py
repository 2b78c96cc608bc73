"""application tallies: applications reaching each milestone per Beijing day, county, programme and category

Revision ID: 0015_application_tally
Revises: 0014_bank_card_hash_index
Create Date: 2026-12-04 01:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015_application_tally'
down_revision = '0014_bank_card_hash_index'
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        'application_tally',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('county_code', sa.String(length=6), nullable=False),
        sa.Column('programme', sa.String(length=30), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('milestone', sa.String(length=12), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.PrimaryKeyConstraint('day', 'county_code', 'programme', 'category', 'milestone',
                                name=op.f('pk_application_tally')),
    )
    _backfill()


def _backfill() -> None:
    """Count the applications that exist already, as applications.tallies would have (days in Beijing time)."""
    bind = op.get_bind()
    day = ("({col} AT TIME ZONE 'Asia/Shanghai')::date" if bind.dialect.name == 'postgresql'
           else "date({col}, '+8 hours')")
    op.execute(f"""
        INSERT INTO application_tally (day, county_code, programme, category, milestone, count, amount)
        SELECT {day.format(col='submitted_at')}, county_code, programme, category, 'submitted', count(*), 0
        FROM application GROUP BY 1, 2, 3, 4, 5""")
    milestone = """CASE WHEN e.action IN ('approve', 'approve_second')
                            AND e.to_state IN ('approved', 'awaiting_funds') THEN 'approved'
                       WHEN e.action = 'payment_confirmed' AND e.to_state = 'paid' THEN 'paid'
                       WHEN e.action = 'reject' AND e.to_state = 'rejected' THEN 'rejected'
                       WHEN e.action = 'revoke' AND e.to_state = 'revoked' THEN 'revoked' END"""
    op.execute(f"""
        INSERT INTO application_tally (day, county_code, programme, category, milestone, count, amount)
        SELECT {day.format(col='e.at')}, a.county_code, a.programme, a.category, {milestone}, count(*),
               sum(a.amount)
        FROM application_event e JOIN application a ON a.id = e.application_id
        WHERE {milestone} IS NOT NULL GROUP BY 1, 2, 3, 4, 5""")


def downgrade() -> None:
    op.drop_table('application_tally')
