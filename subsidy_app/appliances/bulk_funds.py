"""Quotas, budget and hand-in duties for a chunk of bulk sales, taken through their owners' batches in file order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from recycling import closed_loop
from subsidy_app.appliances import selling
from subsidy_app.appliances.bulk_rows import Row, error
from subsidy_app.appliances.domain import programme_of, recycling_category
from subsidy_app.appliances.models import Store
from subsidy_app.core.errors import DomainError
from subsidy_app.core.tables import RowError
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import instant_budget, quotas


@dataclass(frozen=True)
class Sale:
    """A row inserted as a sale, waiting for its quota and budget."""

    row: Row
    number: str
    person_id: int
    sold_at: dt.datetime


def _hold(sale: Sale) -> quotas.HoldRequest | None:
    quota = sale.row.decision.quota
    return None if quota is None else quotas.HoldRequest(sale.person_id, quota, sale.number)


def _discount(sale: Sale, store: Store) -> instant_budget.InstantRequest:
    return instant_budget.InstantRequest(programme_of(sale.row.product.category) or "", store.county_code,
                                         sale.number, sale.row.decision.amount, sale.sold_at)


def _hand_in(sale: Sale, store: Store) -> closed_loop.HandIn | None:
    if not any(d.code == selling.HAND_IN_DOCUMENT for d in sale.row.decision.required_documents):
        return None
    return closed_loop.HandIn(sale.number, "appliance", store.dealer_org_id, store.county_code,
                              recycling_category(sale.row.product.category), sale.row.sold_on)


def fund(uow: UnitOfWork, *, actor: str, store: Store, sales: list[Sale], errors: list[RowError]) -> list[Sale]:
    """Take each sale's quota unit and budget in file order, as the till would; return the funded sales.

    A row gets all it needs or nothing, as a till's sale that is rolled back: a row refused for its budget or
    hand-in duty leaves its quota unit to the buyer's later rows. Counters are locked before pools, as at a till.
    """
    wanted = [(s, _hold(s), _discount(s, store), _hand_in(s, store)) for s in sales]
    holds = quotas.Holds(uow, actor=actor, requests=[h for _, h, _, _ in wanted if h is not None], confirmed=True,
                         fresh=True)
    pools = instant_budget.InstantBatch(uow, actor=actor, requests=[d for _, _, d, _ in wanted])
    funded: list[Sale] = []
    duties: list[closed_loop.HandIn] = []
    for sale, hold, discount, hand_in in wanted:
        refused: DomainError | None = (holds.refusal(hold) if hold is not None else None) or pools.refusal(discount) \
            or (closed_loop.hand_in_refusal(kind=hand_in.kind, category=hand_in.category,
                                            county_code=hand_in.county_code) if hand_in is not None else None)
        if refused is not None:
            errors.append(error(sale.row.line, refused))
            continue
        if hold is not None:
            holds.take(hold)
        pools.take(discount)
        if hand_in is not None:
            duties.append(hand_in)
        funded.append(sale)
    holds.write()
    pools.write()
    if duties:
        closed_loop.register_many(uow, items=duties, actor=actor, fresh=True)
    return funded
