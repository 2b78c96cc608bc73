"""recycling sites: a kind (vehicles, renewable or general) deciding which intake categories a site takes in

Existing sites get the kind their recycler's licences say: a dismantling licence only → vehicles, a
renewable-resource filing only → renewable, both or neither → general (everything, as before).

Revision ID: 0017_site_kind
Revises: 0016_hand_in_tally
Create Date: 2026-12-04 01:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017_site_kind'
down_revision = '0016_hand_in_tally'
branch_labels = None
depends_on = None

_HOLDS = ("EXISTS (SELECT 1 FROM recycler_qualification q WHERE q.organisation_id = recycling_site.organisation_id "
          "AND q.kind = '{}')")


def upgrade() -> None:
    with op.batch_alter_table('recycling_site') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=12), server_default='general', nullable=False))
        batch.create_check_constraint(op.f('ck_recycling_site_kind'), "kind IN ('vehicles', 'renewable', 'general')")
    dismantling, renewable = _HOLDS.format('dismantling'), _HOLDS.format('renewable_filing')
    op.execute(f"UPDATE recycling_site SET kind = 'vehicles' WHERE {dismantling} AND NOT {renewable}")
    op.execute(f"UPDATE recycling_site SET kind = 'renewable' WHERE {renewable} AND NOT {dismantling}")


def downgrade() -> None:
    with op.batch_alter_table('recycling_site') as batch:
        batch.drop_constraint(op.f('ck_recycling_site_kind'), type_='check')
        batch.drop_column('kind')
