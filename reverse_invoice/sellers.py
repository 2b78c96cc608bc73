"""Sellers (natural persons with their own bank card) and their consent to recyclers filing on their behalf."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, select

from reverse_invoice.models import Consent, RecyclerProfile, Seller
from reverse_invoice.recyclers import check_recycler_scope, get_profile
from reverse_invoice.tax_rules import load_tax_rules
from subsidy_app.audit import services as audit
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.identifiers_trade import normalise_bank_card
from subsidy_app.core.personal_data import mask_bank_card
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons, visibility
from subsidy_app.identity.domain import Principal, Role


@dataclass(frozen=True)
class SellerView:
    """A seller as the caller may see them (masked unless their role reveals)."""

    id: int
    person_id: int
    name: str
    id_number: str
    phone: str | None
    bank_card: str
    revealed: bool
    consents: tuple[ConsentView, ...]


@dataclass(frozen=True)
class ConsentView:
    """One recorded consent."""

    recycler_id: int
    text_version: str
    consented_at: dt.datetime


def consent_text() -> tuple[str, str]:
    """Return the current consent text's version and its Chinese wording."""
    rules = load_tax_rules()
    return rules.consent_text_version, rules.consent_text_zh


def register_seller(
    uow: UnitOfWork, *, principal: Principal, name: str, id_number: str, bank_card: str, bank_name: str = "",
    phone: str | None = None,
) -> int:
    """Register a seller (a person, ID checked and encrypted) with their own bank card; return the seller id."""
    person_id = persons.register_person(uow, actor=principal.actor, name=name, id_number=id_number, phone=phone)
    card = normalise_bank_card(bank_card, field="bank_card")
    card_id = persons.add_bank_card(uow, actor=principal.actor, person_id=person_id, card_number=card,
                                    bank_name=bank_name)
    seller = uow.session.scalar(select(Seller).where(Seller.person_id == person_id).with_for_update())
    if seller is not None:
        if seller.bank_card_id != card_id:
            before = seller.card_masked
            seller.bank_card_id, seller.card_masked = card_id, mask_bank_card(card)
            audit.record(uow, actor=principal.actor, action="reverse_invoice.seller_card_changed",
                         entity_type="ri_seller", entity_id=seller.id, before={"card": before},
                         after={"card": seller.card_masked})
        return seller.id
    seller = Seller(person_id=person_id, bank_card_id=card_id, card_masked=mask_bank_card(card),
                    created_by=principal.actor)
    uow.session.add(seller)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="reverse_invoice.seller_registered", entity_type="ri_seller",
                 entity_id=seller.id, after={"person_id": person_id, "card": seller.card_masked})
    return seller.id


def get_seller(uow: UnitOfWork, seller_id: int, *, lock: bool = False) -> Seller:
    """Return a seller row (locked FOR UPDATE to serialise their invoices across recyclers)."""
    seller = uow.session.get(Seller, seller_id, with_for_update=lock or None, populate_existing=lock)
    if seller is None:
        raise NotFound("售卖人不存在 / seller not found", reason="seller.not_found")
    return seller


def record_consent(
    uow: UnitOfWork, *, principal: Principal, seller_id: int, recycler_id: int, text_version: str, agreed: bool,
) -> ConsentView:
    """Record the seller's consent to the recycler filing taxes on their behalf, with the text version shown."""
    profile = get_profile(uow, recycler_id)
    check_recycler_scope(principal, recycler_id=recycler_id, county_code=profile.county_code, write=True)
    version, text = consent_text()
    if not agreed:
        raise ValidationFailed.field("agreed", "售卖人须明确同意代办税费 / the seller must agree",
                                     reason="seller.no_consent")
    if text_version != version:
        raise ValidationFailed.field("text_version", f"授权书版本已更新为 {version} / consent text is now {version}",
                                     reason="seller.consent_outdated")
    get_seller(uow, seller_id)
    existing = uow.session.scalar(select(Consent).where(Consent.seller_id == seller_id,
                                                        Consent.recycler_id == recycler_id))
    if existing is not None:
        if existing.text_version == version:
            return ConsentView(recycler_id, existing.text_version, existing.consented_at)
        existing.text_version = version
        existing.text_hash = hashlib.sha256(text.encode()).hexdigest()
        existing.recorded_by = principal.actor
        row = existing
    else:
        row = Consent(seller_id=seller_id, recycler_id=recycler_id, text_version=version,
                      text_hash=hashlib.sha256(text.encode()).hexdigest(), recorded_by=principal.actor)
        uow.session.add(row)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="reverse_invoice.consent_recorded", entity_type="ri_seller",
                 entity_id=seller_id, after={"recycler_id": recycler_id, "text_version": version})
    return ConsentView(recycler_id, row.text_version, row.consented_at)


