"""Claims after purchase: a resident turns a receipt's claim-mode sale into an application, once per sale."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, or_, select

from subsidy_app.appliances import fraud, signal_tally
from subsidy_app.appliances.domain import CATEGORY_ZH, FraudThresholds, SaleMode, SaleState
from subsidy_app.appliances.models import ApplianceSale, Product, Store
from subsidy_app.applications import queries
from subsidy_app.applications.checks import card_check
from subsidy_app.applications.domain import CheckResult
from subsidy_app.applications.services import (
    FirstRun,
    Kind,
    Opening,
    Submitted,
    WithFacts,
    WithSale,
    open_application,
    register_kind,
)
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict, FieldErrors, NotFound
from subsidy_app.core.identifiers_trade import normalise_bank_card
from subsidy_app.core.numbers import money_str
from subsidy_app.core.personal_data import mask_middle
from subsidy_app.core.text import checked_text
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import organisations, persons
from subsidy_app.rules.domain import Decision, Facts
from subsidy_app.rules.evaluator import evaluate
from subsidy_app.rules.ruleset import RuleVersion

SYSTEM = "system:appliance-claims"
CLAIM = "appliance_claim"
# Like a till sale, a claim takes its place in the budget pool at once; the system runs its checks inline.


def _purchase(uow: UnitOfWork, app: WithFacts) -> list[tuple[str, str]]:
    """The reviewer's rows of a claim: the product, the store, the serial number or IMEI, the invoice and price."""
    row = uow.session.execute(
        select(ApplianceSale, Store.name, Store.address, Product.brand, Product.model)
        .join(Store, Store.id == ApplianceSale.store_id)
        .outerjoin(Product, Product.gtin == ApplianceSale.gtin)
        .where(ApplianceSale.number == app.facts.get("sale_number"))).first()
    if row is None:
        return []
    sale, store_name, store_address, brand, model = row
    dealer_name = organisations.organisation_names(uow, [sale.dealer_org_id]).get(sale.dealer_org_id, "")
    product = " ".join(part for part in (brand, model) if part)
    return [
        ("商品", f"{CATEGORY_ZH.get(sale.category, sale.category)} · {product or '—'}(商品条码 {sale.gtin})"),
        ("门店", f"{dealer_name} · {store_name}({store_address})"),
        ("序列号/IMEI", sale.serial_key), ("发票号码", sale.invoice_key), ("售价", f"{money_str(sale.price)} 元"),
        ("销售单号", sale.number), ("购买日期", str(app.facts.get("sold_on", "—"))),
    ]


def _sales_matching(term: str) -> Select[int] | None:
    """The work queue's search: the sales whose serial number, IMEI or invoice key is the term (as stored)."""
    key = "".join(term.split()).upper()
    if not key:
        return None
    return select(ApplianceSale.id).where(or_(ApplianceSale.serial_key == key, ApplianceSale.invoice_key == key))


def _release_sale(uow: UnitOfWork, app: WithSale) -> None:
    """A refused, withdrawn or revoked claim gives its sale back: claimable again by a new claim (issue 16 §4)."""
    sale = uow.session.scalar(select(ApplianceSale).where(ApplianceSale.id == app.appliance_sale_id)
                              .with_for_update())
    if sale is not None and sale.state == SaleState.CLAIMED.value:
        sale.state = SaleState.CLAIMABLE.value


def _reclaim_sale(uow: UnitOfWork, app: WithSale) -> None:
    """An appeal reopening a refused claim takes its sale back; 409 when it is returned or claimed anew."""
    sale = uow.session.scalar(select(ApplianceSale).where(ApplianceSale.id == app.appliance_sale_id)
                              .with_for_update())
    if sale is None:
        return
    if sale.state != SaleState.CLAIMABLE.value:
        raise Conflict("该笔销售已退货或已被其他申请使用,不能复审 / the sale was returned or claimed again meanwhile",
                       reason="sale.already_claimed")
    sale.state = SaleState.CLAIMED.value


register_kind(Kind(CLAIM, prefix="QA", reserve_on_open=True, checks_actor=SYSTEM, subject=_purchase,
                   search_sales=_sales_matching, categories=tuple(CATEGORY_ZH.items()),
                   on_release=_release_sale, on_reclaim=_reclaim_sale))
# The salt api_sales.receipt_url signs receipt QR tokens with; web pages may not import the API layer to read it
# (a test holds the two equal).
RECEIPT_PURPOSE = "appliance-receipt"


