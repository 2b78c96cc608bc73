"""applications: car sales, applications, checks, payments

Revision ID: 0006_applications
Revises: 0004_reverse_invoice
Create Date: 2026-11-28 12:55:59.724457
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006_applications'
down_revision = '0004_reverse_invoice'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_batch',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('declared_count', sa.Integer(), nullable=False),
    sa.Column('declared_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_batch')),
    sa.UniqueConstraint('number', name=op.f('uq_payment_batch_number'))
    )
    op.create_table('bank_result_import',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('imported_by', sa.String(length=120), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['payment_batch.id'], name=op.f('fk_bank_result_import_batch_id_payment_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_result_import')),
    sa.UniqueConstraint('sha256', name=op.f('uq_bank_result_import_sha256'))
    )
    op.create_table('car_sale',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dealer_org_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('apply_code', sa.String(length=32), nullable=False),
    sa.Column('new_vin', sa.String(length=17), nullable=False),
    sa.Column('invoice_key', sa.String(length=40), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('invoice_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('price_excl_tax', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('new_vehicle_type', sa.String(length=10), nullable=False),
    sa.Column('nev_catalogue_ref', sa.String(length=60), nullable=True),
    sa.Column('displacement_l', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('buyer_id_hash', sa.String(length=64), nullable=False),
    sa.Column('buyer_id_masked', sa.String(length=18), nullable=False),
    sa.Column('buyer_name_masked', sa.String(length=60), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_car_sale_county_code_county')),
    sa.ForeignKeyConstraint(['dealer_org_id'], ['organisation.id'], name=op.f('fk_car_sale_dealer_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_car_sale')),
    sa.UniqueConstraint('apply_code', name=op.f('uq_car_sale_apply_code')),
    sa.UniqueConstraint('invoice_key', name=op.f('uq_car_sale_invoice_key')),
    sa.UniqueConstraint('new_vin', name=op.f('uq_car_sale_new_vin'))
    )
    with op.batch_alter_table('car_sale', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_car_sale_buyer_id_hash'), ['buyer_id_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_car_sale_dealer_org_id'), ['dealer_org_id'], unique=False)

    op.create_table('application',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('status_code', sa.String(length=32), nullable=False),
    sa.Column('programme', sa.String(length=30), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('sale_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('dealer_org_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('new_vin', sa.String(length=17), nullable=True),
    sa.Column('old_vin', sa.String(length=17), nullable=True),
    sa.Column('certificate_id', sa.BigInteger(), nullable=True),
    sa.Column('bank_card_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('facts', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('version_code', sa.String(length=60), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('consent_version', sa.String(length=20), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('needs_second_review', sa.Boolean(), nullable=False),
    sa.Column('first_reviewer_id', sa.BigInteger(), nullable=True),
    sa.Column('second_reviewer_id', sa.BigInteger(), nullable=True),
    sa.Column('last_reason', sa.String(length=500), nullable=True),
    sa.Column('card_correction_needed', sa.Boolean(), nullable=False),
    sa.Column('budget_pool_id', sa.BigInteger(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bank_card_id'], ['bank_card.id'], name=op.f('fk_application_bank_card_id_bank_card')),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_application_county_code_county')),
    sa.ForeignKeyConstraint(['dealer_org_id'], ['organisation.id'], name=op.f('fk_application_dealer_org_id_organisation')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_application_person_id_person')),
    sa.ForeignKeyConstraint(['sale_id'], ['car_sale.id'], name=op.f('fk_application_sale_id_car_sale')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application')),
    sa.UniqueConstraint('number', name=op.f('uq_application_number')),
    sa.UniqueConstraint('status_code', name=op.f('uq_application_status_code'))
    )
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_dealer_org_id'), ['dealer_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_application_queue', ['county_code', 'state', 'submitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_state'), ['state'], unique=False)
        batch_op.create_index('uq_application_certificate_active', ['certificate_id'], unique=True, postgresql_where=sa.text("state NOT IN ('rejected', 'withdrawn', 'revoked')"), sqlite_where=sa.text("state NOT IN ('rejected', 'withdrawn', 'revoked')"))
        batch_op.create_index('uq_application_new_vin_active', ['new_vin'], unique=True, postgresql_where=sa.text("state NOT IN ('rejected', 'withdrawn', 'revoked')"), sqlite_where=sa.text("state NOT IN ('rejected', 'withdrawn', 'revoked')"))

    op.create_table('application_check',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('run', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('explanation_zh', sa.String(length=500), nullable=False),
    sa.Column('explanation_en', sa.String(length=500), nullable=False),
    sa.Column('overridden_by', sa.BigInteger(), nullable=True),
    sa.Column('override_reason', sa.String(length=500), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_application_check_application_id_application')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_check')),
    sa.UniqueConstraint('application_id', 'run', 'code', name=op.f('uq_application_check_application_id_run_code'))
    )
    with op.batch_alter_table('application_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_check_application_id'), ['application_id'], unique=False)

    op.create_table('application_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=False),
    sa.Column('to_state', sa.String(length=24), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_application_event_application_id_application')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_event'))
    )
    with op.batch_alter_table('application_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_event_application_id'), ['application_id'], unique=False)

    op.create_table('clawback',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_clawback_application_id_application')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clawback')),
    sa.UniqueConstraint('application_id', name=op.f('uq_clawback_application_id'))
    )
    op.create_table('payment_line',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('bank_ref', sa.String(length=60), nullable=True),
    sa.Column('result_message', sa.String(length=300), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_payment_line_application_id_application')),
    sa.ForeignKeyConstraint(['batch_id'], ['payment_batch.id'], name=op.f('fk_payment_line_batch_id_payment_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_line')),
    sa.UniqueConstraint('batch_id', 'line_no', name=op.f('uq_payment_line_batch_id_line_no'))
    )
    with op.batch_alter_table('payment_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_line_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('uq_payment_line_live', ['application_id'], unique=True, postgresql_where=sa.text("state IN ('pending', 'paid')"), sqlite_where=sa.text("state IN ('pending', 'paid')"))



def downgrade() -> None:
    with op.batch_alter_table('payment_line', schema=None) as batch_op:
        batch_op.drop_index('uq_payment_line_live', postgresql_where=sa.text("state IN ('pending', 'paid')"), sqlite_where=sa.text("state IN ('pending', 'paid')"))
        batch_op.drop_index(batch_op.f('ix_payment_line_batch_id'))

    op.drop_table('payment_line')
    op.drop_table('clawback')
    with op.batch_alter_table('application_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_event_application_id'))

    op.drop_table('application_event')
    with op.batch_alter_table('application_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_check_application_id'))

    op.drop_table('application_check')
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('uq_application_new_vin_active', postgresql_where=sa.text("state NOT IN ('rejected', 'withdrawn', 'revoked')"), sqlite_where=sa.text("state NOT IN ('rejected', 'withdrawn', 'revoked')"))
        batch_op.drop_index('uq_application_certificate_active', postgresql_where=sa.text("state NOT IN ('rejected', 'withdrawn', 'revoked')"), sqlite_where=sa.text("state NOT IN ('rejected', 'withdrawn', 'revoked')"))
        batch_op.drop_index(batch_op.f('ix_application_state'))
        batch_op.drop_index('ix_application_queue')
        batch_op.drop_index(batch_op.f('ix_application_person_id'))
        batch_op.drop_index(batch_op.f('ix_application_dealer_org_id'))

    op.drop_table('application')
    with op.batch_alter_table('car_sale', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_car_sale_dealer_org_id'))
        batch_op.drop_index(batch_op.f('ix_car_sale_buyer_id_hash'))

    op.drop_table('car_sale')
    op.drop_table('bank_result_import')
    op.drop_table('payment_batch')
