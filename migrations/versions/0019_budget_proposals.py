"""budget proposals: a top-up or reallocation proposed by one officer and approved by another (maker-checker)

Revision ID: 0019_budget_proposals
Revises: 0018_assignment
Create Date: 2026-12-04 02:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019_budget_proposals'
down_revision = '0018_assignment'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'budget_proposal',
        sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('pool_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
        sa.Column('from_pool_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
        sa.Column('source', sa.String(length=20), nullable=True),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('proposed_by_account', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
        sa.Column('proposed_by', sa.String(length=120), nullable=False),
        sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_account', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
        sa.Column('decided_by', sa.String(length=120), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.String(length=300), nullable=True),
        sa.CheckConstraint("kind IN ('top_up', 'reallocate')", name=op.f('ck_budget_proposal_kind')),
        sa.CheckConstraint("state IN ('proposed', 'approved', 'rejected')", name=op.f('ck_budget_proposal_state')),
        sa.CheckConstraint('amount > 0', name=op.f('ck_budget_proposal_positive')),
        sa.ForeignKeyConstraint(['pool_id'], ['budget_pool.id'], name=op.f('fk_budget_proposal_pool_id_budget_pool')),
        sa.ForeignKeyConstraint(['from_pool_id'], ['budget_pool.id'],
                                name=op.f('fk_budget_proposal_from_pool_id_budget_pool')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_proposal')),
    )
    op.create_index('ix_budget_proposal_pool_state', 'budget_proposal', ['pool_id', 'state'])
    op.create_index(op.f('ix_budget_proposal_from_pool_id'), 'budget_proposal', ['from_pool_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_budget_proposal_from_pool_id'), table_name='budget_proposal')
    op.drop_index('ix_budget_proposal_pool_state', table_name='budget_proposal')
    op.drop_table('budget_proposal')
