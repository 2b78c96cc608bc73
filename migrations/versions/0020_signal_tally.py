"""appliance signal tallies: sales showing each fraud signal per county and Beijing sale day, for the dashboard

Revision ID: 0020_signal_tally
Revises: 0019_budget_proposals
Create Date: 2026-12-04 02:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020_signal_tally'
down_revision = '0019_budget_proposals'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'appliance_signal_tally',
        sa.Column('county_code', sa.String(length=6), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('county_code', 'day', 'code', name=op.f('pk_appliance_signal_tally')),
    )
    _backfill()


def _backfill() -> None:
    """Count the signals the sales hold already, once per sale and code, as appliances.signal_tally would."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            INSERT INTO appliance_signal_tally (county_code, day, code, count)
            SELECT s.county_code, (s.sold_at AT TIME ZONE 'Asia/Shanghai')::date, c.code, count(DISTINCT s.id)
            FROM appliance_sale s CROSS JOIN LATERAL (
                SELECT e->>'code' AS code FROM jsonb_array_elements(s.signals) e) c
            WHERE c.code IS NOT NULL GROUP BY 1, 2, 3""")
    else:
        op.execute("""
            INSERT INTO appliance_signal_tally (county_code, day, code, count)
            SELECT s.county_code, date(s.sold_at, '+8 hours'), json_extract(e.value, '$.code'), count(DISTINCT s.id)
            FROM appliance_sale s, json_each(s.signals) e
            WHERE json_extract(e.value, '$.code') IS NOT NULL GROUP BY 1, 2, 3""")


def downgrade() -> None:
    op.drop_table('appliance_signal_tally')
