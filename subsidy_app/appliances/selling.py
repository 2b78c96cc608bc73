"""Subsidised sales at the till: evaluate, then hold the buyer's quota and the budget; the database decides races."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from recycling import closed_loop
from subsidy_app.appliances import claims, fraud, participation, settlement, signal_tally
from subsidy_app.appliances.buyer import Buyer
from subsidy_app.appliances.domain import FraudThresholds, SaleMode, SaleState, programme_of, recycling_category
from subsidy_app.appliances.models import ApplianceSale, Product, SerialReport, Store
from subsidy_app.appliances.visibility import may_see_sale
from subsidy_app.audit import services as audit
from subsidy_app.core import constraints
from subsidy_app.core.clock import business_date, instant_on
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from subsidy_app.core.identifiers_trade import check_invoice_number, normalise_gtin13, normalise_imei
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal, Role
from subsidy_app.rules import budget, instant_budget, quotas
from subsidy_app.rules.domain import Decision, Facts
from subsidy_app.rules.evaluator import evaluate, select_version
from subsidy_app.rules.ruleset import RuleVersion

_SERIAL = re.compile(r"[A-Z0-9\-/]{4,40}")
HAND_IN_DOCUMENT = "old_item_collection_record"  # the version lists it when the old item must be handed in


@dataclass(frozen=True)
class SaleInput:
    """What the till (or a bulk file row) sends about one sale."""

    store_id: int
    gtin: str
    serial_number: str
    price: Decimal
    invoice_number: str
    invoice_code: str | None = None
    sold_on: dt.date | None = None
    delivery_address: str | None = None


@dataclass(frozen=True)
class Reason:
    """Why a sale gets no subsidy, in both languages."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class SaleOutcome:
    """The till's answer: the subsidy to deduct (0 with reasons when none)."""

    eligible: bool
    amount: Decimal
    programme: str | None
    category: str | None
    version_code: str | None
    reasons: list[Reason] = field(default_factory=list)
    sale_id: int | None = None
    number: str | None = None
    apply_code: str | None = None
    hand_in_required: bool = False


@dataclass(frozen=True)
class Checked:
    """A sale's identifiers validated and its decision taken, before anything is held."""

    store: Store
    product: Product
    serial_key: str
    invoice_key: str
    sold_on: dt.date
    decision: Decision


def _serial(category: str, raw: str) -> str:
    if category == "phone":  # DOMAIN.md §2: phones by a 15-digit IMEI with a Luhn check
        return normalise_imei(raw, field="serial_number")
    text = "".join(raw.split()).upper()
    if not _SERIAL.fullmatch(text):
        raise ValidationFailed.field("serial_number", "序列号应为 4–40 位字母数字 / serial number must be 4–40 "
                                                      "letters or digits", reason="identifier.serial.format")
    return text


# Built once: every sale looks both up.
_PRODUCT = select(Product).where(Product.gtin == bindparam("gtin"))
_STORE = select(Store).where(Store.id == bindparam("store_id"))


def _store(uow: UnitOfWork, principal: Principal, store_id: int) -> Store:
    store = uow.session.scalar(_STORE, {"store_id": store_id})
    if store is None or principal.organisation_kind is not OrgKind.DEALER or \
            store.dealer_org_id != principal.organisation_id:
        raise NotFound("门店不存在 / store not found", reason="store.not_found")
    return store


def _no(reason: str, zh: str, en: str, *, programme: str | None = None, category: str | None = None
        ) -> SaleOutcome:
    return SaleOutcome(False, Decimal("0.00"), programme, category, None, [Reason(reason, zh, en)])


