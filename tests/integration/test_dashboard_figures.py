"""Every figure the dashboard draws equals the same figure computed from the raw rows."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import delete, select

from recycling.domain import Indicator
from subsidy_app.applications import tallies
from subsidy_app.applications.domain import Action, State
from subsidy_app.applications.models import Application, ApplicationTally
from subsidy_app.applications.services import load_for_update, transition
from subsidy_app.core.clock import business_date
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.dashboard import panels
from subsidy_app.identity.domain import COUNTIES, Principal, Role
from subsidy_app.identity.services import load_principal
from subsidy_app.rules.models import BudgetPool
from tests.car_fixtures import bank_card, car_world, resident_id, submit
from tests.helpers import race

MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0015_application_tally.py"
TODAY = business_date()


def _applications(uow: UnitOfWork, demo: dict[str, int], count: int) -> list[int]:
    ids = []
    for n in range(count):
        world = car_world(uow, demo, serial=40 + n, owner_id=resident_id(f"14110219850101{n:03d}"))
        ids.append(submit(uow, world, card=bank_card(700 + n)).application_id)
    return ids


def _move(uow: UnitOfWork, application_id: int, *actions: Action, reviewer: Principal) -> None:
    for action in actions:
        app = load_for_update(uow, application_id)
        transition(uow, app=app, action=action, actor=reviewer.actor, reason="test",
                   reviewer_id=reviewer.account_id)
    uow.commit()


def _world(uow: UnitOfWork, demo: dict[str, int]) -> list[int]:
    """Five applications: two paid, one approved, one rejected, one still pending review."""
    ids = _applications(uow, demo, 5)
    auditor = load_principal(uow, account_id=demo["auditor.lishi"])
    assert auditor is not None
    for paid in ids[:2]:
        _move(uow, paid, Action.APPROVE, Action.ADD_TO_BATCH, Action.PAYMENT_CONFIRMED, reviewer=auditor)
    _move(uow, ids[2], Action.APPROVE, reviewer=auditor)
    _move(uow, ids[3], Action.REJECT, reviewer=auditor)
    return ids


def _raw(uow: UnitOfWork) -> dict[str, Any]:
    """The figures straight from the application rows."""
    apps = list(uow.session.scalars(select(Application)))
    approved = [a for a in apps if a.state in (State.APPROVED, State.IN_PAYMENT, State.PAID)]
    paid = [a for a in apps if a.state == State.PAID]
    return {"submitted": len(apps), "approved": len(approved), "paid": len(paid),
            "approved_amount": sum((a.amount for a in approved), Decimal("0.00")),
            "paid_amount": sum((a.amount for a in paid), Decimal("0.00")),
            "counties": Counter(a.county_code for a in apps)}


def _city_scope() -> panels.Scope:
    return panels.Scope(tuple(COUNTIES), TODAY.replace(month=1, day=1), TODAY, True)


def test_application_panels_equal_the_raw_rows(uow: UnitOfWork, demo: dict[str, int]) -> None:
    _world(uow, demo)
    raw = _raw(uow)
    assert raw["paid"] == 2 and raw["approved"] == 3 and raw["paid_amount"] > 0  # the world is what we meant
    shown = {p.key: p for p in panels.build(uow, _city_scope())}

    trend = shown["trend"]
    assert trend.rows == [[TODAY.isoformat(), raw["submitted"], raw["approved"], raw["paid"], raw["approved_amount"],
                           raw["paid_amount"]]]
    county = shown["counties"].rows
    assert county[0] == ["离石区", 5, 3, 2, raw["approved_amount"], raw["paid_amount"]]
    assert county[-1] == ["合计", 5, 3, 2, raw["approved_amount"], raw["paid_amount"]]
    assert shown["programmes"].rows == [["汽车报废更新 · 乘用车", 5, 3, 2, raw["approved_amount"], raw["paid_amount"]]]

    drawn = panels.chart_data(shown["counties"])  # the chart draws the table's figures, without the total row
    assert drawn["x"] == ["离石区"]
    assert [s["values"] for s in drawn["series"]] == [[float(raw["approved_amount"])], [float(raw["paid_amount"])]]


def test_tallies_equal_a_recount_and_the_migration_backfill(uow: UnitOfWork, demo: dict[str, int]) -> None:
    _world(uow, demo)
    kept = tallies.stored(uow)
    assert kept == tallies.recount(uow)
    assert sum(f.count for c, f in kept.items() if c.milestone == "rejected") == 1

    uow.session.execute(delete(ApplicationTally))
    spec = importlib.util.spec_from_file_location("tally_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(uow.session.connection())):
        migration._backfill()
    assert tallies.stored(uow) == kept


def test_pool_panel_equals_the_pool_rows(uow: UnitOfWork, demo: dict[str, int]) -> None:
    _world(uow, demo)
    pools = {p.id: p for p in uow.session.scalars(select(BudgetPool))}
    panel = panels.pools(uow, _city_scope())
    assert len(panel.rows) == len(pools)
    for row, pool in zip(panel.rows, sorted(pools.values(), key=lambda p: (p.county_code, p.programme, p.id)),
                         strict=True):
        assert row[2:6] == [pool.allocated, pool.spent, pool.reserved, pool.allocated - pool.spent - pool.reserved]
        assert row[3] + row[4] + row[5] == row[2]  # type: ignore[operator]


def test_a_county_role_sees_only_its_county(uow: UnitOfWork, demo: dict[str, int]) -> None:
    _world(uow, demo)
    xiaoyi = load_principal(uow, account_id=demo["auditor.xiaoyi"])
    assert xiaoyi is not None and Role.AUDITOR in xiaoyi.roles
    scope = panels.scope_for(xiaoyi, date_from=TODAY.replace(month=1, day=1), date_to=TODAY, county=None)
    assert scope.counties == ("141181",)
    shown = {p.key: p for p in panels.build(uow, scope)}
    assert shown["trend"].rows == [] and shown["counties"].rows == []  # every application is Lishi's
    assert all(row[0].startswith("孝义市") for row in shown["pools"].rows)  # type: ignore[union-attr]


def test_recovery_panels_follow_the_target_service(uow: UnitOfWork, demo: dict[str, int]) -> None:
    from recycling import targets

    targets.load_shipped(uow, actor="test")
    scope = _city_scope()
    for indicator in Indicator:
        panel = panels.recovery(uow, scope, indicator)
        series = targets.monthly_series(uow, indicator=indicator, year=TODAY.year, counties=scope.counties)
        assert [r[0] for r in panel.rows] == [p.month for p in series if p.month <= TODAY.strftime("%Y-%m")]
        assert [r[4] for r in panel.rows] == [p.annual_target for p in series][:len(panel.rows)]
        assert panel.summary and "目标" in panel.summary[1]


@pytest.mark.usefixtures("postgres")
def test_concurrent_approvals_and_submissions_lose_no_count(committed_uow: UnitOfWork, committed: Any,
                                                            cipher: Any) -> None:
    """Twelve reviewers approve at once while six residents submit: every tally cell still equals a recount."""
    from subsidy_app.applications import review
    from subsidy_app.seed import seed_demo

    demo = seed_demo(committed_uow)
    committed_uow.commit()
    pending = _applications(committed_uow, demo, 12)
    later = [car_world(committed_uow, demo, serial=90 + n, owner_id=resident_id(f"14110219870101{n:03d}"))
             for n in range(6)]

    def attempt(i: int) -> str:
        with UnitOfWork(committed, None, cipher) as uow:
            if i < len(pending):
                auditor = load_principal(uow, account_id=demo["auditor.lishi"])
                assert auditor is not None
                done = review.review(uow, principal=auditor, application_id=pending[i], action=Action.APPROVE)
                uow.commit()
                return done.to_state.value
            submit(uow, later[i - len(pending)], card=bank_card(760 + i))
            return "submitted"

    outcome = race(len(pending) + len(later), attempt)
    # The pool funds five; the other seven wait for money, and every one of them counts as approved.
    assert outcome == Counter({"approved": 5, "awaiting_funds": 7, "submitted": 6}), outcome
    with UnitOfWork(committed, None, cipher) as uow:
        kept = tallies.stored(uow)
        assert kept == tallies.recount(uow)
        assert sum(f.count for c, f in kept.items() if c.milestone == "approved") == 12
        assert sum(f.count for c, f in kept.items() if c.milestone == "submitted") == 18


def test_the_ten_day_panel_adds_up_the_day_rollups_period_by_period(uow: UnitOfWork, demo: dict[str, int]) -> None:
    from recycling import intake, targets
    from recycling.domain import dekad_of
    from tests.recycling_support import ACTOR, IntakeDraftFactory, build_network

    targets.load_shipped(uow, actor="test")
    network = build_network(uow, demo)
    start = TODAY.replace(month=1, day=1)
    days = sorted({start + dt.timedelta(days=offset) for offset in (0, 9, 10, 25, 40)} | {TODAY})
    for n, day in enumerate(days):
        intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=IntakeDraftFactory(
            site_id=network.drop_off, occurred_on=day, units=n + 1))
    uow.commit()
    panel = panels.ten_days(uow, _city_scope())
    assert panel.columns[1:3] == ("报废汽车(辆)累计", "报废汽车(辆)路径") and panel.rows
    appliances = panel.columns.index("废旧家电(台)累计")
    running = Decimal(0)
    for row, period in zip(panel.rows, [dekad_of(d) for d in _dekad_starts(start, TODAY)], strict=True):
        running += targets.actual(uow, indicator=Indicator.APPLIANCES, start=period.start,
                                  end=min(period.end, TODAY), counties=COUNTIES)
        assert row[0] == period.label_zh and row[appliances] == running
    assert running == sum(range(1, len(days) + 1))  # every intake counted once


def _dekad_starts(start: dt.date, until: dt.date) -> list[dt.date]:
    from recycling.domain import dekad_of

    out, day = [], start
    while day <= until:
        out.append(day)
        day = dekad_of(day).end + dt.timedelta(days=1)
    return out
