"""complaints and appeals: the case and its steps; who refused an application (an appeal's reviewer is someone else)

Revision ID: 0022_complaints
Revises: 0021_spot_checks
Create Date: 2026-12-04 18:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022_complaints'
down_revision = '0021_spot_checks'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite')
_OPEN_APPEAL = sa.text("kind = 'appeal' AND state NOT IN ('closed', 'withdrawn')")


def upgrade() -> None:
    op.add_column('application', sa.Column('refused_by', sa.BigInteger(), nullable=True))
    op.create_table(
        'complaint_case',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('number', sa.String(length=24), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('application_id', _ID, nullable=True),
        sa.Column('person_id', _ID, nullable=True),
        sa.Column('county_code', sa.String(length=6), nullable=False),
        sa.Column('text_enc', sa.LargeBinary(), nullable=False),
        sa.Column('contact_ok', sa.Boolean(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('assignee_id', sa.BigInteger(), nullable=True),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('overdue', sa.Boolean(), nullable=False),
        sa.Column('overdue_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('needs_city', sa.Boolean(), nullable=False),
        sa.Column('reply', sa.String(length=500), nullable=True),
        sa.Column('outcome', sa.String(length=14), nullable=True),
        sa.Column('filed_by', sa.String(length=120), nullable=False),
        sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'],
                                name=op.f('fk_complaint_case_application_id_application')),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_complaint_case_person_id_person')),
        sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_complaint_case_county_code_county')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_case')),
        sa.UniqueConstraint('number', name=op.f('uq_complaint_case_number')),
    )
    op.create_index(op.f('ix_complaint_case_application_id'), 'complaint_case', ['application_id'])
    op.create_index(op.f('ix_complaint_case_person_id'), 'complaint_case', ['person_id'])
    op.create_index(op.f('ix_complaint_case_state'), 'complaint_case', ['state'])
    op.create_index(op.f('ix_complaint_case_assignee_id'), 'complaint_case', ['assignee_id'])
    op.create_index('ix_complaint_case_county_state', 'complaint_case', ['county_code', 'state'])
    op.create_index('uq_complaint_case_open_appeal', 'complaint_case', ['application_id'], unique=True,
                    postgresql_where=_OPEN_APPEAL, sqlite_where=_OPEN_APPEAL)
    op.create_table(
        'complaint_step',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('case_id', _ID, nullable=False),
        sa.Column('action', sa.String(length=12), nullable=False),
        sa.Column('from_state', sa.String(length=12), nullable=True),
        sa.Column('to_state', sa.String(length=12), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['complaint_case.id'], name=op.f('fk_complaint_step_case_id_complaint_case')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_step')),
    )
    op.create_index(op.f('ix_complaint_step_case_id'), 'complaint_step', ['case_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_complaint_step_case_id'), table_name='complaint_step')
    op.drop_table('complaint_step')
    for name in ('uq_complaint_case_open_appeal', 'ix_complaint_case_county_state', op.f('ix_complaint_case_assignee_id'),
                 op.f('ix_complaint_case_state'), op.f('ix_complaint_case_person_id'),
                 op.f('ix_complaint_case_application_id')):
        op.drop_index(name, table_name='complaint_case')
    op.drop_table('complaint_case')
    # In place on SQLite too (3.35+): a batch copy of `application` would fail on the rows that point at it.
    op.execute("ALTER TABLE application DROP COLUMN refused_by")