def check(uow: UnitOfWork, *, principal: Principal, versions: tuple[RuleVersion, ...], data: SaleInput
          ) -> Checked | SaleOutcome:
    """Validate a sale and evaluate it; a SaleOutcome means no subsidy (and says why)."""
    store = _store(uow, principal, data.store_id)
    gtin = normalise_gtin13(data.gtin, field="gtin")
    invoice = check_invoice_number(data.invoice_number, data.invoice_code)
    if data.price <= 0 or data.price.quantize(Decimal("0.01")) != data.price:
        raise ValidationFailed.field("price", "价格应为正数,最多两位小数 / price must be positive with at most 2 "
                                              "decimals", reason="sale.price")
    sold_on = data.sold_on or business_date()
    if sold_on > business_date():  # the till's today is a Beijing date, as for a filed sale (bulk_rows)
        raise ValidationFailed.field("sold_on", "销售日期不能晚于今天 / sold_on is in the future", reason="sale.date")
    product = uow.session.scalar(_PRODUCT, {"gtin": gtin})
    if product is None or not product.active:
        return _no("product.not_in_catalogue", "该商品不在补贴产品目录中,不享受补贴",
                   "the product is not in the subsidy catalogue: no subsidy")
    serial_key = _serial(product.category, data.serial_number)
    programme = programme_of(product.category)
    version = select_version(versions, programme or "", product.category, sold_on)
    if version is None:
        return _no("rules.no_version", f"{sold_on} 没有覆盖该品类的补贴政策,不享受补贴",
                   f"no rule version covers {product.category} on {sold_on}: no subsidy",
                   programme=programme, category=product.category)
    grade = product.energy_grade if product.energy_grade is not None else product.water_grade
    decision = evaluate(version, Facts(programme=version.programme.value, purchase_date=sold_on, price=data.price,
                                       category=product.category, energy_grade=grade))
    if not decision.eligible:
        return SaleOutcome(False, Decimal("0.00"), programme, product.category, version.code,
                           [Reason(f"rule.{c.clause}", c.explanation_zh, c.explanation_en) for c in decision.failed])
    return Checked(store, product, serial_key, invoice.key, sold_on, decision)


class SerialTaken(Conflict):
    """The serial number or IMEI already funds a subsidy; carries it so the caller can note a second dealer."""

    def __init__(self, serial_key: str, dealer_org_id: int) -> None:
        super().__init__("该序列号/IMEI 已享受过补贴 / this serial number or IMEI already funded a subsidy",
                         reason="device.already_subsidised")
        self.serial_key, self.dealer_org_id = serial_key, dealer_org_id


def _conflict(exc: IntegrityError, serial_key: str, dealer_org_id: int) -> Conflict:
    if constraints.constraint_name(exc) == "uq_appliance_sale_serial_live":
        return SerialTaken(serial_key, dealer_org_id)
    error = constraints.error_for(exc)
    assert isinstance(error, Conflict)  # the sale's unique indexes all mean a clash with an existing sale
    return error


def note_serial_clash(uow: UnitOfWork, *, serial_key: str, dealer_org_id: int) -> None:
    """Record, in its own transaction, that a dealer reported a serial number another sale holds."""
    with uow.session_factory() as session, session.begin():
        holder = session.scalar(select(ApplianceSale.dealer_org_id).where(
            ApplianceSale.serial_key == serial_key, ApplianceSale.state != SaleState.RETURNED.value))
        known = session.scalar(select(SerialReport.id).where(SerialReport.serial_key == serial_key,
                                                             SerialReport.dealer_org_id == dealer_org_id))
        if holder is not None and holder != dealer_org_id and known is None:
            session.add(SerialReport(serial_key=serial_key, dealer_org_id=dealer_org_id))
            flagged = fraud.flag_serial_holder(session, serial_key=serial_key, reporting_dealer_id=dealer_org_id)
            if flagged is not None:  # already on a dealer statement: its reviewers must see it too
                settlement.note_late_signal(session, sale_id=flagged, code=fraud.SERIAL_CODE)


