"""recycling: sites, certificates, intakes, rollups, targets, reports

Revision ID: 0003_recycling
Revises: 0002
Create Date: 2026-11-28 12:42:28.103583
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003_recycling'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recovery_report',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('generated_by', sa.String(length=100), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_report')),
    sa.UniqueConstraint('period', name=op.f('uq_recovery_report_period'))
    )
    op.create_table('recovery_target',
    sa.Column('indicator', sa.String(length=20), nullable=False),
    sa.Column('baseline_year', sa.Integer(), nullable=False),
    sa.Column('target_year', sa.Integer(), nullable=False),
    sa.Column('factor', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('indicator', name=op.f('pk_recovery_target'))
    )
    op.create_table('recycling_setting',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_recycling_setting'))
    )
    op.create_table('volume_rollup',
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('weight_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('county_code', 'category', 'day', name=op.f('pk_volume_rollup'))
    )
    op.create_table('volume_rollup_month',
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('weight_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('county_code', 'category', 'month', name=op.f('pk_volume_rollup_month'))
    )
    op.create_table('recovery_baseline',
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('indicator', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_recovery_baseline_county_code_county')),
    sa.PrimaryKeyConstraint('county_code', 'indicator', 'year', name=op.f('pk_recovery_baseline'))
    )
    op.create_table('intake_import',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_written', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_intake_import_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_import')),
    sa.UniqueConstraint('organisation_id', 'fingerprint', name=op.f('uq_intake_import_organisation_id_fingerprint'))
    )
    with op.batch_alter_table('intake_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_import_organisation_id'), ['organisation_id'], unique=False)
    op.create_table('recycler_qualification',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_recycler_qualification_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recycler_qualification')),
    sa.UniqueConstraint('kind', 'number', name=op.f('uq_recycler_qualification_kind_number'))
    )
    with op.batch_alter_table('recycler_qualification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recycler_qualification_organisation_id'), ['organisation_id'], unique=False)
    op.create_table('recycling_site',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_recycling_site_county_code_county')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_recycling_site_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recycling_site')),
    sa.UniqueConstraint('organisation_id', 'code', name=op.f('uq_recycling_site_organisation_id_code'))
    )
    with op.batch_alter_table('recycling_site', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recycling_site_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_recycling_site_organisation_id'), ['organisation_id'], unique=False)
    op.create_table('used_car_transaction',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('transferred_on', sa.Date(), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('reported_by_org_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_used_car_transaction_county_code_county')),
    sa.ForeignKeyConstraint(['reported_by_org_id'], ['organisation.id'], name=op.f('fk_used_car_transaction_reported_by_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_used_car_transaction')),
    sa.UniqueConstraint('vin', 'transferred_on', name=op.f('uq_used_car_transaction_vin_transferred_on'))
    )
    with op.batch_alter_table('used_car_transaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_car_transaction_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_used_car_transaction_reported_by_org_id'), ['reported_by_org_id'], unique=False)
    op.create_table('scrap_certificate',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dismantler_org_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('qualification_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('licence_valid_on_issue', sa.Boolean(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('verify_key', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('owner_kind', sa.String(length=12), nullable=False),
    sa.Column('owner_name_enc', sa.LargeBinary(), nullable=False),
    sa.Column('owner_name_masked', sa.String(length=100), nullable=False),
    sa.Column('owner_id_hash', sa.String(length=64), nullable=False),
    sa.Column('owner_id_enc', sa.LargeBinary(), nullable=False),
    sa.Column('owner_id_masked', sa.String(length=18), nullable=False),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('phone_masked', sa.String(length=11), nullable=True),
    sa.Column('address_enc', sa.LargeBinary(), nullable=True),
    sa.Column('handover_date', sa.Date(), nullable=False),
    sa.Column('first_registration_date', sa.Date(), nullable=False),
    sa.Column('plate', sa.String(length=10), nullable=False),
    sa.Column('vehicle_type', sa.String(length=30), nullable=False),
    sa.Column('use_type', sa.String(length=2), nullable=False),
    sa.Column('make_model', sa.String(length=100), nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('curb_weight_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('fuel_type', sa.String(length=2), nullable=False),
    sa.Column('engine_number', sa.String(length=40), nullable=False),
    sa.Column('battery_code', sa.String(length=60), nullable=True),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('used_by_ref', sa.String(length=80), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=200), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('issued', 'used', 'revoked')", name=op.f('ck_scrap_certificate_state')),
    sa.ForeignKeyConstraint(['dismantler_org_id'], ['organisation.id'], name=op.f('fk_scrap_certificate_dismantler_org_id_organisation')),
    sa.ForeignKeyConstraint(['qualification_id'], ['recycler_qualification.id'], name=op.f('fk_scrap_certificate_qualification_id_recycler_qualification')),
    sa.ForeignKeyConstraint(['site_id'], ['recycling_site.id'], name=op.f('fk_scrap_certificate_site_id_recycling_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scrap_certificate')),
    sa.UniqueConstraint('dismantler_org_id', 'number', name=op.f('uq_scrap_certificate_dismantler_org_id_number')),
    sa.UniqueConstraint('verify_key', name=op.f('uq_scrap_certificate_verify_key'))
    )
    with op.batch_alter_table('scrap_certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scrap_certificate_dismantler_org_id'), ['dismantler_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scrap_certificate_owner_id_hash'), ['owner_id_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_scrap_certificate_vin'), ['vin'], unique=False)
    op.create_table('site_stock',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('weight_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.CheckConstraint('units >= 0', name=op.f('ck_site_stock_units_not_negative')),
    sa.CheckConstraint('weight_kg >= 0', name=op.f('ck_site_stock_weight_not_negative')),
    sa.ForeignKeyConstraint(['site_id'], ['recycling_site.id'], name=op.f('fk_site_stock_site_id_recycling_site')),
    sa.PrimaryKeyConstraint('site_id', 'category', name=op.f('pk_site_stock'))
    )
    op.create_table('site_transfer',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('from_site_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('to_site_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('weight_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['from_site_id'], ['recycling_site.id'], name=op.f('fk_site_transfer_from_site_id_recycling_site')),
    sa.ForeignKeyConstraint(['to_site_id'], ['recycling_site.id'], name=op.f('fk_site_transfer_to_site_id_recycling_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_transfer'))
    )
    with op.batch_alter_table('site_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_transfer_from_site_id'), ['from_site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_transfer_to_site_id'), ['to_site_id'], unique=False)
    op.create_table('intake_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('weight_kg', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('certificate_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('trade_in_ref', sa.String(length=80), nullable=True),
    sa.Column('reverses_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('import_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['scrap_certificate.id'], name=op.f('fk_intake_record_certificate_id_scrap_certificate')),
    sa.ForeignKeyConstraint(['import_id'], ['intake_import.id'], name=op.f('fk_intake_record_import_id_intake_import')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_intake_record_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['reverses_id'], ['intake_record.id'], name=op.f('fk_intake_record_reverses_id_intake_record')),
    sa.ForeignKeyConstraint(['site_id'], ['recycling_site.id'], name=op.f('fk_intake_record_site_id_recycling_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_record')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_intake_record_reverses_id'))
    )
    with op.batch_alter_table('intake_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_record_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index('ix_intake_record_county_day', ['county_code', 'occurred_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_record_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_record_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_record_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_record_trade_in_ref'), ['trade_in_ref'], unique=False)
    op.create_table('hand_in_obligation',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('trade_in_ref', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('dealer_org_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('certificate_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('picked_up_on', sa.Date(), nullable=True),
    sa.Column('matched_intake_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed', 'overdue')", name=op.f('ck_hand_in_obligation_status')),
    sa.ForeignKeyConstraint(['certificate_id'], ['scrap_certificate.id'], name=op.f('fk_hand_in_obligation_certificate_id_scrap_certificate')),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_hand_in_obligation_county_code_county')),
    sa.ForeignKeyConstraint(['dealer_org_id'], ['organisation.id'], name=op.f('fk_hand_in_obligation_dealer_org_id_organisation')),
    sa.ForeignKeyConstraint(['matched_intake_id'], ['intake_record.id'], name=op.f('fk_hand_in_obligation_matched_intake_id_intake_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hand_in_obligation')),
    sa.UniqueConstraint('trade_in_ref', name=op.f('uq_hand_in_obligation_trade_in_ref'))
    )
    with op.batch_alter_table('hand_in_obligation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hand_in_obligation_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hand_in_obligation_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_hand_in_obligation_dealer_org_id'), ['dealer_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hand_in_obligation_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_hand_in_obligation_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hand_in_obligation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hand_in_obligation_status'))
        batch_op.drop_index(batch_op.f('ix_hand_in_obligation_due_on'))
        batch_op.drop_index(batch_op.f('ix_hand_in_obligation_dealer_org_id'))
        batch_op.drop_index(batch_op.f('ix_hand_in_obligation_county_code'))
        batch_op.drop_index(batch_op.f('ix_hand_in_obligation_certificate_id'))
    op.drop_table('hand_in_obligation')
    with op.batch_alter_table('intake_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_record_trade_in_ref'))
        batch_op.drop_index(batch_op.f('ix_intake_record_site_id'))
        batch_op.drop_index(batch_op.f('ix_intake_record_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_intake_record_import_id'))
        batch_op.drop_index('ix_intake_record_county_day')
        batch_op.drop_index(batch_op.f('ix_intake_record_certificate_id'))
    op.drop_table('intake_record')
    with op.batch_alter_table('site_transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_transfer_to_site_id'))
        batch_op.drop_index(batch_op.f('ix_site_transfer_from_site_id'))
    op.drop_table('site_transfer')
    op.drop_table('site_stock')
    with op.batch_alter_table('scrap_certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scrap_certificate_vin'))
        batch_op.drop_index(batch_op.f('ix_scrap_certificate_owner_id_hash'))
        batch_op.drop_index(batch_op.f('ix_scrap_certificate_dismantler_org_id'))
    op.drop_table('scrap_certificate')
    with op.batch_alter_table('used_car_transaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_car_transaction_reported_by_org_id'))
        batch_op.drop_index(batch_op.f('ix_used_car_transaction_county_code'))
    op.drop_table('used_car_transaction')
    with op.batch_alter_table('recycling_site', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recycling_site_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_recycling_site_county_code'))
    op.drop_table('recycling_site')
    with op.batch_alter_table('recycler_qualification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recycler_qualification_organisation_id'))
    op.drop_table('recycler_qualification')
    with op.batch_alter_table('intake_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_import_organisation_id'))
    op.drop_table('intake_import')
    op.drop_table('recovery_baseline')
    op.drop_table('volume_rollup_month')
    op.drop_table('volume_rollup')
    op.drop_table('recycling_setting')
    op.drop_table('recovery_target')
    op.drop_table('recovery_report')
