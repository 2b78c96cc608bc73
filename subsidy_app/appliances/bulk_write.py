"""Write one chunk of bulk sales set-based: buyers, sales, quotas, budget and hand-in duties in a few statements."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from subsidy_app.appliances import fraud, participation, selling, signal_tally
from subsidy_app.appliances.bulk_funds import Sale, fund
from subsidy_app.appliances.bulk_rows import Row, error, refusal
from subsidy_app.appliances.domain import FraudThresholds, SaleMode, SaleState, programme_of
from subsidy_app.appliances.models import ApplianceSale, Store
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import instant_on
from subsidy_app.core.db import in_values, insert_rows, utcnow
from subsidy_app.core.errors import DomainError
from subsidy_app.core.tables import RowError
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.person_batch import PersonBatch, PersonEntry
from subsidy_app.rules import quotas


@dataclass(frozen=True)
class Written:
    """A chunk's result: accepted rows (line → report entry) and refused rows."""

    accepted: dict[int, dict[str, Any]]
    errors: list[RowError]


def _entry(row: Row) -> PersonEntry:
    return PersonEntry(row.id_number, row.buyer_name, row.phone, row.birth_date)


def _buyers(uow: UnitOfWork, actor: str, rows: list[Row], errors: list[RowError]) -> tuple[list[Row], PersonBatch]:
    """Look every row's buyer up in one query; refuse a name that does not match the ID number."""
    buyers = PersonBatch(uow, actor=actor, entries=[_entry(row) for row in rows])
    kept = []
    for row in rows:
        refused = buyers.check(_entry(row))
        if refused is not None:
            errors.append(error(row.line, refused))
        else:
            kept.append(row)
    return kept, buyers


def _register(rows: list[Row], buyers: PersonBatch) -> dict[int, int]:
    """Create the buyers seen for the first time in one INSERT; return line → person id."""
    ids = buyers.register([_entry(row) for row in rows])
    return {row.line: person_id for row, person_id in zip(rows, ids, strict=True)}


def _approved(uow: UnitOfWork, store: Store, rows: list[Row], errors: list[RowError]) -> list[Row]:
    """Keep rows whose category the dealer and store may sell with a subsidy (one query per category)."""
    refused: dict[str, DomainError | None] = {}
    for category in {row.product.category for row in rows}:
        try:
            participation.require_approved(uow, dealer_org_id=store.dealer_org_id, store_id=store.id,
                                           category=category)
            refused[category] = None
        except DomainError as exc:
            refused[category] = exc
    kept = []
    for row in rows:
        why = refused[row.product.category]
        if why is None:
            kept.append(row)
        else:
            errors.append(error(row.line, why))
    return kept


