"""Certificates issued twice before the database held the rule: the migration stops and names them, never deletes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from recycling import issuing
from recycling.models import ScrapCertificate
from subsidy_app import migrate
from subsidy_app.app import create_app
from subsidy_app.seed import seed_demo
from tests.conftest import TEST_AUDIT_KEY, _settings_dict, make_settings
from tests.recycling_support import ACTOR, CertificateDraftFactory, build_network

BEFORE = "0009_job_progress"
COLUMNS = ("dismantler_org_id, qualification_id, licence_valid_on_issue, state, owner_kind, owner_name_enc, "
           "owner_name_masked, owner_id_hash, owner_id_enc, owner_id_masked, phone_enc, phone_masked, address_enc, "
           "handover_date, first_registration_date, plate, vehicle_type, use_type, make_model, vin, curb_weight_kg, "
           "fuel_type, engine_number, battery_code, site_id, issued_by, issued_at")


def test_the_upgrade_stops_on_duplicate_live_certificates_and_the_command_lists_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_KEY", TEST_AUDIT_KEY)  # the audit re-keying revision reads it as the app does
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrate.upgrade(url)
    app = create_app(_settings_dict(make_settings(url)))
    with app.extensions["subsidy"].unit_of_work() as uow:
        network = build_network(uow, seed_demo(uow))
        first = issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id,
                                          draft=CertificateDraftFactory(number="OLD-1"))
        uow.commit()
    migrate.downgrade(url, BEFORE)  # the schema as it was, when a race could issue a second one
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO scrap_certificate (number, verify_key, {COLUMNS}) "
                          f"SELECT 'OLD-2', 'second-key', {COLUMNS} FROM scrap_certificate WHERE id = :id"),
                     {"id": first})
        second = conn.scalar(text("SELECT id FROM scrap_certificate WHERE number = 'OLD-2'"))
    with pytest.raises(RuntimeError) as stopped:
        migrate.upgrade(url)
    message = str(stopped.value)
    assert f"ids {first}, {second}" in message and "lvliang certificates duplicates" in message
    with engine.connect() as conn:  # nothing was deleted and the schema is still the old one
        assert conn.scalar(select(func.count()).select_from(ScrapCertificate.__table__)) == 2
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == BEFORE

    listed = app.test_cli_runner().invoke(args=["certificates", "duplicates"])
    assert listed.exit_code == 1
    assert "OLD-1" in listed.output and "OLD-2" in listed.output and "1 个车架号" in listed.output

    with engine.begin() as conn:  # the bureau revokes the extra one; then the upgrade goes through
        conn.execute(text("UPDATE scrap_certificate SET state = 'revoked' WHERE id = :id"), {"id": second})
    migrate.upgrade(url)
    assert app.test_cli_runner().invoke(args=["certificates", "duplicates"]).exit_code == 0
    engine.dispose()
