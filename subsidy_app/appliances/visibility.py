"""Who may see an appliance sale, and the buyers it names."""

from __future__ import annotations

from sqlalchemy import select

from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import Principal


def may_see_sale(principal: Principal, sale: ApplianceSale) -> bool:
    """Tell whether the caller may see an appliance sale: its dealer's clerks, or staff of its county."""
    return principal.kind == "staff" and principal.covers_organisation(sale.dealer_org_id, sale.county_code)


def _person_through_sale(uow: UnitOfWork, principal: Principal, person: visibility.PersonRef) -> bool:
    sales = uow.session.scalars(select(ApplianceSale).where(ApplianceSale.person_id == person.id))
    return any(may_see_sale(principal, s) for s in sales)


visibility.link_person("appliances.sale", _person_through_sale)
