"""Fraud signals of subsidised sales (issue 5 §8): gathered in one indexed query, stored with their evidence."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, distinct, false, func, or_, select
from sqlalchemy.orm import Session

from subsidy_app.appliances import signal_tally
from subsidy_app.appliances.domain import (
    SIGNAL_LABELS_ZH,
    FraudThresholds,
    SaleFacts,
    SaleState,
    Signal,
    describe_zh,
    fraud_signals,
)
from subsidy_app.appliances.models import ApplianceSale, Product, SerialReport, Store
from subsidy_app.config import Settings
from subsidy_app.core.clock import beijing_now, beijing_time
from subsidy_app.core.db import slices
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import organisations

SERIAL_CODE = "fraud.serial_two_dealers"
# Evidence a dealer must not see on its own statement: it names another dealer.
BUREAU_ONLY_EVIDENCE = frozenset({"other_dealer"})


def thresholds(settings: Settings) -> FraudThresholds:
    """Return the configured limits (FRAUD_* variables, see README)."""
    return FraudThresholds(
        deliveries_per_address=settings.fraud_deliveries_per_address, sales_per_phone=settings.fraud_sales_per_phone,
        price_margin_percent=settings.fraud_price_margin_percent, store_buyer_sales=settings.fraud_store_buyer_sales,
        window_days=settings.fraud_window_days)


@functools.cache
def _counts(address: bool, phone: bool, buyer: bool) -> Any:
    """The statement counting a sale's earlier matches, for the keys it has; built once per combination."""
    same = {
        "address": ApplianceSale.address_hash == bindparam("address_hash") if address else None,
        "phone": ApplianceSale.phone_hash == bindparam("phone_hash") if phone else None,
        "store_buyer": (ApplianceSale.person_id == bindparam("person_id"))
        & (ApplianceSale.store_id == bindparam("store_id")) if buyer else None,
    }
    wanted = [c for c in same.values() if c is not None]
    # Other dealers who tried to report this serial while someone held it.
    reporters = (select(func.count(distinct(SerialReport.dealer_org_id)))
                 .where(SerialReport.serial_key == bindparam("serial_key"),
                        SerialReport.dealer_org_id != bindparam("dealer_org_id"))
                 .scalar_subquery())
    # One statement: each OR branch has its own index (address_hash, phone_hash, person_id), so this stays cheap.
    # Every column an aggregate: with nothing to count (no buyer, no address) it is still exactly one row.
    return (select(*(func.count().filter(c if c is not None else false()) for c in same.values()), reporters)
            .select_from(ApplianceSale)
            .where(ApplianceSale.sold_at > bindparam("since", type_=ApplianceSale.__table__.c.sold_at.type),
                   ApplianceSale.state != SaleState.RETURNED.value, or_(*wanted) if wanted else false()))


def sale_signals(uow: UnitOfWork, *, store: Store, product: Product, price: Decimal, serial_key: str,
                 person_id: int | None, phone_hash: str | None, address_hash: str | None, sold_at: dt.datetime,
                 time_known: bool, limits: FraudThresholds) -> list[dict[str, Any]]:
    """Return the signals a sale about to be inserted shows; never refuses it (reviewers decide)."""
    row = uow.session.execute(_counts(bool(address_hash), bool(phone_hash), person_id is not None), {
        "address_hash": address_hash, "phone_hash": phone_hash, "person_id": person_id, "store_id": store.id,
        "serial_key": serial_key, "dealer_org_id": store.dealer_org_id,
        "since": sold_at - dt.timedelta(days=limits.window_days)}).one()
    address, phone, store_buyer, other_dealers = (int(v or 0) for v in row)
    facts = SaleFacts(
        price=price, reference_price=product.reference_price,
        sold_at_local=beijing_time(sold_at).time() if time_known else None,  # store hours are local
        opens_at=store.opens_at, closes_at=store.closes_at,
        # The sale is not inserted yet: count it too, as the thresholds expect.
        same_address=address + 1 if address_hash else 0, same_phone=phone + 1 if phone_hash else 0,
        same_store_buyer=store_buyer + 1 if person_id is not None else 0, serial_dealers=1 + other_dealers)
    return [signal.stored() for signal in fraud_signals(facts, limits)]


