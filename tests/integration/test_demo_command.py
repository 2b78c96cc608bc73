"""`lvliang demo`, the README's first command, on a fresh embedded database."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from recycling import certificates
from recycling.models import ScrapCertificate
from subsidy_app.app import create_app
from subsidy_app.demo_residents import DEMO_BUYER, DEMO_TRADE_INS
from subsidy_app.vehicles.services import LocalVehicleRegistry
from tests.conftest import TEST_SECRET_KEY


def test_demo_prepares_a_fresh_database_and_points_qr_codes_at_its_port(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "secret_key": TEST_SECRET_KEY,
                      "data_key": TEST_SECRET_KEY})
    with app.app_context():  # as the `lvliang` command line pushes it
        result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--port", "5099"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5099/login" in result.output
    # A receipt or poster QR must open the demo that printed it, not the default port.
    assert app.extensions["subsidy"].settings.public_base_url == "http://127.0.0.1:5099"
    assert "dealer.appliance" in result.output


def _demo_app(tmp_path: Path) -> Flask:
    return create_app({"database_url": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "secret_key": TEST_SECRET_KEY,
                       "data_key": TEST_SECRET_KEY})


def _run_demo(app: Flask) -> str:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--port", "5099"])
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_every_seeded_certificate_names_the_registered_owner_of_its_deregistered_car(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = _demo_app(tmp_path)
    _run_demo(app)
    with app.extensions["subsidy"].unit_of_work() as uow:
        issued = list(uow.session.scalars(select(ScrapCertificate)))
        registry = LocalVehicleRegistry(uow)
        records = {c.number: registry.lookup(c.vin) for c in issued}
    assert len(issued) == len(DEMO_TRADE_INS) == 8
    for certificate in issued:
        record = records[certificate.number]
        assert record is not None, f"the registry does not know {certificate.vin} of {certificate.number}"
        assert record.deregistered and record.owner_id_hash == certificate.owner_id_hash
        assert certificate.state == "issued"


def test_the_demo_prints_a_ready_trade_in_an_appliance_buyer_and_where_to_open_the_platform(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    out = _run_demo(_demo_app(tmp_path))
    first = DEMO_TRADE_INS[0]
    assert "用浏览器打开 open http://127.0.0.1:5099/" in out
    for printed in (first.name, first.id_number, first.phone, first.certificate_number, first.new_vin,
                    first.invoice_number, first.card, "dealer.car", "auditor.lishi", "http://127.0.0.1:5099/staff/sms",
                    DEMO_BUYER.name, DEMO_BUYER.id_number, DEMO_BUYER.card, "dealer.appliance", "leader.city"):
        assert printed in out, printed


def test_once_the_printed_certificate_is_used_the_demo_prints_the_next_resident(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = _demo_app(tmp_path)
    _run_demo(app)
    with app.extensions["subsidy"].unit_of_work() as uow:
        first = certificates.find_certificate(uow, dismantler_org_id=None, number=DEMO_TRADE_INS[0].certificate_number)
        assert first is not None
        certificates.consume_certificate(uow, certificate_id=first, application_ref="QC202600000001")
        uow.commit()
    again = _run_demo(app)  # the demo is run again on the same database
    assert f"回收证明编号:{DEMO_TRADE_INS[1].certificate_number}" in again
    assert DEMO_TRADE_INS[0].id_number not in again


def test_listening_on_every_interface_the_demo_says_to_open_the_loopback_address(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = _demo_app(tmp_path)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--host", "0.0.0.0", "--port", "5099"])
    assert result.exit_code == 0, result.output
    assert "用浏览器打开 open http://127.0.0.1:5099/" in result.output and "http://0.0.0.0" not in result.output
