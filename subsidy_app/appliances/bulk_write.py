"""Write one chunk of bulk sales set-based: buyers, sales, quotas, budget and hand-in duties in a few statements."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from subsidy_app.appliances import fraud, participation, selling
from subsidy_app.appliances.bulk_funds import Sale, fund
from subsidy_app.appliances.bulk_rows import Row, error, refusal
from subsidy_app.appliances.domain import FraudThresholds, SaleMode, SaleState, programme_of
from subsidy_app.appliances.models import ApplianceSale, Store
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import instant_on
from subsidy_app.core.db import in_values, insert_rows, utcnow
from subsidy_app.core.errors import DomainError, ValidationFailed
from subsidy_app.core.personal_data import mask_name, mask_phone, mask_resident_id
from subsidy_app.core.tables import RowError
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.models import Person


@dataclass(frozen=True)
class Written:
    """A chunk's result: accepted rows (line → report entry) and refused rows."""

    accepted: dict[int, dict[str, Any]]
    errors: list[RowError]


@dataclass
class _Buyers:
    """Buyers of a chunk by ID-number hash: known ids, and the first name the file gives a new one."""

    digests: dict[int, str]
    ids: dict[str, int]
    names: dict[str, str]
    phones: dict[str, str | None]


def _buyers(uow: UnitOfWork, actor: str, rows: list[Row], errors: list[RowError]) -> tuple[list[Row], _Buyers]:
    """Look every row's buyer up in one query; refuse a name that does not match the ID number."""
    cipher = uow.cipher
    digests = {row.line: cipher.match_hash(row.id_number) for row in rows}
    found = uow.session.execute(select(Person.id, Person.id_number_hash, Person.name_enc, Person.phone_hash)
                                .where(in_values(uow.session, Person.id_number_hash, set(digests.values())))).all()
    buyers = _Buyers(digests, {p.id_number_hash: p.id for p in found},
                     {p.id_number_hash: cipher.decrypt(p.name_enc) for p in found},
                     {p.id_number_hash: p.phone_hash for p in found})
    kept = []
    for row in rows:
        digest = digests[row.line]
        if buyers.names.setdefault(digest, row.buyer_name) != row.buyer_name:
            errors.append(error(row.line, ValidationFailed.field(
                "name", "姓名与身份证号不符 / name does not match the ID number", reason="person.name_mismatch")))
            continue
        kept.append(row)
        person_id = buyers.ids.get(digest)
        new_phone = cipher.match_hash(row.phone) if row.phone else None
        if person_id is not None and new_phone and buyers.phones[digest] != new_phone:
            buyers.phones[digest] = new_phone  # a known buyer with a new phone, as register_person records it
            uow.session.execute(update(Person).where(Person.id == person_id).values(
                phone_hash=new_phone, phone_enc=cipher.encrypt(row.phone), phone_masked=mask_phone(row.phone)))
            audit.record(uow, actor=actor, action="person.phone_changed", entity_type="person",
                         entity_id=person_id, after={"phone": mask_phone(row.phone)})
    return kept, buyers


def _register(uow: UnitOfWork, actor: str, rows: list[Row], buyers: _Buyers) -> dict[int, int]:
    """Create the buyers seen for the first time in one INSERT; return line → person id."""
    cipher = uow.cipher
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        digest = buyers.digests[row.line]
        if digest not in buyers.ids and digest not in fresh:
            fresh[digest] = dict(
                id_number_hash=digest, id_number_enc=cipher.encrypt(row.id_number),
                id_number_masked=mask_resident_id(row.id_number), name_enc=cipher.encrypt(row.buyer_name),
                name_masked=mask_name(row.buyer_name), phone_hash=cipher.match_hash(row.phone) if row.phone else None,
                phone_enc=cipher.encrypt(row.phone) if row.phone else None,
                phone_masked=mask_phone(row.phone) if row.phone else None,
                birth_date=row.birth_date, created_at=utcnow())
    if fresh:
        buyers.ids.update({r["id_number_hash"]: r["id"] for r in insert_rows(
            uow.session, Person, list(fresh.values()), ignore_conflicts=True, returning=("id", "id_number_hash"))})
        raced = [d for d in fresh if d not in buyers.ids]  # registered by a till since our read: take theirs
        buyers.ids.update({p.id_number_hash: p.id for p in uow.session.execute(
            select(Person.id, Person.id_number_hash).where(Person.id_number_hash.in_(raced)))})
        audit.record(uow, actor=actor, action="person.registered", entity_type="person",
                     entity_id=min(buyers.ids[d] for d in fresh), after={"bulk_count": len(fresh)})
    return {row.line: buyers.ids[buyers.digests[row.line]] for row in rows}


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
                  persons: dict[int, int], errors: list[RowError], limits: FraudThresholds) -> list[Sale]:
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
        return []
    inserted = {r["number"] for r in insert_rows(uow.session, ApplianceSale, values, ignore_conflicts=True,
                                                  returning=("number",))}
    lost = [row for row in rows if numbers[row.line] not in inserted]
    if lost:  # a till sold the same item or invoice since our check
        taken = set(uow.session.scalars(select(ApplianceSale.serial_key).where(
            ApplianceSale.state != SaleState.RETURNED.value,
            ApplianceSale.serial_key.in_([r.serial_key for r in lost]))))
        for row in lost:
            errors.append(error(row.line, selling.SerialTaken(row.serial_key, 0)) if row.serial_key in taken else
                          refusal(row.line, "invoice.already_subsidised", "该发票已享受过补贴",
                                  "this invoice already funded a subsidy"))
    return [Sale(row, numbers[row.line], persons[row.line], sold_at[row.line])
            for row in rows if numbers[row.line] in inserted]


def write_chunk(uow: UnitOfWork, *, actor: str, store: Store, upload_id: int, rows: list[Row],
                limits: FraudThresholds | None = None) -> Written:
    """Record a chunk's sales as the till would, refusing rows with the till's reasons; a few statements in all."""
    errors: list[RowError] = []
    kept, buyers = _buyers(uow, actor, rows, errors)
    kept = _unique(uow, store.dealer_org_id, _approved(uow, store, kept, errors), errors)
    sales = _insert_sales(uow, actor, store, upload_id, kept, _register(uow, actor, kept, buyers), errors,
                          limits or FraudThresholds())
    funded = fund(uow, actor=actor, store=store, sales=sales, errors=errors)
    numbers = {s.number for s in funded}
    unfunded = [s.number for s in sales if s.number not in numbers]
    if unfunded:  # refused for quota or budget after the insert: as the till's rolled-back savepoint
        uow.session.execute(delete(ApplianceSale).where(ApplianceSale.number.in_(unfunded)))
    accepted = {s.row.line: {"line": s.row.line, "number": s.number, "amount": str(s.row.decision.amount)}
                for s in funded}
    if funded:
        audit.record(uow, actor=actor, action=f"appliance_sale.{SaleMode.INSTANT.value}",
                     entity_type="appliance_bulk_upload", entity_id=upload_id,
                     after={"numbers": [s.number for s in funded],
                            "amount": str(sum(s.row.decision.amount for s in funded))})
    return Written(accepted, sorted(errors, key=lambda e: e.line))