def record(uow: UnitOfWork, *, principal: Principal, checked: Checked, buyer: Buyer | None, mode: SaleMode,
           price: Decimal, delivery_address: str | None = None, upload_id: int | None = None,
           limits: FraudThresholds | None = None) -> SaleOutcome:
    """Insert the sale (unique serial and invoice) with its fraud signals, hold quota and budget when instant."""
    store, product, decision = checked.store, checked.product, checked.decision
    participation.require_approved(uow, dealer_org_id=store.dealer_org_id, store_id=store.id,
                                   category=product.category)
    number = f"AS{checked.sold_on:%y%m%d}{secrets.token_hex(6).upper()}"
    instant = mode is SaleMode.INSTANT
    if instant and buyer is None:
        raise ValidationFailed.field("buyer", "立减须核验购买人身份 / an instant discount needs a verified buyer",
                                     reason="buyer.required")
    programme = programme_of(product.category) or ""
    # Only a sale keyed in at the till today has a real time of day; a back-dated or filed one gets the clock's,
    # on its own Beijing date (the date picks the rule version, the quota period and the statement).
    now = utcnow()
    time_known = checked.sold_on == business_date(now) and upload_id is None
    sold_at = instant_on(checked.sold_on, now)
    phone_hash = buyer.phone_hash if buyer else None
    address_hash = uow.cipher.match_hash(" ".join(delivery_address.split())) if delivery_address else None
    signals = fraud.sale_signals(
        uow, store=store, product=product, price=price, serial_key=checked.serial_key,
        person_id=buyer.person_id if buyer else None, phone_hash=phone_hash, address_hash=address_hash,
        sold_at=sold_at, time_known=time_known, limits=limits or FraudThresholds())
    sale = ApplianceSale(
        number=number, mode=mode.value, state=(SaleState.GRANTED if instant else SaleState.CLAIMABLE).value,
        dealer_org_id=store.dealer_org_id, store_id=store.id, county_code=store.county_code,
        person_id=buyer.person_id if buyer else None, programme=programme, category=product.category,
        gtin=product.gtin, serial_key=checked.serial_key, invoice_key=checked.invoice_key, price=price,
        amount=decision.amount, version_code=decision.version_code, phone_hash=phone_hash,
        address_hash=address_hash, apply_code=secrets.token_hex(16), signals=signals, upload_id=upload_id,
        created_by=principal.actor, sold_at=sold_at,
    )
    uow.session.add(sale)
    dealer_org_id = store.dealer_org_id  # read before the flush: a failed flush expires every row
    try:
        uow.flush()  # the partial unique indexes decide races for the serial number and the invoice
    except IntegrityError as exc:
        raise _conflict(exc, checked.serial_key, dealer_org_id) from None
    signal_tally.move(uow, county_code=store.county_code, sold_at=sold_at, before=set(),
                      after=signal_tally.codes(signals))
    if instant and buyer is not None:
        if decision.quota is not None:
            # Granted at once: the unit is taken already confirmed, under the sale's brand-new number.
            quotas.hold_quota(uow, person_id=buyer.person_id, key=decision.quota, reference=number,
                              actor=principal.actor, confirmed=True, fresh=True)
        # Taken as the transaction commits, refused (budget.exhausted) rather than queued: the till can't wait.
        instant_budget.reserve_at_commit(uow, actor=principal.actor, programme=programme,
                                         county_code=store.county_code, reference=number,
                                         amount=decision.amount, submitted_at=sale.sold_at)
    hand_in = any(d.code == HAND_IN_DOCUMENT for d in decision.required_documents)
    if hand_in:
        closed_loop.register_hand_in_obligation(
            uow, trade_in_ref=number, kind="appliance", dealer_org_id=store.dealer_org_id,
            county_code=store.county_code, category=recycling_category(product.category),
            occurred_on=checked.sold_on, actor=principal.actor, fresh=True)
    audit.record(uow, actor=principal.actor, action=f"appliance_sale.{mode.value}", entity_type="appliance_sale",
                 entity_id=sale.id, after={"number": number, "amount": str(decision.amount), "gtin": product.gtin,
                                           "signals": [signal["code"] for signal in signals]})
    return SaleOutcome(True, decision.amount, programme, product.category, decision.version_code, [], sale.id,
                       number, sale.apply_code, hand_in)


def sell(uow: UnitOfWork, *, principal: Principal, versions: tuple[RuleVersion, ...], data: SaleInput,
         buyer: Buyer | None, mode: SaleMode = SaleMode.INSTANT, limits: FraudThresholds | None = None
         ) -> SaleOutcome:
    """Evaluate a sale and, when it earns a subsidy, record it (flagged, never refused, by `limits`)."""
    checked = check(uow, principal=principal, versions=versions, data=data)
    if isinstance(checked, SaleOutcome):
        return checked
    return record(uow, principal=principal, checked=checked, buyer=buyer, mode=mode, price=data.price,
                  delivery_address=data.delivery_address, limits=limits)


def quote(uow: UnitOfWork, *, principal: Principal, versions: tuple[RuleVersion, ...], data: SaleInput
          ) -> SaleOutcome:
    """Tell the till the subsidy a sale would earn, holding nothing (shown before the buyer is verified)."""
    checked = check(uow, principal=principal, versions=versions, data=data)
    if isinstance(checked, SaleOutcome):
        return checked
    participation.require_approved(uow, dealer_org_id=checked.store.dealer_org_id, store_id=checked.store.id,
                                   category=checked.product.category)
    return SaleOutcome(True, checked.decision.amount, programme_of(checked.product.category),
                       checked.product.category, checked.decision.version_code)