def _unique(uow: UnitOfWork, dealer_org_id: int, rows: list[Row], errors: list[RowError]) -> list[Row]:
    """Refuse serials and invoices that fund a live sale or appear earlier in the file (one query each).

    A serial another dealer's sale holds is reported as the till does (`selling.note_serial_clash`), which
    flags the holder's sale for reviewers.
    """
    live = ApplianceSale.state != SaleState.RETURNED.value
    serials = set(uow.session.scalars(select(ApplianceSale.serial_key).where(
        live, in_values(uow.session, ApplianceSale.serial_key, {r.serial_key for r in rows}))))
    invoices = set(uow.session.scalars(select(ApplianceSale.invoice_key).where(
        live, in_values(uow.session, ApplianceSale.invoice_key, {r.invoice_key for r in rows}))))
    for serial in sorted(serials):
        selling.note_serial_clash(uow, serial_key=serial, dealer_org_id=dealer_org_id)
    kept = []
    for row in rows:
        if row.serial_key in serials:
            errors.append(error(row.line, selling.SerialTaken(row.serial_key, 0)))
        elif row.invoice_key in invoices:
            errors.append(refusal(row.line, "invoice.already_subsidised", "该发票已享受过补贴",
                                  "this invoice already funded a subsidy"))
        else:
            serials.add(row.serial_key)
            invoices.add(row.invoice_key)
            kept.append(row)
    return kept


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _insert_sales(uow: UnitOfWork, actor: str, store: Store, upload_id: int, rows: list[Row],
                  persons: dict[int, int], errors: list[RowError], limits: FraudThresholds
                  ) -> tuple[list[Sale], dict[str, list[dict[str, Any]]]]:
    """One multi-row INSERT; the partial unique indexes still decide a race with a till."""
    now = utcnow()
    sold_at = {row.line: instant_on(row.sold_on, now) for row in rows}  # as selling.record: the clock's time of day
    numbers = {row.line: f"AS{row.sold_on:%y%m%d}{secrets.token_hex(6).upper()}" for row in rows}
    values: list[dict[str, Any]] = [dict(
        number=numbers[row.line], mode=SaleMode.INSTANT.value, state=SaleState.GRANTED.value,
        dealer_org_id=store.dealer_org_id, store_id=store.id, county_code=store.county_code,
        person_id=persons[row.line], programme=programme_of(row.product.category) or "",
        category=row.product.category, gtin=row.product.gtin, serial_key=row.serial_key,
        invoice_key=row.invoice_key, price=row.price, amount=row.decision.amount,
        version_code=row.decision.version_code, phone_hash=uow.cipher.match_hash(row.phone_raw),
        address_hash=uow.cipher.match_hash(" ".join(row.delivery_address.split())) if row.delivery_address else None,
        apply_code=secrets.token_hex(16), signals=[], upload_id=upload_id,
        created_by=actor, sold_at=sold_at[row.line]) for row in rows]
    signals = fraud.chunk_signals(uow, store=store, limits=limits, sales=[fraud.BulkSale(
        numbers[row.line], persons[row.line], _opt_str(v["phone_hash"]), _opt_str(v["address_hash"]), row.price,
        row.product.reference_price, row.serial_key, sold_at[row.line]) for row, v in zip(rows, values, strict=True)])
    for row, v in zip(rows, values, strict=True):
        v["signals"] = signals.get(numbers[row.line], [])
    if not values:
        return [], {}
    inserted = {r["number"] for r in insert_rows(uow.session, ApplianceSale, values, ignore_conflicts=True,
                                                  returning=("number",))}
    lost = [row for row in rows if numbers[row.line] not in inserted]
    if lost:  # a till sold the same item or invoice since our check
        taken = set(uow.session.scalars(select(ApplianceSale.serial_key).where(
            ApplianceSale.state != SaleState.RETURNED.value,
            ApplianceSale.serial_key.in_([r.serial_key for r in lost]))))
        for serial in sorted(taken):  # reported as `_unique` reports a serial it sees held (issue 16 §4)
            selling.note_serial_clash(uow, serial_key=serial, dealer_org_id=store.dealer_org_id)
        for row in lost:
            errors.append(error(row.line, selling.SerialTaken(row.serial_key, 0)) if row.serial_key in taken else
                          refusal(row.line, "invoice.already_subsidised", "该发票已享受过补贴",
                                  "this invoice already funded a subsidy"))
    return [Sale(row, numbers[row.line], persons[row.line], sold_at[row.line])
            for row in rows if numbers[row.line] in inserted], signals


def write_chunk(uow: UnitOfWork, *, actor: str, store: Store, upload_id: int, rows: list[Row],
                limits: FraudThresholds | None = None) -> Written:
    """Record a chunk's sales as the till would, refusing rows with the till's reasons; a few statements in all."""
    errors: list[RowError] = []
    kept, buyers = _buyers(uow, actor, rows, errors)
    kept = _unique(uow, store.dealer_org_id, _approved(uow, store, kept, errors), errors)
    sales, signals = _insert_sales(uow, actor, store, upload_id, kept, _register(kept, buyers), errors,
                                   limits or FraudThresholds())
    funded = fund(uow, actor=actor, store=store, sales=sales, errors=errors)
    numbers = {s.number for s in funded}
    unfunded = [s.number for s in sales if s.number not in numbers]
    if unfunded:  # refused for quota or budget after the insert: as the till's rolled-back savepoint
        uow.session.execute(delete(ApplianceSale).where(ApplianceSale.number.in_(unfunded)))
    # Nor does a refused row leave its buyer registered (issue 16 §4): a person this chunk registered that no
    # funded row names goes again, with the empty quota counters `fund` locked for them.
    named = {s.person_id for s in funded}
    quotas.drop_unused_counters(uow, person_ids=buyers.created - named)
    buyers.settle(kept=named)
    for sale in funded:  # the sales that stay: an unfunded one was deleted with its signals
        signal_tally.move(uow, county_code=store.county_code, sold_at=sale.sold_at, before=set(),
                          after=signal_tally.codes(signals.get(sale.number, [])))
    accepted = {s.row.line: {"line": s.row.line, "number": s.number, "amount": str(s.row.decision.amount)}
                for s in funded}
    if funded:
        audit.record(uow, actor=actor, action=f"appliance_sale.{SaleMode.INSTANT.value}",
                     entity_type="appliance_bulk_upload", entity_id=upload_id,
                     after={"numbers": [s.number for s in funded],
                            "amount": str(sum(s.row.decision.amount for s in funded))})
    return Written(accepted, sorted(errors, key=lambda e: e.line))
