"""budget escrow: tranches of a pool's free money, each its own row, for instant discounts (issue 17 §1)

Revision ID: 0022_budget_tranches
Revises: 0021_password_change
Create Date: 2026-12-04 19:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022_budget_tranches'
down_revision = '0021_password_change'
branch_labels = None
depends_on = None


# One round trip for a till's sale funded from its tranche (rules.escrow.take). A tranche too short for the sale
# must be left unlocked: the sale then waits for its pool, and whoever holds the pool may be waiting for this very
# tranche (to refill or drain it). An UPDATE that re-reads a row a concurrent transaction changed keeps that row
# locked even when the re-read no longer qualifies, so the short case raises inside a sub-block whose rollback
# lets the lock go, and answers false.
TAKE_FUNCTION = """
CREATE OR REPLACE FUNCTION budget_escrow_take(p_pool bigint, p_slot integer, p_amount numeric, p_reference varchar,
                                              p_actor varchar, p_submitted timestamptz, p_now timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        UPDATE budget_tranche SET balance = balance - p_amount
        WHERE pool_id = p_pool AND slot = p_slot AND balance >= p_amount;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'tranche short' USING ERRCODE = 'P0001';
        END IF;
    EXCEPTION WHEN SQLSTATE 'P0001' THEN
        RETURN false;
    END;
    INSERT INTO budget_reservation (pool_id, reference, amount, state, submitted_at, created_at, funded_at)
    VALUES (p_pool, p_reference, p_amount, 'reserved', p_submitted, p_now, p_now);
    INSERT INTO budget_entry (pool_id, kind, amount, reference, actor, created_at)
    VALUES (p_pool, 'reserve', p_amount, p_reference, p_actor, p_now);
    RETURN true;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(TAKE_FUNCTION)
    op.create_table(
        'budget_tranche',
        sa.Column('pool_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('slot', sa.Integer(), nullable=False),
        sa.Column('balance', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.CheckConstraint('balance >= 0', name=op.f('ck_budget_tranche_non_negative')),
        sa.ForeignKeyConstraint(['pool_id'], ['budget_pool.id'], name=op.f('fk_budget_tranche_pool_id_budget_pool')),
        sa.PrimaryKeyConstraint('pool_id', 'slot', name=op.f('pk_budget_tranche')),
    )


def downgrade() -> None:
    op.drop_table('budget_tranche')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS budget_escrow_take(bigint, integer, numeric, varchar, varchar, "
                   "timestamptz, timestamptz)")
