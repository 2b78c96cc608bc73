"""Review-time statistics: median and p90 per county per ISO week (Beijing time), checked against hand-computed
figures, the same on PostgreSQL (percentile_cont) and on SQLite (computed in Python), scoped per county."""

from __future__ import annotations

import datetime as dt
import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from flask.testing import FlaskClient
from sqlalchemy import delete, insert, select, update

from subsidy_app import migrate
from subsidy_app.app import create_app
from subsidy_app.applications import review_times
from subsidy_app.applications.models import Application, ApplicationEvent
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import seed_demo
from tests.api.test_work_queue import _pending
from tests.conftest import TEST_AUDIT_KEY, _settings_dict, make_settings
from tests.helpers import bearer, login

LISHI, XIAOYI = "141102", "141181"
UTC = dt.UTC
W49, W50 = dt.date(2026, 11, 30), dt.date(2026, 12, 7)
MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0023_review_times.py"
RANGE = {"date_from": dt.date(2026, 11, 30), "date_to": dt.date(2026, 12, 13)}


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


# (county, reached pending_review, first decision, hours) — each application's story, in UTC.
STORIES = [
    (LISHI, "2026-11-30T01:00", "approve", 1),
    (LISHI, "2026-12-01T02:00", "reject", 2),
    (LISHI, "2026-12-02T03:00", "return", 4),
    (LISHI, "2026-12-03T00:00", "approve", 10),
    (XIAOYI, "2026-12-01T00:00", "approve", 5),
    (LISHI, "2026-12-08T00:00", "approve", 24),
    # Decided 2026-12-06 17:00 UTC = Monday 2026-12-07 01:00 in Beijing: week 50, not 49.
    (LISHI, "2026-12-04T17:00", "approve", 48),
]


