"""Person use cases: register residents and sellers, their bank cards, and show them masked or revealed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite

from subsidy_app.audit import services as audit
from subsidy_app.core.db import Base, is_postgres, slices, utcnow
from subsidy_app.core.errors import NotFound, ValidationFailed
from subsidy_app.core.identifiers import normalise_resident_id, resident_id_birth_date
from subsidy_app.core.identifiers_trade import normalise_bank_card, normalise_phone
from subsidy_app.core.personal_data import mask_bank_card, mask_name, mask_phone, mask_resident_id
from subsidy_app.core.text import checked_text
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import Principal, Role
from subsidy_app.identity.models import BankCard, Person

# Roles that may see a person's full ID number and card (to check documents and pay).
BANK_NAME_LENGTH = 60  # bank_card.bank_name
REVEAL_ROLES = frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER})


@dataclass(frozen=True)
class PersonView:
    """A person as a caller may see them: masked unless their role needs the clear values."""

    id: int
    name: str
    id_number: str
    phone: str | None
    revealed: bool


def _insert(uow: UnitOfWork, model: type[Base]) -> Any:
    dialect = postgresql if is_postgres(uow.session) else sqlite
    return dialect.insert(model)


def clean_name(name: str) -> str:
    """Return a person's name with its spaces collapsed; refused (field `name`) unless 2–40 characters."""
    cleaned = " ".join(name.split())
    if not 2 <= len(cleaned) <= 40:
        raise ValidationFailed.field("name", "姓名应为 2–40 个字符 / name must be 2–40 characters")
    return cleaned


def register_person(uow: UnitOfWork, *, actor: str, name: str, id_number: str, phone: str | None = None) -> int:
    """Find a person by ID number (keyed hash) or create them; the name must match an existing record."""
    id_value = normalise_resident_id(id_number, field="id_number")
    clean = clean_name(name)
    cipher = uow.cipher
    digest = cipher.match_hash(id_value)
    person = uow.session.scalar(select(Person).where(Person.id_number_hash == digest))
    phone_value = normalise_phone(phone, field="phone") if phone else None
    if person is not None:
        if cipher.decrypt(person.name_enc) != clean:
            raise ValidationFailed.field("name", "姓名与身份证号不符 / name does not match the ID number",
                                         reason="person.name_mismatch")
        if phone_value and person.phone_hash != cipher.match_hash(phone_value):
            person.phone_hash = cipher.match_hash(phone_value)
            person.phone_enc = cipher.encrypt(phone_value)
            person.phone_masked = mask_phone(phone_value)
            audit.record(uow, actor=actor, action="person.phone_changed", entity_type="person", entity_id=person.id,
                         after={"phone": person.phone_masked})
        return person.id
    values = dict(
        id_number_hash=digest, id_number_enc=cipher.encrypt(id_value), id_number_masked=mask_resident_id(id_value),
        name_enc=cipher.encrypt(clean), name_masked=mask_name(clean),
        phone_hash=cipher.match_hash(phone_value) if phone_value else None,
        phone_enc=cipher.encrypt(phone_value) if phone_value else None,
        phone_masked=mask_phone(phone_value) if phone_value else None,
        birth_date=resident_id_birth_date(id_value), created_at=utcnow(),
    )
    # Two first visits of one person at the same moment: the loser of the insert reads the winner's row.
    inserted = uow.session.execute(_insert(uow, Person).values(**values).on_conflict_do_nothing()
                                   .returning(Person.id)).scalar()
    if inserted is None:
        return register_person(uow, actor=actor, name=name, id_number=id_number, phone=phone)
    person = uow.session.get(Person, inserted)
    assert person is not None
    audit.record(uow, actor=actor, action="person.registered", entity_type="person", entity_id=person.id,
                 after={"id_number": person.id_number_masked, "name": person.name_masked})
    return person.id


def find_person_id(uow: UnitOfWork, *, id_number: str) -> int | None:
    """Return the id of the person with this ID number, matched by keyed hash."""
    id_value = normalise_resident_id(id_number, field="id_number")
    return uow.session.scalar(select(Person.id).where(Person.id_number_hash == uow.cipher.match_hash(id_value)))


def add_bank_card(uow: UnitOfWork, *, actor: str, person_id: int, card_number: str, bank_name: str = "") -> int:
    """Record a person's bank card (Luhn-checked), or return the existing one."""
    card = normalise_bank_card(card_number, field="bank_card")
    bank_name = checked_text(bank_name, field="bank_name", max_length=BANK_NAME_LENGTH)
    digest = uow.cipher.match_hash(card)
    existing = uow.session.scalar(select(BankCard).where(BankCard.person_id == person_id, BankCard.card_hash == digest))
    if existing is not None:
        return existing.id
    card_id = uow.session.execute(_insert(uow, BankCard).values(
        person_id=person_id, card_hash=digest, card_enc=uow.cipher.encrypt(card), card_masked=mask_bank_card(card),
        bank_name=bank_name, created_at=utcnow()).on_conflict_do_nothing().returning(BankCard.id)).scalar()
    if card_id is None:  # added by a concurrent request a moment ago
        return add_bank_card(uow, actor=actor, person_id=person_id, card_number=card_number, bank_name=bank_name)
    audit.record(uow, actor=actor, action="bank_card.added", entity_type="person", entity_id=person_id,
                 after={"card": mask_bank_card(card)})
    return int(card_id)


