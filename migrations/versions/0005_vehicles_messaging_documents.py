"""vehicles, messaging, documents: registry records, SMS outbox, one-time codes, uploaded documents

Revision ID: 0005_vehicles_messaging_documents
Revises: 0003_recycling
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql  # noqa: F401

revision = '0005_vehicles_messaging_documents'
down_revision = '0003_recycling'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # This revision id is 33 characters; Alembic's default version column holds 32. Kept wide on downgrade.
        op.alter_column("alembic_version", "version_num", type_=sa.String(64), existing_type=sa.String(32))
    op.create_table('document_blob',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_document_blob'))
    )
    op.create_table('one_time_code',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_code'))
    )
    with op.batch_alter_table('one_time_code', schema=None) as batch_op:
        batch_op.create_index('ix_one_time_code_phone_purpose', ['phone_hash', 'purpose'], unique=False)

    op.create_table('sms_message',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.String(length=60), nullable=True),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=False),
    sa.Column('phone_masked', sa.String(length=11), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_message')),
    sa.UniqueConstraint('request_id', name=op.f('uq_sms_message_request_id'))
    )
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_message_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_phone_hash'), ['phone_hash'], unique=False)

    op.create_table('vehicle_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('plate', sa.String(length=10), nullable=False),
    sa.Column('vehicle_type', sa.String(length=40), nullable=False),
    sa.Column('use_type', sa.String(length=40), nullable=False),
    sa.Column('fuel_code', sa.String(length=20), nullable=False),
    sa.Column('fuel_group', sa.String(length=10), nullable=False),
    sa.Column('first_registration', sa.Date(), nullable=False),
    sa.Column('owner_id_hash', sa.String(length=64), nullable=False),
    sa.Column('owner_id_masked', sa.String(length=18), nullable=False),
    sa.Column('owner_since', sa.Date(), nullable=False),
    sa.Column('deregistered_on', sa.Date(), nullable=True),
    sa.Column('deregistration_certificate', sa.String(length=60), nullable=True),
    sa.Column('transferred_out_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicle_record')),
    sa.UniqueConstraint('vin', name=op.f('uq_vehicle_record_vin'))
    )
    with op.batch_alter_table('vehicle_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_record_owner_id_hash'), ['owner_id_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicle_record_plate'), ['plate'], unique=False)

    op.create_table('document',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('owner_ref', sa.String(length=100), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sha256'], ['document_blob.sha256'], name=op.f('fk_document_sha256_document_blob')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document'))
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_owner_ref'), ['owner_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_sha256'), ['sha256'], unique=False)

    op.create_table('vehicle_ownership',
    sa.Column('id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('vehicle_id', sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite'), nullable=False),
    sa.Column('owner_id_hash', sa.String(length=64), nullable=False),
    sa.Column('owner_id_masked', sa.String(length=18), nullable=False),
    sa.Column('owner_since', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle_record.id'], name=op.f('fk_vehicle_ownership_vehicle_id_vehicle_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicle_ownership')),
    sa.UniqueConstraint('vehicle_id', 'owner_id_hash', 'owner_since', name=op.f('uq_vehicle_ownership_vehicle_id_owner_id_hash_owner_since'))
    )
    with op.batch_alter_table('vehicle_ownership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_ownership_vehicle_id'), ['vehicle_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('vehicle_ownership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_ownership_vehicle_id'))

    op.drop_table('vehicle_ownership')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_sha256'))
        batch_op.drop_index(batch_op.f('ix_document_owner_ref'))

    op.drop_table('document')
    with op.batch_alter_table('vehicle_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_record_plate'))
        batch_op.drop_index(batch_op.f('ix_vehicle_record_owner_id_hash'))

    op.drop_table('vehicle_record')
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_message_phone_hash'))
        batch_op.drop_index(batch_op.f('ix_sms_message_created_at'))

    op.drop_table('sms_message')
    with op.batch_alter_table('one_time_code', schema=None) as batch_op:
        batch_op.drop_index('ix_one_time_code_phone_purpose')

    op.drop_table('one_time_code')
    op.drop_table('document_blob')

