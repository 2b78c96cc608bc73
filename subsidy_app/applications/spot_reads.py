"""What the bureau's spot checks read of applications: a period's approved ones and one application's subject."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from subsidy_app.applications.domain import STATE_LABELS_ZH, State
from subsidy_app.applications.kinds import registered_kinds
from subsidy_app.applications.models import Application, ApplicationCheck
from subsidy_app.core.db import slices
from subsidy_app.core.uow import UnitOfWork

# A resident's application approved and funded, or on its way to be; refused and revoked ones are not sampled.
APPROVED_STATES = (State.APPROVED.value, State.IN_PAYMENT.value, State.PAID.value)


@dataclass(frozen=True)
class ApprovedApplication:
    """An approved resident application, with whether a fraud check failed or a check was overridden."""

    id: int
    number: str
    county_code: str
    dealer_org_id: int | None
    amount: Decimal
    fraud_signal: bool
    overridden: bool


def approved_in_period(uow: UnitOfWork, *, programme: str, start: dt.datetime, end: dt.datetime
                       ) -> list[ApprovedApplication]:
    """Return a programme's resident applications submitted in [start, end) that are approved, in payment or paid."""
    rows = uow.session.execute(select(
        Application.id, Application.number, Application.county_code, Application.dealer_org_id, Application.amount)
        # A resident's application has its person; a payee without one (a dealer's statement) is never sampled.
        .where(Application.programme == programme, Application.person_id.is_not(None),
               Application.state.in_(APPROVED_STATES), Application.submitted_at >= start,
               Application.submitted_at < end)).all()
    fraud: set[int] = set()
    overridden: set[int] = set()
    for chunk in slices([row.id for row in rows]):
        for check in uow.session.execute(select(ApplicationCheck.application_id, ApplicationCheck.code,
                                                ApplicationCheck.passed, ApplicationCheck.overridden_by)
                                         .where(ApplicationCheck.application_id.in_(chunk))):
            if check.overridden_by is not None:
                overridden.add(check.application_id)
            if check.code.startswith("fraud.") and not check.passed:
                fraud.add(check.application_id)
    return [ApprovedApplication(row.id, row.number, row.county_code, row.dealer_org_id, row.amount, row.id in fraud,
                                row.id in overridden) for row in rows]


@dataclass(frozen=True)
class Subject:
    """What a spot-check item shows of its trade-in: its state in words, what was bought, and the resident."""

    state_label: str
    product_label: str
    product: str
    person_id: int | None


def application_subject(uow: UnitOfWork, *, application_id: int) -> Subject:
    """Return one application's state, the new car (its VIN) or the appliance category, and its person."""
    app = uow.session.get(Application, application_id)
    assert app is not None  # an item names an application that exists (its row is never deleted)
    if app.new_vin:
        return Subject(STATE_LABELS_ZH[State(app.state)], "新车车辆识别代号", app.new_vin, app.person_id)
    labels = {code: label for kind in registered_kinds().values() for code, label in kind.categories}
    return Subject(STATE_LABELS_ZH[State(app.state)], "商品", labels.get(app.category, app.category), app.person_id)
