"""A plan's population: the approved trade-ins of a programme and period, with what flags each for sampling."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from subsidy_app.appliances.domain import SaleMode, SaleState
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.applications.domain import State
from subsidy_app.applications.models import Application, ApplicationCheck
from subsidy_app.core.clock import day_start
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.oversight.spot_domain import Candidate, Reason, SubjectKind

# A resident's application approved and funded, or on its way to be; refused and revoked ones are not sampled.
APPROVED_STATES = (State.APPROVED.value, State.IN_PAYMENT.value, State.PAID.value)
# An instant discount is funded at the till: granted, or on a dealer statement. The statement itself is never sampled.
FUNDED_SALE_STATES = (SaleState.GRANTED.value, SaleState.SETTLING.value)


@dataclass(frozen=True)
class Member:
    """One trade-in of the population, with what its item shows."""

    candidate: Candidate
    number: str
    amount: Decimal


def members(uow: UnitOfWork, *, programme: str, period_start: dt.date, period_end: dt.date) -> list[Member]:
    """Return the population of a programme's period (Beijing days): applications by submission, sales by sale."""
    start, end = day_start(period_start), day_start(period_end + dt.timedelta(days=1))
    found = _applications(uow, programme, start, end)
    found.extend(_sales(uow, programme, start, end))
    return found


def _applications(uow: UnitOfWork, programme: str, start: dt.datetime, end: dt.datetime) -> list[Member]:
    rows = uow.session.execute(select(
        Application.id, Application.number, Application.county_code, Application.dealer_org_id, Application.amount)
        .where(Application.programme == programme, Application.payee_kind == "resident",
               Application.state.in_(APPROVED_STATES), Application.submitted_at >= start,
               Application.submitted_at < end)).all()
    ids = [row.id for row in rows]
    fraud: set[int] = set()
    overridden: set[int] = set()
    for chunk in (ids[i:i + 5000] for i in range(0, len(ids), 5000)):
        checks = uow.session.execute(select(ApplicationCheck.application_id, ApplicationCheck.code,
                                            ApplicationCheck.passed, ApplicationCheck.overridden_by)
                                     .where(ApplicationCheck.application_id.in_(chunk)))
        for check in checks:
            if check.overridden_by is not None:
                overridden.add(check.application_id)
            if check.code.startswith("fraud.") and not check.passed:
                fraud.add(check.application_id)
    return [Member(Candidate(SubjectKind.APPLICATION, row.id, row.county_code, row.dealer_org_id,
                             Reason.FRAUD_SIGNAL if row.id in fraud else Reason.OVERRIDDEN if row.id in overridden
                             else None), row.number, row.amount) for row in rows]


def _sales(uow: UnitOfWork, programme: str, start: dt.datetime, end: dt.datetime) -> list[Member]:
    rows = uow.session.execute(select(
        ApplianceSale.id, ApplianceSale.number, ApplianceSale.county_code, ApplianceSale.dealer_org_id,
        ApplianceSale.amount, ApplianceSale.signals)
        .where(ApplianceSale.programme == programme, ApplianceSale.mode == SaleMode.INSTANT.value,
               ApplianceSale.state.in_(FUNDED_SALE_STATES), ApplianceSale.sold_at >= start,
               ApplianceSale.sold_at < end)).all()
    return [Member(Candidate(SubjectKind.SALE, row.id, row.county_code, row.dealer_org_id,
                             Reason.FRAUD_SIGNAL if row.signals else None), row.number, row.amount) for row in rows]