@dataclass(frozen=True)
class ReceiptView:
    """A receipt's sale as the resident sees it: no buyer data, the serial number masked."""

    sale_id: int
    number: str
    dealer_name: str
    store_name: str
    store_address: str
    category: str
    brand: str
    model: str
    price: Decimal
    amount: Decimal
    sold_on: dt.date
    serial_masked: str
    claimable: bool
    why_not: str | None  # Chinese and English, when the sale cannot be claimed
    claimant_id: int | None = None  # the person whose live application holds the sale
    claim_status_code: str | None = None


def _why_not(sale: ApplianceSale) -> str | None:
    if sale.mode != SaleMode.CLAIM.value:
        return "该笔销售已在收银台立减,不能再申请补贴 / this sale got an instant discount: it cannot be claimed"
    if sale.state == SaleState.RETURNED.value:
        return "该商品已退货,不能申请补贴 / the item was returned: no subsidy"
    return None


def receipt(uow: UnitOfWork, *, apply_code: str) -> ReceiptView:
    """Return the sale a receipt's QR code names, for its claim page."""
    row = uow.session.execute(
        select(ApplianceSale, Store.name, Store.address, Product.brand, Product.model)
        .join(Store, Store.id == ApplianceSale.store_id)
        .outerjoin(Product, Product.gtin == ApplianceSale.gtin)
        .where(ApplianceSale.apply_code == apply_code)).first()
    if row is None:
        raise NotFound("二维码对应的销售记录不存在 / no sale for this QR code", reason="sale.not_found")
    sale, store_name, store_address, brand, model = row
    dealer_name = organisations.organisation_name(uow, sale.dealer_org_id) or ""
    why = _why_not(sale)
    live = queries.live_claim_of_sale(uow, appliance_sale_id=sale.id)
    if why is None and live is not None:
        why = "该笔销售已申请过补贴,可扫描申请回执二维码查看进度 / this sale has already been claimed"
    return ReceiptView(sale.id, sale.number, dealer_name, store_name, store_address, sale.category, brand or "",
                       model or "", sale.price, sale.amount, business_date(sale.sold_at),
                       mask_middle(sale.serial_key, 2, 4), why is None, why, live[0] if live else None,
                       live[1] if live else None)


def has_live_claim(uow: UnitOfWork, *, sale_id: int) -> bool:
    """Tell whether an application not yet rejected, withdrawn or revoked claims this sale."""
    return queries.live_claim_of_sale(uow, appliance_sale_id=sale_id) is not None


def live_claim(uow: UnitOfWork, *, sale_id: int, person_id: int) -> str | None:
    """Return the status code of this person's live application for a sale (a repeated submit finds it)."""
    return queries.live_claim_code(uow, appliance_sale_id=sale_id, person_id=person_id)


@dataclass(frozen=True)
class ClaimInput:
    """What the resident entered on the claim form."""

    bank_card_number: str
    bank_name: str
    consent: bool


def _locked_sale(uow: UnitOfWork, apply_code: str) -> ApplianceSale:
    # The lock serialises a claim with the dealer's return of the same sale (selling.return_sale locks it too).
    sale = uow.session.scalar(select(ApplianceSale).where(ApplianceSale.apply_code == apply_code).with_for_update())
    if sale is None:
        raise NotFound("二维码对应的销售记录不存在 / no sale for this QR code", reason="sale.not_found")
    why = _why_not(sale)
    if why is not None:
        reason = "sale.instant" if sale.mode != SaleMode.CLAIM.value else "sale.returned"
        raise Conflict(why, reason=reason)
    return sale


def _decide(uow: UnitOfWork, sale: ApplianceSale, versions: tuple[RuleVersion, ...]) -> Decision:
    """Evaluate the purchase again under the version the till decided it with (same evaluator, same rules)."""
    version = next((v for v in versions if v.code == sale.version_code), None)
    product = uow.session.scalar(select(Product).where(Product.gtin == sale.gtin))
    if version is None or product is None:
        raise Conflict("该销售的补贴政策或商品已不可用 / the sale's rule version or product is gone",
                       reason="claim.not_eligible")
    grade = product.energy_grade if product.energy_grade is not None else product.water_grade
    decision = evaluate(version, Facts(programme=version.programme.value, purchase_date=business_date(sale.sold_at),
                                       price=sale.price, category=sale.category, energy_grade=grade,
                                       applied_on=business_date()))
    if not decision.eligible:
        why = ";".join(c.explanation_zh for c in decision.failed)
        raise Conflict(f"不符合补贴条件:{why} / not eligible: "
                       + "; ".join(c.explanation_en for c in decision.failed), reason="claim.not_eligible")
    return decision