def preload(uow: UnitOfWork, *, person_ids: list[int], card_ids: list[int]) -> list[object]:
    """Load many persons and cards at once (for a payment file); the caller keeps the result referenced meanwhile."""
    keep: list[object] = []
    for ids in slices(set(person_ids)):
        keep += uow.session.scalars(select(Person).where(Person.id.in_(ids)))
    for ids in slices(set(card_ids)):
        keep += uow.session.scalars(select(BankCard).where(BankCard.id.in_(ids)))
    return keep


def others_with_card(uow: UnitOfWork, *, card_id: int) -> int:
    """How many other persons have registered the same card number (matched by its keyed hash)."""
    mine = select(BankCard.card_hash, BankCard.person_id).where(BankCard.id == card_id).subquery()
    return int(uow.session.scalar(
        select(func.count(func.distinct(BankCard.person_id)))
        .where(BankCard.card_hash == mine.c.card_hash, BankCard.person_id != mine.c.person_id)) or 0)


def bank_card_number(uow: UnitOfWork, *, card_id: int) -> str:
    """Return a card's clear number, for the bank payment file only."""
    row = uow.session.get(BankCard, card_id)
    if row is None:
        raise NotFound("银行卡不存在 / bank card not found", reason="bank_card.not_found")
    return uow.cipher.decrypt(row.card_enc)


def view_person(uow: UnitOfWork, *, person_id: int, principal: Principal, owner_checked: bool = False) -> PersonView:
    """Show a person masked, or in clear to the roles that check documents and pay, within their scope."""
    # owner_checked: the caller reached the person through an object it already checked the principal may see
    # (an application, a seller, an invoice): that object is the link, so the person's check is not repeated.
    person = uow.session.get(Person, person_id)
    if person is None:
        raise NotFound("人员不存在 / person not found", reason="person.not_found")
    reveal = (principal.kind == "resident" and principal.person_id == person_id) or (
        principal.has_any(REVEAL_ROLES) and (owner_checked or visibility.may_see_person(uow, principal, person_id)))
    if not reveal:
        return PersonView(person.id, person.name_masked, person.id_number_masked, person.phone_masked, False)
    cipher = uow.cipher
    phone = cipher.decrypt(person.phone_enc) if person.phone_enc else None
    return PersonView(person.id, cipher.decrypt(person.name_enc), cipher.decrypt(person.id_number_enc), phone, True)


def get_person(uow: UnitOfWork, *, person_id: int, principal: Principal) -> PersonView:
    """Show a person the caller may see (through an application, sale or certificate in their scope), else 404."""
    visibility.require(visibility.may_see_person(uow, principal, person_id))
    return view_person(uow, person_id=person_id, principal=principal, owner_checked=True)


def person_id_hash(uow: UnitOfWork, *, person_id: int) -> str:
    """Return the keyed hash of a person's ID number, for matching against other records."""
    person = uow.session.get(Person, person_id)
    if person is None:
        raise NotFound("人员不存在 / person not found", reason="person.not_found")
    return person.id_number_hash


def person_phone_hash(uow: UnitOfWork, *, person_id: int) -> str | None:
    """Return the keyed hash of a person's mobile number (None without one), for matching against other records."""
    found: str | None = uow.session.scalar(select(Person.phone_hash).where(Person.id == person_id))
    return found


def bank_card_masked(uow: UnitOfWork, *, card_id: int | None) -> str:
    """Return a card's masked number, or "" when there is no such card."""
    row = uow.session.get(BankCard, card_id) if card_id is not None else None
    return row.card_masked if row else ""


def bank_name(uow: UnitOfWork, *, card_id: int) -> str:
    """Return the bank a card belongs to, as the applicant entered it."""
    row = uow.session.get(BankCard, card_id)
    return row.bank_name if row else ""


def person_phone(uow: UnitOfWork, *, person_id: int) -> str | None:
    """Return a person's clear mobile number, for sending them SMS only."""
    person = uow.session.get(Person, person_id)
    if person is None:
        raise NotFound("人员不存在 / person not found", reason="person.not_found")
    return uow.cipher.decrypt(person.phone_enc) if person.phone_enc else None


def ids_with_id_tail(tail: str) -> Select[int]:
    """Return the query of the persons whose ID number ends in these 4 characters (the masked form keeps them)."""
    pattern = "%" + tail.upper().replace("\\", "").replace("%", "").replace("_", "")
    return select(Person.id).where(Person.id_number_masked.like(pattern))