def record_consent_in_person(
    uow: UnitOfWork, *, principal: Principal, seller_id: int, recycler_id: int, text_version: str, agreed: bool,
    id_number: str | None = None,
) -> ConsentView:
    """Record a consent through the API: the seller must already be the caller's, or be named by their ID number."""
    # A seller id alone proves nothing: without this a clerk could link any seller to their recycler by
    # counting ids and then read them. The ID number shows the seller (or their card) is in front of the clerk,
    # as registration does; a wrong one looks exactly like an unknown seller.
    named = bool(id_number) and persons.find_person_id(uow, id_number=id_number or "") == get_seller(
        uow, seller_id).person_id
    if not (may_see_seller(uow, principal, seller_id) or named):
        raise NotFound("售卖人不存在,或身份证号与售卖人不符 / seller not found, or the ID number does not match",
                       reason="seller.not_found")
    return record_consent(uow, principal=principal, seller_id=seller_id, recycler_id=recycler_id,
                          text_version=text_version, agreed=agreed)


def require_consent(uow: UnitOfWork, *, seller_id: int, recycler_id: int) -> None:
    """Refuse when the seller has not consented to this recycler filing on their behalf."""
    if not uow.session.scalar(select(has_consented(seller_id, recycler_id))):
        raise no_consent()


def has_consented(seller_id: Any, recycler_id: Any) -> ColumnElement[bool]:
    """An SQL test for "the seller consented to this recycler filing on their behalf"."""
    return select(Consent.id).where(Consent.seller_id == seller_id, Consent.recycler_id == recycler_id).exists()


def no_consent() -> Conflict:
    """The refusal when a seller has not consented."""
    return Conflict("售卖人尚未授权本企业代办税费 / the seller has not consented to this recycler filing on "
                    "their behalf", reason="seller.no_consent")


def lock_seller(uow: UnitOfWork, seller_id: int) -> None:
    """Lock a seller's row until commit: it serialises their invoices across recyclers."""
    if uow.session.scalar(select(Seller.id).where(Seller.id == seller_id).with_for_update()) is None:
        raise NotFound("售卖人不存在 / seller not found", reason="seller.not_found")


def may_see_seller(uow: UnitOfWork, principal: Principal, seller_id: int) -> bool:
    """Tell whether the caller may see a seller: through a consent to a recycler whose data they may see."""
    recyclers = uow.session.scalars(select(Consent.recycler_id).where(Consent.seller_id == seller_id))
    if Role.RECYCLER_CLERK in principal.roles:
        return principal.organisation_id in set(recyclers)
    return principal.kind == "staff" and principal.organisation_kind not in visibility.ORG_BOUND and (
        principal.all_counties or any(principal.covers_county(get_profile(uow, r).county_code) for r in recyclers))


def view_seller(uow: UnitOfWork, *, principal: Principal, seller_id: int, registered: bool = False) -> SellerView:
    """Show a seller the caller may see: masked for clerks, in clear for the roles that check documents."""
    # registered: the clerk has just registered the seller by name, ID number and card, which shows them the
    # seller (masked, with their own consents) before any consent links the seller to their recycler.
    seller = get_seller(uow, seller_id)
    visible = may_see_seller(uow, principal, seller_id)
    if not (visible or registered):
        raise NotFound("售卖人不存在 / seller not found", reason="seller.not_found")
    rows = list(uow.session.scalars(select(Consent).where(Consent.seller_id == seller_id).order_by(Consent.id)))
    if Role.RECYCLER_CLERK in principal.roles:
        rows = [c for c in rows if c.recycler_id == principal.organisation_id]
    consents = tuple(ConsentView(c.recycler_id, c.text_version, c.consented_at) for c in rows)
    person = persons.view_person(uow, person_id=seller.person_id, principal=principal, owner_checked=visible)
    card = persons.bank_card_number(uow, card_id=seller.bank_card_id) if person.revealed else seller.card_masked
    return SellerView(seller.id, seller.person_id, person.name, person.id_number, person.phone, card,
                      person.revealed, consents)


