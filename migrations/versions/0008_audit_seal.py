"""audit: events are written unsealed and chained by a sealer, so writers never queue on the chain head

Revision ID: 0008_audit_seal
Revises: 0007_appliances
Create Date: 2026-11-29 00:10:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

revision = '0008_audit_seal'
down_revision = '0007_appliances'
branch_labels = None
depends_on = None

# The sealer may fill in the chain columns of an unsealed event once, changing nothing else; all other
# updates, every delete and TRUNCATE stay refused.
SEALING_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.hash IS NULL AND OLD.seq IS NULL AND OLD.prev_hash IS NULL
           AND NEW.hash IS NOT NULL AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL
           AND NEW.id = OLD.id AND NEW.occurred_at = OLD.occurred_at AND NEW.actor = OLD.actor
           AND NEW.action = OLD.action AND NEW.entity_type = OLD.entity_type AND NEW.entity_id = OLD.entity_id
           AND NEW.summary = OLD.summary THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Existing events are all sealed; BIGSERIAL numbers them in storage order, which only orders new ones.
        op.execute("ALTER TABLE audit_event ADD COLUMN id BIGSERIAL NOT NULL")
        op.execute("ALTER TABLE audit_event DROP CONSTRAINT pk_audit_event, ADD CONSTRAINT pk_audit_event "
                   "PRIMARY KEY (id)")
        for column in ("seq", "prev_hash", "hash"):
            op.alter_column("audit_event", column, nullable=True)
        op.create_unique_constraint("uq_audit_event_seq", "audit_event", ["seq"])
        op.execute(SEALING_GUARD_FUNCTION)
    else:
        with op.batch_alter_table('audit_event', schema=None, recreate="always") as batch_op:
            batch_op.add_column(sa.Column('id', sa.BigInteger().with_variant(sqlite.INTEGER(), 'sqlite'),
                                          nullable=False))
            batch_op.drop_constraint('pk_audit_event', type_='primary')
            batch_op.create_primary_key('pk_audit_event', ['id'])
            batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=True)
            batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=True)
            batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=True)
            batch_op.create_unique_constraint('uq_audit_event_seq', ['seq'])
    op.create_index('ix_audit_event_unsealed', 'audit_event', ['id'], unique=False,
                    postgresql_where=sa.text('hash IS NULL'), sqlite_where=sa.text('hash IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_audit_event_unsealed', table_name='audit_event',
                  postgresql_where=sa.text('hash IS NULL'), sqlite_where=sa.text('hash IS NULL'))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        # Unsealed events cannot go back to a table that requires a chain position; refuse rather than lose them.
        op.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM audit_event WHERE hash IS NULL) THEN "
                   "RAISE EXCEPTION 'seal the audit events first: lvliang audit seal'; END IF; END $$")
        op.drop_constraint("uq_audit_event_seq", "audit_event", type_="unique")
        for column in ("seq", "prev_hash", "hash"):
            op.alter_column("audit_event", column, nullable=False)
        op.execute("ALTER TABLE audit_event DROP CONSTRAINT pk_audit_event, ADD CONSTRAINT pk_audit_event "
                   "PRIMARY KEY (seq)")
        op.execute("ALTER TABLE audit_event DROP COLUMN id")
    else:
        with op.batch_alter_table('audit_event', schema=None, recreate="always") as batch_op:
            batch_op.drop_constraint('uq_audit_event_seq', type_='unique')
            batch_op.drop_constraint('pk_audit_event', type_='primary')
            batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
            batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
            batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
            batch_op.create_primary_key('pk_audit_event', ['seq'])
            batch_op.drop_column('id')
