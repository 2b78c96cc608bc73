"""spot checks: the city bureau's sampling plans, their sampled items, tasks and recorded results

Revision ID: 0021_spot_checks
Revises: 0022_budget_tranches
Create Date: 2026-12-04 18:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0021_spot_checks'
down_revision = '0022_budget_tranches'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite')
_JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'spot_plan',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('programme', sa.String(length=30), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('rate_percent', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('note', sa.String(length=300), nullable=True),
        sa.Column('seed', sa.String(length=64), nullable=True),
        sa.Column('population', sa.Integer(), nullable=True),
        sa.Column('sampled', sa.Integer(), nullable=True),
        sa.Column('strata', _JSON, nullable=True),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', _WHEN, nullable=False),
        sa.Column('drawn_by', sa.String(length=120), nullable=True),
        sa.Column('drawn_at', _WHEN, nullable=True),
        sa.Column('closed_at', _WHEN, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_plan')),
    )
    op.create_table(
        'spot_item',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('plan_id', _ID, nullable=False),
        sa.Column('subject_kind', sa.String(length=12), nullable=False),
        sa.Column('subject_id', sa.BigInteger(), nullable=False),
        sa.Column('subject_number', sa.String(length=24), nullable=False),
        sa.Column('county_code', sa.String(length=6), nullable=False),
        sa.Column('dealer_org_id', sa.BigInteger(), nullable=True),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('reason', sa.String(length=14), nullable=False),
        sa.Column('state', sa.String(length=8), nullable=False),
        sa.Column('conclusion_reason', sa.String(length=500), nullable=True),
        sa.Column('clawed_back', sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column('concluded_by', sa.String(length=120), nullable=True),
        sa.Column('concluded_at', _WHEN, nullable=True),
        sa.ForeignKeyConstraint(['plan_id'], ['spot_plan.id'], name=op.f('fk_spot_item_plan_id_spot_plan')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_item')),
        sa.UniqueConstraint('plan_id', 'subject_kind', 'subject_id',
                            name=op.f('uq_spot_item_plan_id_subject_kind_subject_id')),
    )
    op.create_index(op.f('ix_spot_item_plan_id'), 'spot_item', ['plan_id'])
    op.create_index(op.f('ix_spot_item_county_code'), 'spot_item', ['county_code'])
    op.create_table(
        'spot_task',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('item_id', _ID, nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('state', sa.String(length=6), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('done_at', _WHEN, nullable=True),
        sa.ForeignKeyConstraint(['item_id'], ['spot_item.id'], name=op.f('fk_spot_task_item_id_spot_item')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_task')),
        sa.UniqueConstraint('item_id', 'kind', name=op.f('uq_spot_task_item_id_kind')),
    )
    op.create_index(op.f('ix_spot_task_item_id'), 'spot_task', ['item_id'])
    op.create_table(
        'spot_result',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('task_id', _ID, nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('recorded_by', sa.String(length=120), nullable=False),
        sa.Column('recorded_at', _WHEN, nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['spot_task.id'], name=op.f('fk_spot_result_task_id_spot_task')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_result')),
    )
    op.create_index(op.f('ix_spot_result_task_id'), 'spot_result', ['task_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_spot_result_task_id'), table_name='spot_result')
    op.drop_table('spot_result')
    op.drop_index(op.f('ix_spot_task_item_id'), table_name='spot_task')
    op.drop_table('spot_task')
    op.drop_index(op.f('ix_spot_item_county_code'), table_name='spot_item')
    op.drop_index(op.f('ix_spot_item_plan_id'), table_name='spot_item')
    op.drop_table('spot_item')
    op.drop_table('spot_plan')