def flag_serial_holder(session: Session, *, serial_key: str, reporting_dealer_id: int) -> int | None:
    """Put (or refresh) the two-dealers signal on the live sale holding a serial another dealer reported."""
    sale = session.scalar(select(ApplianceSale).where(
        ApplianceSale.serial_key == serial_key, ApplianceSale.state != SaleState.RETURNED.value).with_for_update())
    if sale is None or sale.dealer_org_id == reporting_dealer_id:
        return None
    others = session.scalar(select(func.count(distinct(SerialReport.dealer_org_id))).where(
        SerialReport.serial_key == serial_key, SerialReport.dealer_org_id != sale.dealer_org_id)) or 1
    name = session.scalar(organisations.name_query(reporting_dealer_id))
    signal = Signal(SERIAL_CODE, SIGNAL_LABELS_ZH[SERIAL_CODE], {
        "dealers": str(1 + int(others)), "other_dealer": name or str(reporting_dealer_id),
        "reported_at": beijing_now().strftime("%Y-%m-%d %H:%M")})
    # One signal per code: a third dealer's report refreshes the evidence instead of repeating it.
    refreshed = [s for s in sale.signals if s.get("code") != SERIAL_CODE] + [signal.stored()]
    signal_tally.move_now(session, county_code=sale.county_code, sold_at=sale.sold_at,
                          before=signal_tally.codes(sale.signals), after=signal_tally.codes(refreshed))
    sale.signals = refreshed
    return sale.id


def for_viewer(signals: list[dict[str, Any]], *, bureau: bool) -> list[dict[str, Any]]:
    """Return stored signals for display; a dealer does not see evidence naming another dealer."""
    shown = []
    for signal in signals:
        evidence = {k: v for k, v in (signal.get("evidence") or {}).items()
                    if bureau or k not in BUREAU_ONLY_EVIDENCE}
        shown.append({**signal, "evidence": evidence, "detail_zh": describe_zh({**signal, "evidence": evidence})})
    return shown


@dataclass(frozen=True)
class BulkSale:
    """What the signals of one bulk-file sale depend on (the file gives no time of day: hours are not judged)."""

    number: str
    person_id: int
    phone_hash: str | None
    address_hash: str | None
    price: Decimal
    reference_price: Decimal | None
    serial_key: str
    sold_at: dt.datetime


def chunk_signals(uow: UnitOfWork, *, store: Store, sales: list[BulkSale], limits: FraudThresholds
                  ) -> dict[str, list[dict[str, Any]]]:
    """The signals of a chunk of a bulk file's sales, as if each had come to the till in file order.

    Earlier sales are counted from the database in three grouped queries (rows earlier in the same chunk are
    counted as the loop goes), so a chunk of thousands costs a few statements, not one each.
    """
    if not sales:
        return {}
    since = min(s.sold_at for s in sales) - dt.timedelta(days=limits.window_days)
    live = (ApplianceSale.sold_at > since, ApplianceSale.state != SaleState.RETURNED.value)
    # Per kind, per key (address hash, phone hash, buyer): the times of the earlier live sales.
    earlier: dict[str, defaultdict[Any, list[dt.datetime]]] = {k: defaultdict(list)
                                                                for k in ("address", "phone", "store_buyer")}
    keys: dict[str, tuple[set[Any], Any]] = {
        "address": ({s.address_hash for s in sales if s.address_hash}, ApplianceSale.address_hash),
        "phone": ({s.phone_hash for s in sales if s.phone_hash}, ApplianceSale.phone_hash),
        "store_buyer": ({s.person_id for s in sales}, ApplianceSale.person_id)}
    for name, (wanted, column) in keys.items():
        for part in slices(wanted):
            query = select(column, ApplianceSale.sold_at).where(column.in_(part), *live)
            if name == "store_buyer":
                query = query.where(ApplianceSale.store_id == store.id)
            for key, at in uow.session.execute(query).all():
                earlier[name][key].append(at)
    reported = dict(uow.session.execute(
        select(SerialReport.serial_key, func.count(distinct(SerialReport.dealer_org_id)))
        .where(SerialReport.serial_key.in_({s.serial_key for s in sales}),
               SerialReport.dealer_org_id != store.dealer_org_id).group_by(SerialReport.serial_key)).all())
    out: dict[str, list[dict[str, Any]]] = {}
    for sale in sales:
        window_start = sale.sold_at - dt.timedelta(days=limits.window_days)

        def count(name: str, key: Any, start: dt.datetime = window_start) -> int:
            return sum(1 for at in earlier[name].get(key, ()) if at > start) if key is not None else 0

        facts = SaleFacts(
            price=sale.price, reference_price=sale.reference_price, sold_at_local=None,
            opens_at=store.opens_at, closes_at=store.closes_at,
            same_address=count("address", sale.address_hash) + 1 if sale.address_hash else 0,
            same_phone=count("phone", sale.phone_hash) + 1 if sale.phone_hash else 0,
            same_store_buyer=count("store_buyer", sale.person_id) + 1,
            serial_dealers=1 + int(reported.get(sale.serial_key, 0)))
        out[sale.number] = [signal.stored() for signal in fraud_signals(facts, limits)]
        # This sale now counts for the rows after it, as it would had they come to the till one by one.
        for name, key in (("address", sale.address_hash), ("phone", sale.phone_hash),
                          ("store_buyer", sale.person_id)):
            if key is not None:
                earlier[name][key].append(sale.sold_at)
    return out
