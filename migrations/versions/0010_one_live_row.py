"""one live row per rule: a VIN has one live scrap certificate, a purchase one original reverse invoice

The uniqueness was checked in Python, so concurrent requests could each pass the check (30 requests for one VIN
made 12 live certificates). Existing duplicates are never deleted here: the upgrade stops, naming them and the
command that lists them, so the bureau can revoke the extra ones first.

Revision ID: 0010_one_live_row
Revises: 0009_job_progress
Create Date: 2026-12-03 19:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0010_one_live_row'
down_revision = '0009_job_progress'
branch_labels = None
depends_on = None

LIVE_CERTIFICATE = "state <> 'revoked'"
ORIGINAL_INVOICE = "colour = 'blue' AND replaces_id IS NULL AND purchase_id IS NOT NULL"
REISSUE = "replaces_id IS NOT NULL"

# (what must be unique, SQL listing the ids that break it, the command that lists them for the bureau)
CHECKS = (
    ("live scrap certificates per VIN",
     f"SELECT vin, id FROM scrap_certificate WHERE {LIVE_CERTIFICATE} AND vin IN "
     f"(SELECT vin FROM scrap_certificate WHERE {LIVE_CERTIFICATE} GROUP BY vin HAVING count(*) > 1) ORDER BY vin, id",
     "lvliang certificates duplicates"),
    ("original blue reverse invoices per purchase",
     f"SELECT purchase_id, id FROM ri_invoice WHERE {ORIGINAL_INVOICE} AND purchase_id IN "
     f"(SELECT purchase_id FROM ri_invoice WHERE {ORIGINAL_INVOICE} GROUP BY purchase_id HAVING count(*) > 1) "
     "ORDER BY purchase_id, id",
     "psql: SELECT * FROM ri_invoice WHERE purchase_id = <key> (reverse the extra one with a red-letter invoice)"),
    ("re-issues per corrected reverse invoice",
     f"SELECT replaces_id, id FROM ri_invoice WHERE {REISSUE} AND replaces_id IN "
     f"(SELECT replaces_id FROM ri_invoice WHERE {REISSUE} GROUP BY replaces_id HAVING count(*) > 1) "
     "ORDER BY replaces_id, id",
     "psql: SELECT * FROM ri_invoice WHERE replaces_id = <key>"),
)


def _refuse_duplicates() -> None:
    """Stop the upgrade if existing rows already break a rule the new indexes hold."""
    bind = op.get_bind()
    problems = []
    for rule, sql, command in CHECKS:
        groups: dict[object, list[int]] = {}
        for key, row_id in bind.execute(sa.text(sql)):
            groups.setdefault(key, []).append(row_id)
        if groups:
            listed = "; ".join(f"{key}: ids {', '.join(map(str, ids))}" for key, ids in groups.items())
            problems.append(f"- {len(groups)} keys with several {rule}: {listed}\n  list them with: {command}")
    if problems:
        raise RuntimeError("0010_one_live_row: existing rows break a uniqueness rule; nothing was changed or "
                           "deleted. Resolve them (revoke or reverse the extra ones), then upgrade again.\n"
                           + "\n".join(problems))


def upgrade() -> None:
    _refuse_duplicates()
    op.create_index('uq_scrap_certificate_vin_live', 'scrap_certificate', ['vin'], unique=True,
                    postgresql_where=sa.text(LIVE_CERTIFICATE), sqlite_where=sa.text(LIVE_CERTIFICATE))
    op.create_index('uq_ri_invoice_purchase_original', 'ri_invoice', ['purchase_id'], unique=True,
                    postgresql_where=sa.text(ORIGINAL_INVOICE), sqlite_where=sa.text(ORIGINAL_INVOICE))
    op.create_index('uq_ri_invoice_replaces_id', 'ri_invoice', ['replaces_id'], unique=True,
                    postgresql_where=sa.text(REISSUE), sqlite_where=sa.text(REISSUE))


def downgrade() -> None:
    op.drop_index('uq_ri_invoice_replaces_id', table_name='ri_invoice')
    op.drop_index('uq_ri_invoice_purchase_original', table_name='ri_invoice')
    op.drop_index('uq_scrap_certificate_vin_live', table_name='scrap_certificate')
