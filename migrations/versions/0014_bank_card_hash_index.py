"""bank cards: index the card's keyed hash, so a card named by two people is found at once

Revision ID: 0014_bank_card_hash_index
Revises: 0013_job_heartbeat
Create Date: 2026-12-03 20:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0014_bank_card_hash_index'
down_revision = '0013_job_heartbeat'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_bank_card_card_hash'), 'bank_card', ['card_hash'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_bank_card_card_hash'), table_name='bank_card')
