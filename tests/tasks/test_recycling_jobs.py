"""Recycling jobs and commands: beat entries, the daily jobs, `recovery rebuild-rollups`, `reports make`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask
from sqlalchemy import select, update

from recycling import intake
from recycling.models import HandInObligation, RecoveryReport, VolumeRollup
from subsidy_app.broker import BEAT_JOBS
from subsidy_app.core.clock import business_date
from subsidy_app.core.jobs import registered_jobs
from subsidy_app.core.uow import UnitOfWork
from tests.recycling_support import ACTOR, IntakeDraftFactory, build_network


def test_daily_jobs_are_registered_and_scheduled(app: Flask) -> None:
    scheduled = {job for _schedule, job in BEAT_JOBS.values()}
    assert {"recycling.flag_overdue", "recycling.make_due_reports"} <= scheduled
    assert {"recycling.flag_overdue", "recycling.make_due_reports", "recycling.import_intake",
            "recycling.make_report"} <= set(registered_jobs())


def test_scheduled_jobs_run_through_the_outbox(uow: UnitOfWork, demo: dict[str, int]) -> None:
    from recycling.closed_loop import register_hand_in_obligation

    late = register_hand_in_obligation(uow, trade_in_ref="JOB-1", kind="appliance",
                                       dealer_org_id=demo["org:dealer:appliance"], county_code="141102",
                                       category="appliance.television",
                                       occurred_on=business_date() - dt.timedelta(days=60))
    uow.enqueue("recycling.flag_overdue")
    uow.enqueue("recycling.make_due_reports")
    uow.commit()  # the in-process dispatcher runs both after the commit
    assert uow.session.get(HandInObligation, late).status == "overdue"
    assert len(list(uow.session.scalars(select(RecoveryReport)))) == 2


def test_rebuild_rollups_verify_reports_a_difference_and_rebuild_fixes_it(app: Flask, uow: UnitOfWork,
                                                                         demo: dict[str, int]) -> None:
    network = build_network(uow, demo)
    intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=IntakeDraftFactory(
        site_id=network.drop_off, units=2, weight_kg=Decimal("20")))
    uow.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["recovery", "rebuild-rollups", "--verify"]).exit_code == 0
    uow.session.execute(update(VolumeRollup).values(units=VolumeRollup.units + 5))
    uow.commit()
    broken = runner.invoke(args=["recovery", "rebuild-rollups", "--verify"])
    assert broken.exit_code == 1 and "DIFF" in broken.output
    assert runner.invoke(args=["recovery", "rebuild-rollups"]).exit_code == 0
    assert runner.invoke(args=["recovery", "rebuild-rollups", "--verify"]).exit_code == 0


def test_reports_make_produces_any_past_period(app: Flask, demo: dict[str, int]) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reports", "make", "--period", "2025-12-3", "--period", "2025-12"])
    assert result.exit_code == 0, result.output
    assert "2025-12-3: report #" in result.output and "2025-12: report #" in result.output
    refused = runner.invoke(args=["reports", "make", "--period", "2025-13"])
    assert refused.exit_code != 0 and "YYYY-MM" in refused.output
