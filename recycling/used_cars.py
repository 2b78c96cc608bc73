"""Used-car transactions for the +45% indicator, and dealers' pickups of old appliances."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from recycling import closed_loop
from recycling.domain import USED_CAR_CATEGORY, IntakeSource
from recycling.intake import IntakeDraft, record_intake
from recycling.models import UsedCarTransaction
from recycling.rollups import bump
from recycling.sites import get_site
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.identifiers import normalise_vin
from subsidy_app.core.limits import LARGEST_MONEY
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import COUNTIES


@dataclass(frozen=True)
class UsedCarOutcome:
    """A registered transfer and whether it was new (a repeated report is counted once)."""

    id: int
    counted: bool


@dataclass(frozen=True)
class PickupOutcome:
    """A recorded dealer pickup: the obligation and the intake it produced, if handed to a site."""

    obligation_id: int
    intake_id: int | None
    status: str


def register_used_car_transfer(uow: UnitOfWork, *, actor: str, reporter_org_id: int, vin: str,
                               transferred_on: dt.date, price: Decimal, county_code: str) -> UsedCarOutcome:
    """Register a used-car transfer; the same VIN on the same day is counted once whoever reports it."""
    clean_vin = normalise_vin(vin, field="vin")
    if county_code not in COUNTIES:
        raise ValidationFailed.field("county_code", "不是吕梁市的区县代码 / not a Lüliang county code")
    if transferred_on > business_date():
        raise ValidationFailed.field("transferred_on", "交易日期不能晚于今天 / the date is in the future")
    if price <= 0 or price > LARGEST_MONEY or price.quantize(Decimal("0.01")) != price:
        raise ValidationFailed.field("price", "价格须为正且最多两位小数 / price must be positive, 2 decimals")
    existing = uow.session.scalar(select(UsedCarTransaction.id).where(
        UsedCarTransaction.vin == clean_vin, UsedCarTransaction.transferred_on == transferred_on))
    if existing is not None:
        return UsedCarOutcome(existing, False)
    row = UsedCarTransaction(vin=clean_vin, transferred_on=transferred_on, price=price, county_code=county_code,
                             reported_by_org_id=reporter_org_id, recorded_by=actor)
    # A savepoint: if another reporter inserts the same transfer concurrently, the unique key refuses ours.
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
            uow.session.flush()
    except IntegrityError:
        again = uow.session.scalar(select(UsedCarTransaction.id).where(
            UsedCarTransaction.vin == clean_vin, UsedCarTransaction.transferred_on == transferred_on))
        return UsedCarOutcome(int(again or 0), False)
    bump(uow, county_code=county_code, category=USED_CAR_CATEGORY, day=transferred_on, units=1,
         weight_kg=Decimal("0.000"), records=1)
    audit.record(uow, actor=actor, action="recycling.used_car_registered", entity_type="used_car_transaction",
                 entity_id=row.id, after={"vin": clean_vin, "day": transferred_on, "county": county_code,
                                          "price": str(price)})
    return UsedCarOutcome(row.id, True)


def record_dealer_pickup(uow: UnitOfWork, *, actor: str, dealer_org_id: int | None, trade_in_ref: str,
                         picked_up_on: dt.date, site_id: int | None = None, weight_kg: Decimal | None = None
                         ) -> PickupOutcome:
    """Record that the dealer collected the old item; when handed to a site, record that site's intake too."""
    obligation = closed_loop.record_pickup_date(uow, actor=actor, dealer_org_id=dealer_org_id,
                                                trade_in_ref=trade_in_ref, picked_up_on=picked_up_on)
    intake_id = None
    if site_id is not None:
        site = get_site(uow, site_id=site_id)
        intake_id = record_intake(uow, actor=actor, acting_org_id=site.organisation_id, draft=IntakeDraft(
            site_id=site.id, source=IntakeSource.DEALER_PICKUP.value, category=obligation.category, units=1,
            weight_kg=weight_kg if weight_kg is not None else Decimal("0.000"), occurred_on=picked_up_on,
            trade_in_ref=obligation.trade_in_ref, note="经销商送新收旧"))
    return PickupOutcome(obligation.id, intake_id, obligation.status)
