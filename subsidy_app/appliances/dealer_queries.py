"""Read models for the appliance dealer's pages: its sales (with the old item's pickup), one sale, its uploads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from recycling import closed_loop
from subsidy_app.appliances.domain import CATEGORY_ZH, SaleState
from subsidy_app.appliances.models import ApplianceSale, BulkUpload, Product, Store
from subsidy_app.appliances.visibility import may_see_sale
from subsidy_app.core.clock import day_start
from subsidy_app.core.errors import NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal

STATE_ZH = {"granted": "已立减,待结算", "settling": "结算中", "claimable": "待购买人申请", "claimed": "购买人已申请",
            "returned": "已退货", "revoked": "抽查撤销"}
MODE_ZH = {"instant": "收银立减", "claim": "购买后申请"}
PICKUP_ZH = {"open": "待交投回收", "overdue": "逾期未交投", "closed": "已交投回收"}
UPLOAD_STATE_ZH = {"queued": "处理中", "done": "已完成"}
RETURNED = SaleState.RETURNED.value


@dataclass(frozen=True)
class SalesPage:
    """One page of a dealer's sales, how many match, and their subsidy in total."""

    rows: list[dict[str, Any]]
    total: int
    subsidy: Decimal


def _dealer(principal: Principal) -> int:
    """The caller's own dealer: other callers see no dealer's sales here."""
    if principal.organisation_kind is not OrgKind.DEALER or principal.organisation_id is None:
        raise NotFound("经销商不存在 / dealer not found", reason="dealer.not_found")
    return principal.organisation_id


def _pickup(obligation: closed_loop.ObligationView | None) -> dict[str, Any] | None:
    if obligation is None:
        return None
    return {"status": PICKUP_ZH.get(obligation.status, obligation.status), "picked_up_on": obligation.picked_up_on,
            "due_on": obligation.due_on, "occurred_on": obligation.occurred_on}


def _row(sale: ApplianceSale, product: Product | None, store_name: str, pickup: dict[str, Any] | None
         ) -> dict[str, Any]:
    return {"id": sale.id, "number": sale.number, "sold_at": sale.sold_at, "returned_at": sale.returned_at,
            "store_name": store_name, "category": CATEGORY_ZH.get(sale.category, "其他"), "gtin": sale.gtin,
            "product": f"{product.brand} {product.model}" if product else "", "price": sale.price,
            "amount": sale.amount, "mode": MODE_ZH.get(sale.mode, "其他"), "state_code": sale.state,
            "state": STATE_ZH.get(sale.state, "其他"), "pickup": pickup,
            "returnable": sale.state not in (SaleState.RETURNED, SaleState.REVOKED)}


def list_sales(uow: UnitOfWork, *, principal: Principal, date_from: dt.date, date_to: dt.date,
               store_id: int | None = None, state: str | None = None, limit: int = 50, offset: int = 0) -> SalesPage:
    """The caller's dealer's sales of a Beijing period, newest first; for returns the period is the return's."""
    dealer_id = _dealer(principal)
    start, end = day_start(date_from), day_start(date_to + dt.timedelta(days=1))
    when = ApplianceSale.returned_at if state == SaleState.RETURNED else ApplianceSale.sold_at
    where = [ApplianceSale.dealer_org_id == dealer_id, when >= start, when < end]
    if store_id is not None:
        where.append(ApplianceSale.store_id == store_id)
    if state:
        where.append(ApplianceSale.state == state)
    # A returned or revoked (spot-check) sale's subsidy is clawed back: it counts only in its own state's total.
    undone = (SaleState.RETURNED.value, SaleState.REVOKED.value)
    counted = ApplianceSale.amount if state in undone else case(
        (ApplianceSale.state.not_in(undone), ApplianceSale.amount), else_=0)
    total, subsidy = uow.session.execute(select(func.count(), func.coalesce(func.sum(counted), 0))
                                         .where(*where)).one()
    found = uow.session.execute(
        select(ApplianceSale, Product, Store.name).join(Store, Store.id == ApplianceSale.store_id)
        .outerjoin(Product, Product.gtin == ApplianceSale.gtin).where(*where)
        .order_by(when.desc(), ApplianceSale.id.desc()).limit(limit).offset(offset)).all()
    pickups = closed_loop.obligations_by_ref(uow, dealer_org_id=dealer_id, refs=[s.number for s, _p, _n in found])
    return SalesPage([_row(s, p, n, _pickup(pickups.get(s.number))) for s, p, n in found], int(total),
                     Decimal(subsidy).quantize(Decimal("0.01")))


def sale_detail(uow: UnitOfWork, *, principal: Principal, sale_id: int) -> dict[str, Any]:
    """One of the dealer's own sales with its receipt code and the old item's pickup, or NotFound."""
    sale = uow.session.get(ApplianceSale, sale_id)
    if sale is None or principal.organisation_kind is not OrgKind.DEALER or not may_see_sale(principal, sale):
        raise NotFound("销售记录不存在 / sale not found", reason="sale.not_found")
    product = uow.session.scalar(select(Product).where(Product.gtin == sale.gtin))
    store = uow.session.get(Store, sale.store_id)
    pickups = closed_loop.obligations_by_ref(uow, dealer_org_id=sale.dealer_org_id, refs=[sale.number])
    return {**_row(sale, product, store.name if store else "", _pickup(pickups.get(sale.number))),
            "apply_code": sale.apply_code, "buyer_known": sale.person_id is not None,
            "claim_open": sale.state == SaleState.CLAIMABLE}


def list_uploads(uow: UnitOfWork, *, principal: Principal, limit: int = 50, offset: int = 0
                 ) -> tuple[list[dict[str, Any]], int]:
    """One page of the dealer's bulk sales files, newest first, and how many there are."""
    dealer_id = _dealer(principal)
    where = BulkUpload.dealer_org_id == dealer_id
    total = int(uow.session.scalar(select(func.count()).select_from(BulkUpload).where(where)) or 0)
    found = uow.session.execute(select(BulkUpload, Store.name).join(Store, Store.id == BulkUpload.store_id)
                                .where(where).order_by(BulkUpload.id.desc()).limit(limit).offset(offset)).all()
    return [{"id": u.id, "filename": u.filename, "store_name": name, "created_at": u.created_at,
             "state": UPLOAD_STATE_ZH.get(u.state, "处理中"), "rows": (u.report or {}).get("rows"),
             "accepted": (u.report or {}).get("accepted_count"), "errors": (u.report or {}).get("error_count")}
            for u, name in found], total
