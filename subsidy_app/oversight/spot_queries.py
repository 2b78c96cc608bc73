"""Spot checks as pages and the API read them: plans, a plan's items, one item, and the rollups."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from subsidy_app.appliances.spot_reads import sale_subject
from subsidy_app.applications.spot_reads import application_subject
from subsidy_app.core.errors import NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import organisations, persons
from subsidy_app.identity.domain import ANONYMOUS, COUNTIES, Principal
from subsidy_app.oversight.spot_domain import ItemState, SubjectKind
from subsidy_app.oversight.spot_models import SpotItem, SpotPlan, SpotResult, SpotTask


@dataclass(frozen=True)
class PlanView:
    """A plan as its list and page show it."""

    id: int
    programme: str
    period_start: dt.date
    period_end: dt.date
    rate_percent: Decimal
    state: str
    note: str | None
    seed: str | None
    population: int | None
    sampled: int | None
    created_by: str
    created_at: dt.datetime
    drawn_at: dt.datetime | None


def _plan_view(plan: SpotPlan) -> PlanView:
    return PlanView(plan.id, plan.programme, plan.period_start, plan.period_end, plan.rate_percent, plan.state,
                    plan.note, plan.seed, plan.population, plan.sampled, plan.created_by, plan.created_at,
                    plan.drawn_at)


def list_plans(uow: UnitOfWork, *, limit: int, offset: int) -> tuple[list[PlanView], int]:
    """One page of sampling plans, newest first, with the number in all (plans are the city's: all see them)."""
    total = uow.session.scalar(select(func.count()).select_from(SpotPlan)) or 0
    rows = uow.session.scalars(select(SpotPlan).order_by(SpotPlan.id.desc()).limit(limit).offset(offset))
    return [_plan_view(p) for p in rows], total


def get_plan(uow: UnitOfWork, *, plan_id: int) -> PlanView:
    """Return one plan, else 404."""
    plan = uow.session.get(SpotPlan, plan_id)
    if plan is None:
        raise NotFound("抽查计划不存在 / plan not found", reason="spot.plan_not_found")
    return _plan_view(plan)


@dataclass(frozen=True)
class ItemRow:
    """A sampled item as the items table shows it."""

    id: int
    plan_id: int
    subject_kind: str
    subject_number: str
    county_code: str
    dealer_org_id: int | None
    dealer_name: str
    amount: Decimal
    reason: str
    state: str
    tasks_done: int
    clawed_back: Decimal | None


def _scoped(principal: Principal) -> list[Any]:
    return [] if principal.all_counties else [SpotItem.county_code.in_(sorted(principal.counties))]


def list_items(uow: UnitOfWork, *, principal: Principal, plan_id: int | None = None, county_code: str | None = None,
               dealer_org_id: int | None = None, state: str | None = None, reason: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[ItemRow], int]:
    """One page of sampled items in the caller's counties (filtered), oldest first, with the number in all."""
    where = _scoped(principal)
    for column, value in ((SpotItem.plan_id, plan_id), (SpotItem.county_code, county_code),
                          (SpotItem.dealer_org_id, dealer_org_id), (SpotItem.state, state),
                          (SpotItem.reason, reason)):
        if value is not None:
            where.append(column == value)
    total = uow.session.scalar(select(func.count()).select_from(SpotItem).where(*where)) or 0
    items = list(uow.session.scalars(select(SpotItem).where(*where).order_by(SpotItem.id).limit(limit)
                                     .offset(offset)))
    done: dict[int, int] = dict(uow.session.execute(
        select(SpotTask.item_id, func.count()).where(SpotTask.item_id.in_([i.id for i in items]),
                                                     SpotTask.state == "done").group_by(SpotTask.item_id)).all())
    names = organisations.organisation_names(uow, {i.dealer_org_id for i in items if i.dealer_org_id})
    return [ItemRow(i.id, i.plan_id, i.subject_kind, i.subject_number, i.county_code, i.dealer_org_id,
                    names.get(i.dealer_org_id or 0, ""), i.amount, i.reason, i.state, done.get(i.id, 0),
                    i.clawed_back) for i in items], total


@dataclass(frozen=True)
class ResultLine:
    """One recorded attempt or result."""

    outcome: str
    note: str | None
    recorded_by: str
    recorded_at: dt.datetime


@dataclass(frozen=True)
class TaskLine:
    """One task of an item with its results."""

    kind: str
    state: str
    outcome: str | None
    attempts: int
    results: list[ResultLine] = field(default_factory=list)


@dataclass(frozen=True)
class ItemDetail:
    """An item's page: the trade-in it samples, its tasks and its conclusion."""

    id: int
    plan_id: int
    subject_kind: str
    subject_number: str
    subject_state: str
    product_label: str
    product: str
    county_code: str
    county_name: str
    dealer_name: str
    resident_name: str
    resident_phone: str
    amount: Decimal
    reason: str
    state: str
    conclusion_reason: str | None
    concluded_by: str | None
    concluded_at: dt.datetime | None
    clawed_back: Decimal | None
    tasks: list[TaskLine]


def _subject(uow: UnitOfWork, item: SpotItem) -> tuple[str, str, str, int | None]:
    """The trade-in's state label, what was bought (its label and value), and the resident's person id."""
    subject = (sale_subject(uow, sale_id=item.subject_id) if item.subject_kind == SubjectKind.SALE
               else application_subject(uow, application_id=item.subject_id))
    return subject.state_label, subject.product_label, subject.product, subject.person_id


def item_detail(uow: UnitOfWork, *, principal: Principal, item_id: int) -> ItemDetail:
    """Return one item in the caller's counties with its subject (resident masked), tasks and results, else 404."""
    item = uow.session.get(SpotItem, item_id)
    if item is None or principal.kind != "staff" or not principal.covers_county(item.county_code):
        raise NotFound("抽查项不存在或不在您的管辖范围 / item not found or outside your counties",
                       reason="not_found")
    subject_state, product_label, product, person_id = _subject(uow, item)
    name, phone = "", ""
    if person_id is not None:
        person = persons.view_person(uow, person_id=person_id, principal=ANONYMOUS)  # always masked here
        name, phone = person.name, person.phone or ""
    tasks = list(uow.session.scalars(select(SpotTask).where(SpotTask.item_id == item.id).order_by(SpotTask.id)))
    results: dict[int, list[ResultLine]] = defaultdict(list)
    for r in uow.session.scalars(select(SpotResult).where(SpotResult.task_id.in_([t.id for t in tasks]))
                                 .order_by(SpotResult.id)):
        results[r.task_id].append(ResultLine(r.outcome, r.note, r.recorded_by, r.recorded_at))
    dealer = organisations.organisation_name(uow, item.dealer_org_id) if item.dealer_org_id else None
    return ItemDetail(item.id, item.plan_id, item.subject_kind, item.subject_number, subject_state, product_label,
                      product,
                      item.county_code, COUNTIES.get(item.county_code, item.county_code), dealer or "", name, phone,
                      item.amount, item.reason, item.state, item.conclusion_reason, item.concluded_by,
                      item.concluded_at, item.clawed_back,
                      [TaskLine(t.kind, t.state, t.outcome, t.attempts, results[t.id]) for t in tasks])


@dataclass
class RollupRow:
    """One dealer's or county's figures of a plan."""

    key: str
    label: str
    population: int = 0
    sampled: int = 0
    done: int = 0
    confirmed: int = 0
    false: int = 0
    clawed_back: Decimal = Decimal("0.00")

    @property
    def rate_sampled(self) -> Decimal | None:
        """Sampled as a percentage of the population (2 places), None when there is no population."""
        return _percent(self.sampled, self.population)

    @property
    def rate_confirmed(self) -> Decimal | None:
        """Concluded genuine as a percentage of the concluded items, None before any is concluded."""
        return _percent(self.confirmed, self.done)


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Rollup:
    """A plan's figures per dealer and per county, and the plan's total, within the caller's counties."""

    plan_id: int
    dealers: list[RollupRow]
    counties: list[RollupRow]
    total: RollupRow


def rollup(uow: UnitOfWork, *, principal: Principal, plan_id: int) -> Rollup:
    """Sum a plan's population (as drawn), sampled, concluded, confirmed, false and clawed back, per dealer/county."""
    plan = uow.session.get(SpotPlan, plan_id)
    if plan is None:
        raise NotFound("抽查计划不存在 / plan not found", reason="spot.plan_not_found")
    mine = principal.covers_county
    dealer_rows: dict[int, RollupRow] = {}
    county_rows: dict[str, RollupRow] = {}
    total = RollupRow("all", "合计")
    dealer_ids = {int(s["dealer_org_id"]) for s in plan.strata or [] if s["dealer_org_id"]}
    names = organisations.organisation_names(uow, dealer_ids)

    def rows_of(county: str, dealer: int | None) -> list[RollupRow]:
        d = dealer or 0
        if d not in dealer_rows:
            dealer_rows[d] = RollupRow(str(d), names.get(d, "(无经销商)") if d else "(无经销商)")
        if county not in county_rows:
            county_rows[county] = RollupRow(county, COUNTIES.get(county, county))
        return [dealer_rows[d], county_rows[county], total]

    for stratum in plan.strata or []:
        if mine(stratum["county_code"]):
            for row in rows_of(stratum["county_code"], stratum["dealer_org_id"]):
                row.population += int(stratum["population"])
    for item in uow.session.scalars(select(SpotItem).where(SpotItem.plan_id == plan.id, *_scoped(principal))):
        for row in rows_of(item.county_code, item.dealer_org_id):
            row.sampled += 1
            if item.state != ItemState.OPEN:
                row.done += 1
            row.confirmed += item.state == ItemState.GENUINE
            row.false += item.state == ItemState.FALSE
            row.clawed_back += item.clawed_back or Decimal("0.00")
    return Rollup(plan.id, sorted(dealer_rows.values(), key=lambda r: r.label),
                  sorted(county_rows.values(), key=lambda r: r.key), total)
