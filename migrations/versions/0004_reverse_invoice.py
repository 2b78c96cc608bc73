"""reverse invoicing: recycler profiles, sellers, consents, purchases, invoices, counters, filings

Revision ID: 0004_reverse_invoice
Revises: 0005_vehicles_messaging_documents
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004_reverse_invoice'
down_revision = '0005_vehicles_messaging_documents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ri_recycler',
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('qualification', sa.String(length=40), nullable=False),
    sa.Column('qualification_no', sa.String(length=60), nullable=False),
    sa.Column('qualification_state', sa.String(length=20), nullable=False),
    sa.Column('approved_by', sa.String(length=120), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('vat_method', sa.String(length=20), nullable=False),
    sa.Column('location_class', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("location_class IN ('city', 'county_town', 'elsewhere')", name=op.f('ck_ri_recycler_location_class')),
    sa.CheckConstraint("qualification IN ('hazardous_waste_licence', 'vehicle_dismantling', 'renewable_resource_filing')", name=op.f('ck_ri_recycler_qualification')),
    sa.CheckConstraint("qualification_state IN ('pending', 'approved', 'revoked')", name=op.f('ck_ri_recycler_qualification_state')),
    sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f('ck_ri_recycler_status')),
    sa.CheckConstraint("vat_method IN ('general', 'simplified')", name=op.f('ck_ri_recycler_vat_method')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_ri_recycler_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_ri_recycler'))
    )
    with op.batch_alter_table('ri_recycler', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ri_recycler_county_code'), ['county_code'], unique=False)

    op.create_table('ri_seller',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('bank_card_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('card_masked', sa.String(length=24), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bank_card_id'], ['bank_card.id'], name=op.f('fk_ri_seller_bank_card_id_bank_card')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_ri_seller_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ri_seller')),
    sa.UniqueConstraint('person_id', name=op.f('uq_ri_seller_person_id'))
    )
    op.create_table('ri_consent',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('seller_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('recycler_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('text_version', sa.String(length=20), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['recycler_id'], ['ri_recycler.organisation_id'], name=op.f('fk_ri_consent_recycler_id_ri_recycler')),
    sa.ForeignKeyConstraint(['seller_id'], ['ri_seller.id'], name=op.f('fk_ri_consent_seller_id_ri_seller')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ri_consent')),
    sa.UniqueConstraint('seller_id', 'recycler_id', name=op.f('uq_ri_consent_seller_id_recycler_id'))
    )
    with op.batch_alter_table('ri_consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ri_consent_seller_id'), ['seller_id'], unique=False)

    op.create_table('ri_filing',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('recycler_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('invoice_count', sa.Integer(), nullable=False),
    sa.Column('seller_count', sa.Integer(), nullable=False),
    sa.Column('sales', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('urban_tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('education', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('local_education', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('income_tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total_tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('prepared_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payment_reference', sa.String(length=60), nullable=True),
    sa.CheckConstraint("state IN ('prepared', 'filed', 'paid')", name=op.f('ck_ri_filing_state')),
    sa.ForeignKeyConstraint(['recycler_id'], ['ri_recycler.organisation_id'], name=op.f('fk_ri_filing_recycler_id_ri_recycler')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ri_filing')),
    sa.UniqueConstraint('recycler_id', 'month', name=op.f('uq_ri_filing_recycler_id_month'))
    )
    with op.batch_alter_table('ri_filing', schema=None) as batch_op:
        batch_op.create_index('ix_ri_filing_unpaid', ['recycler_id', 'state', 'due_on'], unique=False)

    op.create_table('ri_invoice_counter',
    sa.Column('recycler_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['recycler_id'], ['ri_recycler.organisation_id'], name=op.f('fk_ri_invoice_counter_recycler_id_ri_recycler')),
    sa.PrimaryKeyConstraint('recycler_id', 'year', name=op.f('pk_ri_invoice_counter'))
    )
    op.create_table('ri_purchase',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('recycler_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('seller_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('purchased_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('contract_no', sa.String(length=60), nullable=False),
    sa.Column('weighbridge_ticket', sa.String(length=60), nullable=False),
    sa.Column('vehicle_plate', sa.String(length=10), nullable=False),
    sa.Column('photos', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('paid_card_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('payment_reference', sa.String(length=60), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('intake_ref', sa.String(length=60), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open', 'invoiced')", name=op.f('ck_ri_purchase_state')),
    sa.ForeignKeyConstraint(['paid_card_id'], ['bank_card.id'], name=op.f('fk_ri_purchase_paid_card_id_bank_card')),
    sa.ForeignKeyConstraint(['recycler_id'], ['ri_recycler.organisation_id'], name=op.f('fk_ri_purchase_recycler_id_ri_recycler')),
    sa.ForeignKeyConstraint(['seller_id'], ['ri_seller.id'], name=op.f('fk_ri_purchase_seller_id_ri_seller')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ri_purchase'))
    )
    with op.batch_alter_table('ri_purchase', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ri_purchase_intake_ref'), ['intake_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_ri_purchase_recycler_id'), ['recycler_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ri_purchase_seller_id'), ['seller_id'], unique=False)

    op.create_table('ri_seller_month',
    sa.Column('seller_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('sales', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['seller_id'], ['ri_seller.id'], name=op.f('fk_ri_seller_month_seller_id_ri_seller')),
    sa.PrimaryKeyConstraint('seller_id', 'month', name=op.f('pk_ri_seller_month'))
    )
    op.create_table('ri_filing_line',
    sa.Column('filing_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('seller_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('invoice_count', sa.Integer(), nullable=False),
    sa.Column('sales', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('urban_tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('education', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('local_education', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('income_tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['filing_id'], ['ri_filing.id'], name=op.f('fk_ri_filing_line_filing_id_ri_filing'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['seller_id'], ['ri_seller.id'], name=op.f('fk_ri_filing_line_seller_id_ri_seller')),
    sa.PrimaryKeyConstraint('filing_id', 'seller_id', name=op.f('pk_ri_filing_line'))
    )
    op.create_table('ri_invoice',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('recycler_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('seller_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('purchase_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('colour', sa.String(length=4), nullable=False),
    sa.Column('invoice_type', sa.String(length=10), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('tax_month', sa.Date(), nullable=False),
    sa.Column('location_class', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat_rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('vat_exempt', sa.Boolean(), nullable=False),
    sa.Column('vat', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('urban_rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('urban_tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('education', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('local_education', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('income_tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total_incl_vat', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('net_payable', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reversed_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('original_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('red_reason', sa.String(length=2), nullable=True),
    sa.Column('replaces_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('issued_by', sa.String(length=120), nullable=False),
    sa.CheckConstraint("(colour = 'blue' AND amount > 0) OR (colour = 'red' AND amount < 0)", name=op.f('ck_ri_invoice_colour_sign')),
    sa.CheckConstraint("colour = 'red' OR (reversed_amount >= 0 AND reversed_amount <= amount)", name=op.f('ck_ri_invoice_reversed')),
    sa.CheckConstraint("state IN ('issued', 'partly_reversed', 'reversed')", name=op.f('ck_ri_invoice_state')),
    sa.ForeignKeyConstraint(['original_id'], ['ri_invoice.id'], name=op.f('fk_ri_invoice_original_id_ri_invoice')),
    sa.ForeignKeyConstraint(['purchase_id'], ['ri_purchase.id'], name=op.f('fk_ri_invoice_purchase_id_ri_purchase')),
    sa.ForeignKeyConstraint(['recycler_id'], ['ri_recycler.organisation_id'], name=op.f('fk_ri_invoice_recycler_id_ri_recycler')),
    sa.ForeignKeyConstraint(['replaces_id'], ['ri_invoice.id'], name=op.f('fk_ri_invoice_replaces_id_ri_invoice')),
    sa.ForeignKeyConstraint(['seller_id'], ['ri_seller.id'], name=op.f('fk_ri_invoice_seller_id_ri_seller')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ri_invoice')),
    sa.UniqueConstraint('number', name=op.f('uq_ri_invoice_number')),
    sa.UniqueConstraint('recycler_id', 'year', 'seq', name=op.f('uq_ri_invoice_recycler_id_year_seq'))
    )
    with op.batch_alter_table('ri_invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ri_invoice_original_id'), ['original_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ri_invoice_purchase_id'), ['purchase_id'], unique=False)
        batch_op.create_index('ix_ri_invoice_recycler_issued_on', ['recycler_id', 'issued_on'], unique=False)
        batch_op.create_index('ix_ri_invoice_seller_tax_month', ['seller_id', 'tax_month'], unique=False)

    op.create_table('ri_purchase_line',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('purchase_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('product_name', sa.String(length=100), nullable=False),
    sa.Column('tax_code', sa.String(length=19), nullable=False),
    sa.Column('specification', sa.String(length=60), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint('quantity > 0 AND unit_price >= 0 AND amount > 0', name=op.f('ck_ri_purchase_line_positive')),
    sa.ForeignKeyConstraint(['purchase_id'], ['ri_purchase.id'], name=op.f('fk_ri_purchase_line_purchase_id_ri_purchase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ri_purchase_line')),
    sa.UniqueConstraint('purchase_id', 'line_no', name=op.f('uq_ri_purchase_line_purchase_id_line_no'))
    )


def downgrade() -> None:
    op.drop_table('ri_purchase_line')
    with op.batch_alter_table('ri_invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_ri_invoice_seller_tax_month')
        batch_op.drop_index('ix_ri_invoice_recycler_issued_on')
        batch_op.drop_index(batch_op.f('ix_ri_invoice_purchase_id'))
        batch_op.drop_index(batch_op.f('ix_ri_invoice_original_id'))

    op.drop_table('ri_invoice')
    op.drop_table('ri_filing_line')
    op.drop_table('ri_seller_month')
    with op.batch_alter_table('ri_purchase', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ri_purchase_seller_id'))
        batch_op.drop_index(batch_op.f('ix_ri_purchase_recycler_id'))
        batch_op.drop_index(batch_op.f('ix_ri_purchase_intake_ref'))

    op.drop_table('ri_purchase')
    op.drop_table('ri_invoice_counter')
    with op.batch_alter_table('ri_filing', schema=None) as batch_op:
        batch_op.drop_index('ix_ri_filing_unpaid')

    op.drop_table('ri_filing')
    with op.batch_alter_table('ri_consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ri_consent_seller_id'))

    op.drop_table('ri_consent')
    op.drop_table('ri_seller')
    with op.batch_alter_table('ri_recycler', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ri_recycler_county_code'))

    op.drop_table('ri_recycler')