def _own_sale(uow: UnitOfWork, principal: Principal, sale_id: int) -> ApplianceSale:
    sale = uow.session.scalar(select(ApplianceSale).where(ApplianceSale.id == sale_id).with_for_update())
    if sale is None or not may_see_sale(principal, sale):
        raise NotFound("销售记录不存在 / sale not found", reason="sale.not_found")
    return sale


def return_sale(uow: UnitOfWork, *, principal: Principal, sale_id: int, reason: str) -> str:
    """Record a return: the subsidy is clawed back from the dealer, the buyer's quota stays used (DOMAIN.md §2)."""
    if not reason.strip():
        raise ValidationFailed.field("reason", "请填写退货原因 / a reason is required")
    sale = _own_sale(uow, principal, sale_id)
    if sale.state == SaleState.RETURNED:
        return sale.state
    # A claim the bureau rejected (or the resident withdrew) leaves the sale marked claimed but holds nothing.
    if sale.state == SaleState.CLAIMED and claims.has_live_claim(uow, sale_id=sale.id):
        raise Conflict("已有补贴申请,请先由审核部门撤销 / an application exists: the bureau must revoke it first",
                       reason="sale.claimed")
    before = sale.state
    if sale.mode == SaleMode.INSTANT:
        if sale.state == SaleState.GRANTED:
            # Not yet on a statement: the reservation simply goes back to the pool.
            budget.release(uow, actor=principal.actor, reference=sale.number, reason=f"退货 / return: {reason}")
        # On a statement already: the next statement of this dealer deducts it (see settlement).
        quotas.mark_refunded(uow, reference=sale.number, actor=principal.actor)
    sale.state, sale.returned_at = SaleState.RETURNED.value, utcnow()
    # The trade-in is undone: no old item is owed to a recycler any more (one already handed in stays counted).
    closed_loop.void_obligation(uow, trade_in_ref=sale.number, actor=principal.actor, reason=f"退货 / return: {reason}")
    audit.record(uow, actor=principal.actor, action="appliance_sale.returned", entity_type="appliance_sale",
                 entity_id=sale.id, before={"state": before},
                 after={"state": sale.state, "reason": reason.strip()[:300], "clawback": str(sale.amount)})
    return sale.state


REVOKERS = frozenset({Role.SENIOR_AUDITOR, Role.ADMIN})  # as applications.review revokes an application


def revoke_sale(uow: UnitOfWork, *, principal: Principal, sale_id: int, reason: str) -> str:
    """Revoke an instant sale a spot check found false: clawed back once by the dealer's next statement."""
    if not reason.strip():
        raise ValidationFailed.field("reason", "请填写撤销原因 / a reason is required")
    if not principal.has_any(REVOKERS):
        raise Forbidden("撤销须由复核员或管理员操作 / revocation needs a senior auditor or an admin")
    sale = _own_sale(uow, principal, sale_id)  # locked: a return, a statement and a revocation queue up
    if sale.mode != SaleMode.INSTANT or sale.state not in (SaleState.GRANTED, SaleState.SETTLING):
        raise Conflict("该销售不能撤销(已退货、已撤销或非立减)/ this sale cannot be revoked",
                       reason="sale.not_revocable")
    before = sale.state
    if sale.state == SaleState.GRANTED:
        # Not on any statement yet: it leaves the pool now and never goes on one (settlement skips revoked sales).
        budget.release(uow, actor=principal.actor, reference=sale.number, reason=f"抽查撤销 / spot check: {reason}")
    # On a statement already: the dealer's next statement deducts it, once (settlement._CLAWED_BACK).
    sale.state = SaleState.REVOKED.value
    # A trade-in found false owes no old item to a recycler (one already handed in stays counted).
    closed_loop.void_obligation(uow, trade_in_ref=sale.number, actor=principal.actor,
                                reason=f"抽查撤销 / spot check: {reason}")
    audit.record(uow, actor=principal.actor, action="appliance_sale.revoked", entity_type="appliance_sale",
                 entity_id=sale.id, before={"state": before},
                 after={"state": sale.state, "reason": reason.strip()[:300], "clawback": str(sale.amount),
                        "statement_id": sale.statement_id})
    return sale.state


def record_pickup(uow: UnitOfWork, *, principal: Principal, sale_id: int, picked_up_on: dt.date) -> None:
    """The dealer collected the old appliance (送新收旧); the recovery work matches it to a recycler's intake."""
    sale = _own_sale(uow, principal, sale_id)
    closed_loop.record_pickup_date(uow, actor=principal.actor, dealer_org_id=sale.dealer_org_id,
                                   trade_in_ref=sale.number, picked_up_on=picked_up_on)
