"""Dealers' new-car sales: registered by API or form, each with a signed QR code for the buyer to apply."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from subsidy_app.applications.domain import ACTIVE_STATES
from subsidy_app.applications.models import Application, CarSale
from subsidy_app.applications.visibility import may_see_car_sale
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from subsidy_app.core.identifiers import normalise_resident_id, normalise_vin
from subsidy_app.core.identifiers_trade import check_invoice_number
from subsidy_app.core.personal_data import mask_name, mask_resident_id
from subsidy_app.core.qr import read_token, read_token_past_expiry, sign_token
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal
from subsidy_app.identity.organisations import get_organisation, organisation_name
from subsidy_app.rules.domain import CAR_PROGRAMMES
from subsidy_app.rules.evaluator import select_version
from subsidy_app.rules.services import published_versions

SALE_TOKEN_PURPOSE = "car-sale-apply"  # noqa: S105 - a signing salt label, not a secret
MAX_DISPLACEMENT = Decimal("10.0")


@dataclass(frozen=True)
class SaleView:
    """A car sale as the buyer and the dealer see it (buyer masked)."""

    id: int
    dealer_org_id: int
    dealer_name: str
    county_code: str
    new_vin: str
    invoice_key: str
    invoice_date: dt.date
    invoice_total: Decimal
    price_excl_tax: Decimal | None
    new_vehicle_type: str
    nev_catalogue_ref: str | None
    displacement_l: Decimal | None
    buyer_name_masked: str
    buyer_id_masked: str
    buyer_id_hash: str
    apply_code: str


def _view(sale: CarSale, dealer_name: str) -> SaleView:
    return SaleView(sale.id, sale.dealer_org_id, dealer_name, sale.county_code, sale.new_vin, sale.invoice_key,
                    sale.invoice_date, sale.invoice_total, sale.price_excl_tax, sale.new_vehicle_type,
                    sale.nev_catalogue_ref, sale.displacement_l, sale.buyer_name_masked, sale.buyer_id_masked,
                    sale.buyer_id_hash, sale.apply_code)


def register_car_sale(
    uow: UnitOfWork, *, principal: Principal, new_vin: str, invoice_number: str, invoice_code: str | None,
    invoice_date: dt.date, invoice_total: Decimal, price_excl_tax: Decimal | None, new_vehicle_type: str,
    nev_catalogue_ref: str | None, displacement_l: Decimal | None, buyer_name: str, buyer_id_number: str,
    today: dt.date | None = None, errors: FieldErrors | None = None,
) -> SaleView:
    """Record a dealer's sale of a new car after validating every identifier; `errors` holds what the caller could
    not read of its form, reported with the rest."""
    if principal.organisation_kind is not OrgKind.DEALER or principal.organisation_id is None:
        raise Forbidden("只有经销商可以登记销售 / only dealers register sales", reason="auth.forbidden")
    errors = errors or FieldErrors()  # every bad field at once, the form's unreadable ones included
    vin = errors.value(lambda: normalise_vin(new_vin, field="new_vin"), "")
    invoice = errors.value(lambda: check_invoice_number(invoice_number, invoice_code), None)
    buyer_id = errors.value(lambda: normalise_resident_id(buyer_id_number, field="buyer_id_number"), "")
    if not errors.refused("invoice_date") and invoice_date > (today or business_date()):
        errors.add("invoice_date", "开票日期不能晚于今天 / invoice date is in the future")
    if not errors.refused("invoice_total") and invoice_total <= 0:
        errors.add("invoice_total", "价税合计须大于 0 / must be greater than 0")
    if new_vehicle_type == "nev" and not (nev_catalogue_ref or "").strip() and not errors.refused("nev_catalogue_ref"):
        errors.add("nev_catalogue_ref", "新能源车须填写《免征车辆购置税的新能源汽车车型目录》批次/型号 / NEV sales "
                                        "need the MIIT catalogue entry")
    if new_vehicle_type == "fuel" and not errors.refused("displacement_l") and (
            displacement_l is None or not 0 < displacement_l <= MAX_DISPLACEMENT):
        errors.add("displacement_l", "燃油车须填写排量(升)/ fuel cars need the displacement in litres")
    name = " ".join(buyer_name.split())
    if not 2 <= len(name) <= 40 and not errors.refused("buyer_name"):
        errors.add("buyer_name", "购车人姓名应为 2–40 个字符 / buyer name must be 2–40 characters")
    errors.raise_any()
    assert invoice is not None  # raise_any raised had it been refused
    session = uow.session
    if session.scalar(select(CarSale.id).where(CarSale.new_vin == vin)) is not None:
        raise Conflict("该车架号已登记销售 / this VIN is already registered as sold", reason="sale.vin_exists")
    if session.scalar(select(CarSale.id).where(CarSale.invoice_key == invoice.key)) is not None:
        raise Conflict("该发票已登记 / this invoice is already registered", reason="sale.invoice_exists")
    dealer = get_organisation(uow, principal.organisation_id) if principal.organisation_id else None
    assert dealer is not None
    sale = CarSale(
        dealer_org_id=dealer.id, county_code=dealer.county_code, apply_code=secrets.token_hex(16), new_vin=vin,
        invoice_key=invoice.key, invoice_date=invoice_date, invoice_total=invoice_total,
        price_excl_tax=price_excl_tax, new_vehicle_type=new_vehicle_type,
        nev_catalogue_ref=(nev_catalogue_ref or "").strip() or None,
        displacement_l=displacement_l if new_vehicle_type == "fuel" else None,
        buyer_id_hash=uow.cipher.match_hash(buyer_id), buyer_id_masked=mask_resident_id(buyer_id),
        buyer_name_masked=mask_name(name), created_by=principal.actor,
    )
    session.add(sale)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="car_sale.registered", entity_type="car_sale", entity_id=sale.id,
                 after={"vin": vin, "invoice": invoice.key, "total": str(invoice_total), "buyer": sale.buyer_id_masked})
    return _view(sale, dealer.name)


def get_sale(uow: UnitOfWork, *, sale_id: int, principal: Principal | None = None) -> SaleView:
    """Return a sale; a dealer sees only its own, bureau staff only their counties."""
    sale = uow.session.get(CarSale, sale_id)
    if sale is None or (principal is not None and not may_see_car_sale(principal, sale)):
        raise NotFound("销售记录不存在 / sale not found", reason="sale.not_found")
    return _view(sale, organisation_name(uow, sale.dealer_org_id) or "")


def sale_for_token(uow: UnitOfWork, *, secret_key: str, token: str, applied_ok: bool = False) -> SaleView:
    """Resolve the buyer's QR token to the sale it was issued for.

    `applied_ok`: an expired code still names a sale that a live application holds, so its buyer can get to the
    application's progress (payment comes long after the code's days); it never opens a new application."""
    try:
        payload = read_token(secret_key, SALE_TOKEN_PURPOSE, token)
    except ValidationFailed as expired:
        if not applied_ok or expired.reason != "qr.expired":
            raise
        payload = read_token_past_expiry(secret_key, SALE_TOKEN_PURPOSE, token)
        sale = uow.session.scalar(select(CarSale).where(CarSale.apply_code == str(payload.get("c", ""))))
        if sale is None or not _applied_for(uow, sale.new_vin):
            raise
        return _view(sale, organisation_name(uow, sale.dealer_org_id) or "")
    sale = uow.session.scalar(select(CarSale).where(CarSale.apply_code == str(payload.get("c", ""))))
    if sale is None:
        raise NotFound("二维码对应的销售记录不存在 / no sale for this QR code", reason="sale.not_found")
    return _view(sale, organisation_name(uow, sale.dealer_org_id) or "")


def _applied_for(uow: UnitOfWork, new_vin: str) -> bool:
    """Whether a live application holds this new car."""
    return uow.session.scalar(select(Application.id).where(
        Application.new_vin == new_vin, Application.state.in_([s.value for s in ACTIVE_STATES])).limit(1)) is not None


def apply_token(secret_key: str, sale: SaleView, *, days: int) -> str:
    """Sign the token the buyer's QR code carries (an opaque code, never the sale id)."""
    return sign_token(secret_key, SALE_TOKEN_PURPOSE, {"c": sale.apply_code}, max_age_days=days)


def programmes_covering(uow: UnitOfWork, *, invoice_date: dt.date) -> list[str]:
    """The car programmes with a published rule version for a new car bought on this date (none: no subsidy)."""
    versions = published_versions(uow)
    return sorted(p for p in CAR_PROGRAMMES if select_version(versions, p, "passenger_car", invoice_date))
