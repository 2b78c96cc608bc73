"""Demo data for rules: publish the shipped versions and open a funded pool per programme in each county."""

from __future__ import annotations

from decimal import Decimal

from subsidy_app.identity.domain import COUNTIES
from subsidy_app.rules import budget, budget_reports, services
from subsidy_app.rules.domain import Programme
from subsidy_app.rules.ruleset import DATA_DIR
from subsidy_app.runtime import Runtime
from subsidy_app.seed import SEED_ACTOR, demo_step

DEMO_ALLOCATION = {
    Programme.CAR_SCRAP: Decimal("2000000.00"),
    Programme.CAR_REPLACE: Decimal("1000000.00"),
    Programme.APPLIANCE: Decimal("800000.00"),
    Programme.DIGITAL: Decimal("300000.00"),
}


@demo_step("rule versions")
def publish_rules(runtime: Runtime) -> str:
    """Publish the shipped rule versions."""
    with runtime.unit_of_work() as uow:
        report = services.publish_rule_files(uow, actor=SEED_ACTOR, paths=sorted(DATA_DIR.glob("*.yaml")))
        uow.commit()
    return f"{len(report.published)} published"


@demo_step("budget pools")
def open_pools(runtime: Runtime) -> str:
    """Open a 2026 pool per programme in each county, funded from the three levels."""
    created = 0
    with runtime.unit_of_work() as uow:
        existing = set(budget_reports.list_pool_ids(uow))
        if existing:
            return "already there"
        for county in COUNTIES:
            for programme, amount in DEMO_ALLOCATION.items():
                pool_id = budget.create_pool(uow, actor=SEED_ACTOR, programme=programme.value, county_code=county,
                                             name="2026年度")
                budget.allocate(uow, actor=SEED_ACTOR, pool_id=pool_id, amount=amount / 2, source="central")
                budget.allocate(uow, actor=SEED_ACTOR, pool_id=pool_id, amount=amount * 3 / 10, source="provincial")
                budget.allocate(uow, actor=SEED_ACTOR, pool_id=pool_id, amount=amount / 5, source="city")
                created += 1
        uow.commit()
    return f"{created} pools"