def _signals(uow: UnitOfWork, sale: ApplianceSale, person_id: int, limits: FraudThresholds) -> list[dict[str, Any]]:
    """Add the buyer-based signals the till could not compute for a sale without a buyer."""
    store = uow.session.get(Store, sale.store_id)
    product = uow.session.scalar(select(Product).where(Product.gtin == sale.gtin))
    assert store is not None and product is not None
    phone_hash = persons.person_phone_hash(uow, person_id=person_id)
    # Run before the sale names its buyer, so it counts itself once; the address was counted at the till.
    found = fraud.sale_signals(uow, store=store, product=product, price=sale.price, serial_key=sale.serial_key,
                               person_id=person_id, phone_hash=phone_hash, address_hash=None,
                               sold_at=sale.sold_at, time_known=False, limits=limits)
    known = {s.get("code") for s in sale.signals}
    merged = list(sale.signals) + [s for s in found if s.get("code") not in known]
    signal_tally.move(uow, county_code=sale.county_code, sold_at=sale.sold_at, before=signal_tally.codes(sale.signals),
                      after=signal_tally.codes(merged))
    sale.person_id, sale.phone_hash, sale.signals = person_id, phone_hash, merged
    return merged


def _first_run(uow: UnitOfWork, card_id: int, decision: Decision, signals: list[dict[str, Any]]) -> FirstRun:
    """Every rule clause and each fraud signal, and the payee card: the application's first run of checks."""
    checks = [CheckResult(f"rule.{c.clause}", c.passed, c.explanation_zh, c.explanation_en)
              for c in decision.conditions]
    # Checks are readable by the resident: evidence naming a dealer stays in the bureau's view of the sale.
    for index, signal in enumerate(fraud.for_viewer(signals, bureau=False)):
        evidence = ", ".join(f"{k}={v}" for k, v in signal.get("evidence", {}).items())
        checks.append(CheckResult(f"{signal['code']}:{index}", False, str(signal["detail_zh"]),
                                  f"{signal['code']} ({evidence})"))
    card = card_check(uow, card_id=card_id)  # a card another resident named is for the reviewer to see
    checks.append(card)
    # A flagged sale or a shared card needs a second reviewer, as on dealer statements.
    return FirstRun(checks, second_review=bool(signals) or not card.passed)


def claim(uow: UnitOfWork, *, apply_code: str, person_id: int, data: ClaimInput, versions: tuple[RuleVersion, ...],
          limits: FraudThresholds, actor: str) -> Submitted:
    """Apply for a claim-mode sale: quota held, budget reserved in turn, straight to review; 409 if claimed."""
    errors = FieldErrors()  # every bad field at once: the card, its bank and the declaration
    errors.value(lambda: normalise_bank_card(data.bank_card_number, field="bank_card"), "")
    errors.value(lambda: checked_text(data.bank_name, field="bank_name", max_length=persons.BANK_NAME_LENGTH), "")
    if not data.consent:
        errors.add("consent", "请阅读并同意承诺书 / please read and accept the declaration")
    errors.raise_any()
    card_id = persons.add_bank_card(uow, actor=actor, person_id=person_id, card_number=data.bank_card_number,
                                    bank_name=data.bank_name)
    sale = _locked_sale(uow, apply_code)
    decision = _decide(uow, sale, versions)

    def checks(application_id: int) -> FirstRun:
        sale.state = SaleState.CLAIMED.value
        return _first_run(uow, card_id, decision, _signals(uow, sale, person_id, limits))

    return open_application(uow, kind=CLAIM, actor=actor, checks=checks, opening=Opening(
        programme=sale.programme, category=sale.category, county_code=sale.county_code, amount=decision.amount,
        facts={"sale_number": sale.number, "gtin": sale.gtin, "price": str(sale.price),
               "sold_on": business_date(sale.sold_at).isoformat(), "store_id": sale.store_id},
        version_code=decision.version_code, person_id=person_id, bank_card_id=card_id,
        dealer_org_id=sale.dealer_org_id, appliance_sale_id=sale.id, quota=decision.quota,
        audit={"appliance_sale": sale.number}))
