"""The transfers a recycler's sites sent or received, page by page, with both sites named."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from recycling.models import Site, Transfer
from recycling.paging import PAGE_SIZE, Page, offset, within
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal


@dataclass(frozen=True)
class TransferView:
    """A transfer as the portal lists it."""

    id: int
    from_site: str
    to_site: str
    category: str
    units: int
    weight_kg: Decimal
    occurred_on: dt.date
    recorded_by: str
    created_at: dt.datetime


def transfer_page(uow: UnitOfWork, *, principal: Principal | None, number: int) -> Page[TransferView]:
    """One page of the transfers touching the caller's sites (either end), newest first, with their count."""
    source, target = aliased(Site), aliased(Site)
    stmt = (select(Transfer, source.name, source.code, target.name, target.code)
            .join(source, source.id == Transfer.from_site_id).join(target, target.id == Transfer.to_site_id))
    if principal is not None and principal.organisation_kind in (OrgKind.RECYCLER, OrgKind.DEALER):
        own = principal.organisation_id
        stmt = stmt.where(or_(source.organisation_id == own, target.organisation_id == own))
    elif principal is not None and not principal.all_counties:
        stmt = stmt.where(or_(source.county_code.in_(principal.counties), target.county_code.in_(principal.counties)))
    total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    number = within(number, total)
    rows = uow.session.execute(stmt.order_by(Transfer.id.desc()).offset(offset(number)).limit(PAGE_SIZE))
    return Page([TransferView(t.id, f"{sn}（{sc}）", f"{tn}（{tc}）", t.category, t.units, t.weight_kg, t.occurred_on,
                              t.recorded_by, t.created_at) for t, sn, sc, tn, tc in rows], total, number)