def _backfill(uow: UnitOfWork) -> None:
    """Set the applications' review times from their events, as migration 0023 does for existing data."""
    spec = importlib.util.spec_from_file_location("review_times_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    uow.session.execute(update(Application).values(review_started_at=None, first_decided_at=None))
    with Operations.context(MigrationContext.configure(uow.session.connection())):
        migration._backfill()


def build(uow: UnitOfWork, demo: dict[str, int]) -> list[int]:
    """The stories as applications whose history is exactly that (plus the noise the measure must ignore); their
    review times are then derived from those events by the migration's backfill."""
    ids = []
    for serial, (county, reached, action, hours) in enumerate(STORIES, start=1):
        app = _pending(uow, demo, serial)
        start = _at(reached)
        decided = start + dt.timedelta(hours=hours)
        uow.session.execute(delete(ApplicationEvent).where(ApplicationEvent.application_id == app.id))
        uow.session.execute(update(Application).where(Application.id == app.id).values(county_code=county))
        events = [("submit", "draft", "checking", start - dt.timedelta(hours=1)),
                  ("checks_done", "checking", "pending_review", start),
                  (action, "pending_review", "approved", decided),
                  # A later return to pending review and a second decision change nothing: the first ones count.
                  ("resubmit", "returned", "pending_review", decided + dt.timedelta(hours=1)),
                  ("reject", "pending_review", "rejected", decided + dt.timedelta(hours=30)),
                  ("approve_second", "pending_second_review", "approved", decided + dt.timedelta(hours=31))]
        uow.session.execute(insert(ApplicationEvent), [
            {"application_id": app.id, "action": a, "from_state": f, "to_state": t, "actor": "t", "at": at}
            for a, f, t, at in events])
        ids.append(app.id)
    # Still waiting: no decision yet, so no review time.
    waiting = _pending(uow, demo, len(STORIES) + 1)
    uow.session.execute(update(ApplicationEvent).where(ApplicationEvent.application_id == waiting.id)
                        .values(at=_at("2026-12-01T00:00")))
    _backfill(uow)
    uow.commit()
    return ids


EXPECTED = [  # hand-computed: p = x[k] + (x[k+1] - x[k]) * f with k + f = p * (n - 1)
    review_times.ReviewTimeRow(LISHI, W49, 4, Decimal("3.0"), Decimal("8.2")),  # 1 2 4 10: (2+4)/2; 4 + .7*6
    review_times.ReviewTimeRow(XIAOYI, W49, 1, Decimal("5.0"), Decimal("5.0")),
    review_times.ReviewTimeRow(LISHI, W50, 2, Decimal("36.0"), Decimal("45.6")),  # 24 48: 36; 24 + .9*24
]
POOLED = [review_times.ReviewTimeRow(None, W49, 5, Decimal("4.0"), Decimal("8.0")),  # 1 2 4 5 10: 4; 5 + .6*5
          review_times.ReviewTimeRow(None, W50, 2, Decimal("36.0"), Decimal("45.6"))]


def test_median_and_p90_per_county_and_week_match_the_hand_computed_figures(
        demo: dict[str, int], uow: UnitOfWork) -> None:
    build(uow, demo)
    both = (LISHI, XIAOYI)
    assert review_times.review_times(uow, counties=both, **RANGE) == EXPECTED
    assert review_times.review_times(uow, counties=both, per_county=False, **RANGE) == POOLED
    assert review_times.review_times(uow, counties=(XIAOYI,), **RANGE) == [EXPECTED[1]]
    # The range is of first-decision days in Beijing: 2026-12-06 ends before the Monday-01:00 decision.
    week49 = review_times.review_times(uow, counties=both, date_from=W49, date_to=dt.date(2026, 12, 6))
    assert week49 == EXPECTED[:2]
    assert review_times.review_times(uow, counties=both, programme="appliance", **RANGE) == []


def test_the_transition_function_keeps_the_two_times_the_statistics_read(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    app = _pending(uow, demo, 1)
    assert app.review_started_at is not None and app.first_decided_at is None
    started = app.review_started_at
    auditor = bearer(client, "auditor.lishi")
    returned = client.post(f"/api/v1/applications/{app.id}/review", json={"action": "return", "reason": "补正"},
                           headers=auditor)
    assert returned.status_code == 200, returned.get_json()
    uow.session.expire_all()
    found = uow.session.get(Application, app.id)
    assert found is not None and found.first_decided_at is not None and found.review_started_at == started
    events = {e.action: e.at for e in uow.session.scalars(select(ApplicationEvent).where(
        ApplicationEvent.application_id == app.id))}
    assert (found.review_started_at, found.first_decided_at) == (events["checks_done"], events["return"])
    decided = found.first_decided_at
    # The backfill of migration 0023 derives the same two times from the events.
    _backfill(uow)
    uow.session.expire_all()
    again = uow.session.get(Application, app.id)
    assert again is not None and (again.review_started_at, again.first_decided_at) == (started, decided)


def test_the_python_path_gives_the_database_figures_on_the_same_rows(
        demo: dict[str, int], uow: UnitOfWork, on_postgres: bool) -> None:
    build(uow, demo)
    rows = review_times._first_decisions((LISHI, XIAOYI), RANGE["date_from"], RANGE["date_to"], None)
    fetched = list(uow.session.execute(select(rows)))
    assert review_times.percentiles(fetched) == review_times.review_times(uow, counties=(LISHI, XIAOYI), **RANGE)
    assert review_times.percentiles(fetched, per_county=False) == POOLED
    if on_postgres:  # the figures above came from percentile_cont
        assert uow.session.get_bind().dialect.name == "postgresql"


def test_sqlite_gives_the_same_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_KEY", TEST_AUDIT_KEY)
    url = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    migrate.upgrade(url)
    app = create_app(_settings_dict(make_settings(url)))
    with app.extensions["subsidy"].unit_of_work() as uow:
        build(uow, seed_demo(uow))
        assert uow.session.get_bind().dialect.name == "sqlite"
        assert review_times.review_times(uow, counties=(LISHI, XIAOYI), **RANGE) == EXPECTED
        assert review_times.review_times(uow, counties=(LISHI, XIAOYI), per_county=False, **RANGE) == POOLED


def test_the_endpoint_says_what_it_measures_and_keeps_a_county_auditor_to_their_county(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    build(uow, demo)
    query = "from=2026-11-30&to=2026-12-13"
    body = client.get(f"/api/v1/oversight/review-times?{query}", headers=bearer(client, "leader.city")).get_json()
    assert "pending_review" in body["measured"] and (body["from"], body["to"]) == ("2026-11-30", "2026-12-13")
    assert [(r["county_code"], r["iso_week"], r["reviewed"], r["median_hours"], r["p90_hours"])
            for r in body["rows"]] == [(LISHI, "2026-W49", 4, "3.0", "8.2"), (XIAOYI, "2026-W49", 1, "5.0", "5.0"),
                                       (LISHI, "2026-W50", 2, "36.0", "45.6")]
    assert body["rows"][0]["county_name"] == "离石区"
    xiaoyi = bearer(client, "auditor.xiaoyi")
    own = client.get(f"/api/v1/oversight/review-times?{query}", headers=xiaoyi).get_json()
    assert [r["county_code"] for r in own["rows"]] == [XIAOYI]
    assert client.get(f"/api/v1/oversight/review-times?{query}&county={LISHI}", headers=xiaoyi).status_code == 404
    assert client.get(f"/api/v1/oversight/review-times?{query}&county=999999", headers=xiaoyi).status_code == 404
    bad = client.get("/api/v1/oversight/review-times?from=2026-12-13&to=2026-11-30", headers=xiaoyi)
    assert bad.status_code == 422 and "from" in bad.get_json()["errors"]
    bad = client.get(f"/api/v1/oversight/review-times?{query}&programme=boats", headers=xiaoyi)
    assert bad.status_code == 422 and "programme" in bad.get_json()["errors"]
    assert client.get("/api/v1/oversight/review-times", headers=bearer(client, "dealer.car")).status_code == 403


def test_the_dashboard_panel_draws_the_weekly_median_and_p90_with_its_table(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    build(uow, demo)
    login(client, "leader.city")
    page = client.get("/staff/dashboard?date_from=2026-11-30&date_to=2026-12-13").get_data(as_text=True)
    assert 'id="panel-review_times"' in page and 'id="chart-review_times"' in page
    table = page.split('id="table-review_times"', 1)[1].split("</table>", 1)[0]
    assert "2026-W49(11-30起)" in table and "8.0" in table and "45.6" in table
    csv = client.get("/staff/dashboard/review_times.csv?date_from=2026-11-30&date_to=2026-12-13")
    assert csv.status_code == 200 and "2026-W50(12-07起),2,36.0,45.6" in csv.get_data(as_text=True)
    login(client, "auditor.xiaoyi")
    own = client.get("/staff/dashboard?date_from=2026-11-30&date_to=2026-12-13").get_data(as_text=True)
    table = own.split('id="table-review_times"', 1)[1].split("</table>", 1)[0]
    assert "2026-W49" in table and "2026-W50" not in table  # only 孝义's one review


def test_ended_weeks_are_kept_once_and_read_back_as_the_same_figures(
        demo: dict[str, int], uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidy_app.applications.models import ReviewTimeWeek
    from subsidy_app.broker import BEAT_JOBS
    from subsidy_app.identity.domain import COUNTIES
    from tests.helpers import freeze_clock

    build(uow, demo)
    freeze_clock(monkeypatch, _at("2026-12-21T04:00"))  # Monday of week 52 in Beijing: weeks 49 to 51 have ended
    every = tuple(COUNTIES)
    ranges = [RANGE, {"date_from": dt.date(2026, 12, 2), "date_to": dt.date(2026, 12, 20)},  # a partial first week
              {"date_from": dt.date(2026, 11, 1), "date_to": dt.date(2026, 12, 21)}]
    questions = [dict(counties=every, per_county=False), dict(counties=every, per_county=True),
                 dict(counties=(LISHI,), per_county=False), dict(counties=(XIAOYI,), per_county=True)]
    live = [review_times._live(uow, **q, **r) for q in questions for r in ranges]
    assert review_times.keep_weeks(uow) == 3 and review_times.keep_weeks(uow) == 0  # kept once
    kept = {(w.week, w.county_code): (w.reviewed, w.median_hours) for w in uow.session.scalars(select(ReviewTimeWeek))}
    assert kept[(W49, "*")] == (5, Decimal("4.0")) and kept[(W50, LISHI)] == (2, Decimal("36.0"))
    assert kept[(dt.date(2026, 12, 14), "*")] == (0, Decimal("0.0"))  # nobody decided: kept as such
    assert [review_times.review_times(uow, **q, **r) for q in questions for r in ranges] == live
    assert review_times.review_times(uow, counties=every, per_county=False, **RANGE) == POOLED
    # Read, not computed: a kept figure is what the dashboard shows.
    uow.session.execute(update(ReviewTimeWeek).where(ReviewTimeWeek.week == W50, ReviewTimeWeek.county_code == "*")
                        .values(median_hours=Decimal("99.9")))
    assert review_times.review_times(uow, counties=every, per_county=False, **RANGE)[1].median_hours == \
        Decimal("99.9")
    # A programme, or some counties but not all, is always computed from the applications.
    assert review_times.review_times(uow, counties=every, per_county=False, programme="car_scrap", **RANGE) == \
        POOLED
    assert ("review-weeks-daily" in BEAT_JOBS) and BEAT_JOBS["review-weeks-daily"][1] == \
        "applications.keep_review_weeks"
