"""rules: versions, quotas, budget pools, notifications

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:32:15.264550
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rule_version',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('series', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('programme', sa.String(length=30), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('apply_by', sa.Date(), nullable=True),
    sa.Column('content', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source_file', sa.String(length=200), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_version')),
    sa.UniqueConstraint('code', name=op.f('uq_rule_version_code'))
    )
    with op.batch_alter_table('rule_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_version_programme'), ['programme'], unique=False)

    op.create_table('budget_pool',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('programme', sa.String(length=30), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('allocated', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reserved', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('spent', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('central', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('provincial', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('city', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('notified_level', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('reserved + spent <= allocated', name=op.f('ck_budget_pool_not_overcommitted')),
    sa.CheckConstraint('reserved >= 0 AND spent >= 0 AND allocated >= 0', name=op.f('ck_budget_pool_non_negative')),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_budget_pool_county_code_county')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_pool')),
    sa.UniqueConstraint('programme', 'county_code', 'name', name=op.f('uq_budget_pool_programme_county_code_name'))
    )
    with op.batch_alter_table('budget_pool', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_pool_county_code'), ['county_code'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.String(length=2000), nullable=False),
    sa.Column('entity_type', sa.String(length=60), nullable=True),
    sa.Column('entity_id', sa.String(length=60), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_notification_county_code_county')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_county_code'), ['county_code'], unique=False)

    op.create_table('quota_counter',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('programme', sa.String(length=30), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('period_key', sa.String(length=60), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('max_count', sa.Integer(), nullable=False),
    sa.CheckConstraint('used >= 0 AND used <= max_count', name=op.f('ck_quota_counter_within_limit')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_quota_counter_person_id_person')),
    sa.PrimaryKeyConstraint('person_id', 'programme', 'category', 'period_key', name=op.f('pk_quota_counter'))
    )
    op.create_table('quota_hold',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('programme', sa.String(length=30), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('period_key', sa.String(length=60), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_quota_hold_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_hold')),
    sa.UniqueConstraint('reference', name=op.f('uq_quota_hold_reference'))
    )
    with op.batch_alter_table('quota_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_hold_person_id'), ['person_id'], unique=False)

    op.create_table('budget_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('pool_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=True),
    sa.Column('reference', sa.String(length=80), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['budget_pool.id'], name=op.f('fk_budget_entry_pool_id_budget_pool')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_entry'))
    )
    with op.batch_alter_table('budget_entry', schema=None) as batch_op:
        batch_op.create_index('ix_budget_entry_pool_kind_at', ['pool_id', 'kind', 'created_at'], unique=False)

    op.create_table('budget_reservation',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('pool_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('on_funded_job', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('funded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['pool_id'], ['budget_pool.id'], name=op.f('fk_budget_reservation_pool_id_budget_pool')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_reservation')),
    sa.UniqueConstraint('reference', name=op.f('uq_budget_reservation_reference'))
    )
    with op.batch_alter_table('budget_reservation', schema=None) as batch_op:
        batch_op.create_index('ix_budget_reservation_queue', ['pool_id', 'state', 'submitted_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('budget_reservation', schema=None) as batch_op:
        batch_op.drop_index('ix_budget_reservation_queue')

    op.drop_table('budget_reservation')
    with op.batch_alter_table('budget_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_budget_entry_pool_kind_at')

    op.drop_table('budget_entry')
    with op.batch_alter_table('quota_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_hold_person_id'))

    op.drop_table('quota_hold')
    op.drop_table('quota_counter')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_county_code'))

    op.drop_table('notification')
    with op.batch_alter_table('budget_pool', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_pool_county_code'))

    op.drop_table('budget_pool')
    with op.batch_alter_table('rule_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rule_version_programme'))

    op.drop_table('rule_version')
