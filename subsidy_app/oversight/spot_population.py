"""A plan's population: the approved trade-ins of a programme and period, with what flags each for sampling."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from subsidy_app.appliances.spot_reads import funded_instant_sales
from subsidy_app.applications.spot_reads import approved_in_period
from subsidy_app.core.clock import day_start
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.oversight.spot_domain import Candidate, Reason, SubjectKind


@dataclass(frozen=True)
class Member:
    """One trade-in of the population, with what its item shows."""

    candidate: Candidate
    number: str
    amount: Decimal


def members(uow: UnitOfWork, *, programme: str, period_start: dt.date, period_end: dt.date) -> list[Member]:
    """Return the population of a programme's period (Beijing days): applications by submission, sales by sale.

    Approved resident applications (approved, in payment, paid) and funded instant discounts (granted or on a
    statement), each read through its own package; a dealer statement is never sampled, its sales are.
    """
    start, end = day_start(period_start), day_start(period_end + dt.timedelta(days=1))
    found = [Member(Candidate(SubjectKind.APPLICATION, a.id, a.county_code, a.dealer_org_id,
                              Reason.FRAUD_SIGNAL if a.fraud_signal else Reason.OVERRIDDEN if a.overridden else None),
                    a.number, a.amount)
             for a in approved_in_period(uow, programme=programme, start=start, end=end)]
    found.extend(Member(Candidate(SubjectKind.SALE, s.id, s.county_code, s.dealer_org_id,
                                  Reason.FRAUD_SIGNAL if s.flagged else None), s.number, s.amount)
                 for s in funded_instant_sales(uow, programme=programme, start=start, end=end))
    return found
