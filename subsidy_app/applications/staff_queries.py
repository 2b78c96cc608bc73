"""Read models for the staff pages: a dealer's sales with their applications, and the list of payment batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from subsidy_app.applications.domain import STATE_LABELS_ZH, State
from subsidy_app.applications.models import Application, CarSale, PaymentBatch
from subsidy_app.applications.visibility import may_see_batch
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal

BATCH_STATE_LABELS_ZH = {"draft": "待导出", "exported": "已导出,待银行回盘", "reconciled": "已对账"}
LINE_STATE_LABELS_ZH = {"pending": "待回盘", "paid": "已到账", "failed": "发放失败"}


def dealer_sales(uow: UnitOfWork, *, principal: Principal, limit: int = 200) -> list[dict[str, Any]]:
    """List the caller's own dealer's car sales, newest first, each with its applications' numbers and states."""
    if principal.organisation_kind is not OrgKind.DEALER or principal.organisation_id is None:
        return []
    rows = list(uow.session.scalars(
        select(CarSale).where(CarSale.dealer_org_id == principal.organisation_id)
        .order_by(CarSale.created_at.desc(), CarSale.id.desc()).limit(limit)))
    applications: dict[int, list[dict[str, Any]]] = {row.id: [] for row in rows}
    if rows:
        found = uow.session.execute(
            select(Application.sale_id, Application.number, Application.state)
            .where(Application.sale_id.in_(list(applications))).order_by(Application.id))
        for sale_id, number, state in found:
            if sale_id is None:  # the query filters on sale_id; this only narrows the type
                continue
            applications[sale_id].append({"number": number, "state": state,
                                               "state_label": STATE_LABELS_ZH[State(state)]})
    return [{"id": row.id, "new_vin": row.new_vin, "invoice_key": row.invoice_key, "invoice_date": row.invoice_date,
             "invoice_total": row.invoice_total, "new_vehicle_type": row.new_vehicle_type,
             "buyer_name_masked": row.buyer_name_masked, "buyer_id_masked": row.buyer_id_masked,
             "created_at": row.created_at, "applications": applications[row.id]} for row in rows]


def payment_batches(uow: UnitOfWork, *, principal: Principal, limit: int = 50) -> list[dict[str, Any]]:
    """List the most recent payment batches the caller may see, newest first."""
    recent = uow.session.scalars(select(PaymentBatch).order_by(PaymentBatch.id.desc()).limit(limit))
    rows = [b for b in recent if may_see_batch(uow, principal, b.id)]
    return [{"id": b.id, "number": b.number, "state": b.state,
             "state_label": BATCH_STATE_LABELS_ZH.get(b.state, b.state), "declared_count": b.declared_count,
             "declared_total": b.declared_total, "created_at": b.created_at} for b in rows]


def application_numbers(uow: UnitOfWork, *, application_ids: Iterable[int]) -> dict[int, str]:
    """Map application ids to their public numbers (for batch lines)."""
    ids = list(application_ids)
    if not ids:
        return {}
    found = uow.session.execute(select(Application.id, Application.number).where(Application.id.in_(ids)))
    return {int(app_id): str(number) for app_id, number in found}


def dealer_applications(uow: UnitOfWork, *, principal: Principal, category: str, limit: int, offset: int
                        ) -> tuple[list[dict[str, Any]], int]:
    """One page of the caller's own dealer's applications of a category (its statements), newest first, and the
    count; the package that opens them names the category, as for the bureau's list (queries.category_page)."""
    if principal.organisation_kind is not OrgKind.DEALER or principal.organisation_id is None:
        return [], 0
    where = (Application.dealer_org_id == principal.organisation_id, Application.category == category)
    total = int(uow.session.scalar(select(func.count()).select_from(Application).where(*where)) or 0)
    rows = uow.session.scalars(select(Application).where(*where).order_by(Application.id.desc())
                               .limit(limit).offset(offset))
    return [{"id": a.id, "number": a.number, "programme": a.programme, "state": a.state,
             "state_label": STATE_LABELS_ZH[State(a.state)], "amount": a.amount, "period": a.facts.get("period"),
             "submitted_at": a.submitted_at, "needs_second_review": a.needs_second_review} for a in rows], total

