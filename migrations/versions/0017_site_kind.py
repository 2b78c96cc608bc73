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


_KINDS = "kind IN ('vehicles', 'renewable', 'general')"


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its CHECK in place; a batch copy would drop a table other rows point at.
        op.execute("ALTER TABLE recycling_site ADD COLUMN kind VARCHAR(12) DEFAULT 'general' NOT NULL "
                   f"CONSTRAINT ck_recycling_site_kind CHECK ({_KINDS})")
    else:
        op.add_column('recycling_site', sa.Column('kind', sa.String(length=12), server_default='general',
                                                  nullable=False))
        op.create_check_constraint(op.f('ck_recycling_site_kind'), 'recycling_site', _KINDS)
    dismantling, renewable = _HOLDS.format('dismantling'), _HOLDS.format('renewable_filing')
    op.execute(f"UPDATE recycling_site SET kind = 'vehicles' WHERE {dismantling} AND NOT {renewable}")
    op.execute(f"UPDATE recycling_site SET kind = 'renewable' WHERE {renewable} AND NOT {dismantling}")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE recycling_site DROP COLUMN kind")  # its CHECK goes with it; no table copy
    else:
        op.drop_constraint(op.f('ck_recycling_site_kind'), 'recycling_site', type_='check')
        op.drop_column('recycling_site', 'kind')
