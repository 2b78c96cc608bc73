"""The demo's residents carry numbers the platform's own checks accept, none shared between two of them."""

from __future__ import annotations

from subsidy_app.core.identifiers import normalise_resident_id, normalise_vin
from subsidy_app.core.identifiers_trade import check_invoice_number, normalise_bank_card, normalise_phone
from subsidy_app.demo_residents import DEMO_BUYER, DEMO_TRADE_INS, registry_csv


def test_every_demo_number_passes_the_platforms_checks_and_none_is_shared() -> None:
    for t in DEMO_TRADE_INS:
        assert normalise_resident_id(t.id_number) == t.id_number
        assert normalise_vin(t.old_vin) == t.old_vin and normalise_vin(t.new_vin) == t.new_vin
        assert normalise_bank_card(t.card) == t.card and normalise_phone(t.phone) == t.phone
        assert check_invoice_number(t.invoice_number).number == t.invoice_number
        assert t.handover_date < t.deregistered_on
    for field in ("id_number", "old_vin", "new_vin", "card", "phone", "certificate_number", "invoice_number"):
        values = [getattr(t, field) for t in DEMO_TRADE_INS]
        assert len(set(values)) == len(values), field
    assert DEMO_BUYER.id_number not in {t.id_number for t in DEMO_TRADE_INS}
    assert normalise_bank_card(DEMO_BUYER.card) == DEMO_BUYER.card


def test_the_registry_file_names_each_resident_as_the_owner_of_her_deregistered_car() -> None:
    rows = registry_csv().decode().splitlines()[1:]
    assert len(rows) == len(DEMO_TRADE_INS)
    for t, row in zip(DEMO_TRADE_INS, rows, strict=True):
        cells = row.split(",")
        assert (cells[0], cells[6], cells[8]) == (t.old_vin, t.id_number, str(t.deregistered_on))