def _person_through_seller(uow: UnitOfWork, principal: Principal, person: visibility.PersonRef) -> bool:
    seller_id = uow.session.scalar(select(Seller.id).where(Seller.person_id == person.id))
    return seller_id is not None and may_see_seller(uow, principal, seller_id)


visibility.link_person("reverse_invoice.seller", _person_through_seller)


@dataclass(frozen=True)
class SellerRow:
    """A seller in a list, as the caller may see them."""

    id: int
    name: str
    id_number: str
    bank_card: str
    consented_at: dt.datetime


def enrol_seller(
    uow: UnitOfWork, *, principal: Principal, recycler_id: int, name: str, id_number: str, bank_card: str,
    text_version: str, agreed: bool, bank_name: str = "", phone: str | None = None,
) -> int:
    """Register (or find by ID number) a seller and record their consent to the clerk's recycler; return the id."""
    # One step: the consent goes to the seller the clerk has just identified by name, ID number and card, so
    # no page ever takes a seller id from the browser to attach a consent to.
    if not agreed:
        raise ValidationFailed.field("agreed", "售卖人须明确同意代办税费 / the seller must agree",
                                     reason="seller.no_consent")
    seller_id = register_seller(uow, principal=principal, name=name, id_number=id_number, bank_card=bank_card,
                                bank_name=bank_name, phone=phone)
    record_consent(uow, principal=principal, seller_id=seller_id, recycler_id=recycler_id,
                   text_version=text_version, agreed=agreed)
    return seller_id


def _visible_consents(principal: Principal) -> Any:
    """The consents through which the caller sees sellers: their own recycler's, or their counties' recyclers'."""
    query = select(Consent.seller_id, func.min(Consent.consented_at).label("consented_at"))
    if Role.RECYCLER_CLERK in principal.roles:
        query = query.where(Consent.recycler_id == principal.organisation_id)
    elif principal.kind != "staff" or principal.organisation_kind in visibility.ORG_BOUND:
        query = query.where(false())
    elif not principal.all_counties:
        query = query.join(RecyclerProfile, RecyclerProfile.organisation_id == Consent.recycler_id).where(
            RecyclerProfile.county_code.in_(principal.counties))
    return query.group_by(Consent.seller_id)


def find_seller(uow: UnitOfWork, *, principal: Principal, id_number: str) -> int:
    """Find a seller the caller may see by their ID number; return the seller id."""
    person_id = persons.find_person_id(uow, id_number=id_number)
    seller_id = None if person_id is None else uow.session.scalar(
        select(Seller.id).where(Seller.person_id == person_id))
    if seller_id is None or not may_see_seller(uow, principal, seller_id):
        raise ValidationFailed.field("id_number", "未找到该身份证号的售卖人(须已授权本企业)/ no seller with this "
                                     "ID number in your scope", reason="seller.not_found")
    return seller_id


def list_sellers(uow: UnitOfWork, *, principal: Principal, offset: int = 0, limit: int = 50
                 ) -> tuple[list[SellerRow], int]:
    """List the sellers the caller sees (newest consent first), one page, with the total count."""
    visible = _visible_consents(principal).subquery()
    total = int(uow.session.scalar(select(func.count()).select_from(visible)) or 0)
    rows = uow.session.execute(select(visible.c.seller_id, visible.c.consented_at)
                               .order_by(visible.c.consented_at.desc(), visible.c.seller_id.desc())
                               .offset(offset).limit(limit)).all()
    shown = []
    for seller_id, consented_at in rows:
        view = view_seller(uow, principal=principal, seller_id=seller_id)
        shown.append(SellerRow(seller_id, view.name, view.id_number, view.bank_card, consented_at))
    return shown, total
