"""Benchmark the bureau dashboard page at 100k and at 10M applications and hand-in obligations.

Rows are generated in PostgreSQL (INSERT … SELECT over generate_series: a year of applications over 13 counties and
four programmes, 40 % paid, 20 % approved, 10 % rejected, the decided ones with their review times; one hand-in
obligation per application), and the
application and hand-in tallies are filled from them as the migrations' backfills do. Then the page is fetched as
the city's leader through the app (Flask's test client: server time, no network) and each panel's builder is timed
on its own.
Target (issue 15): the large figure within 2× of the small one, and p99 under 300 ms.
BENCH_DATABASE_URL selects the database (default a fresh `subsidy_bench_dashboard`); BENCH_LARGE the second size
(default 10,000,000); BENCH_RUNS the page fetches per size (default 40). Prints one JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench.common import bench_database_url, checkpoint
from recycling import targets
from subsidy_app.config import Settings
from subsidy_app.dashboard import panels
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.identity.services import load_principal
from subsidy_app.rules import budget, budget_reports
from subsidy_app.runtime import build_runtime
from subsidy_app.seed import seed_demo

SECRET = "bench-secret-" * 4
SMALL = 100_000
LARGE = int(os.environ.get("BENCH_LARGE", "10000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "40"))
YEAR = 2026
PROGRAMMES = ("car_scrap", "car_replace", "appliance", "digital")
CATEGORIES = ("passenger_car", "passenger_car", "refrigerator", "phone")  # one per programme, in that order
COUNTY_ARRAY = "ARRAY[" + ",".join(f"'{c}'" for c in COUNTIES) + "]"


def prepare(url: str) -> dict[str, int]:
    """Seed the demo, the 2027 targets and a funded pool per county and programme."""
    runtime = build_runtime(Settings(database_url=url, secret_key=SECRET, data_key=SECRET))
    with runtime.unit_of_work() as uow:
        ids = seed_demo(uow)
        targets.load_shipped(uow, actor="bench")
        for county in COUNTIES:
            for programme in PROGRAMMES:
                existing = budget_reports.list_pool_ids(uow, counties=frozenset({county}), programme=programme)
                pool = existing[0] if existing else budget.create_pool(
                    uow, actor="bench", programme=programme, county_code=county, name=f"{YEAR}")
                budget.allocate(uow, actor="bench", pool_id=pool, amount=Decimal("50000000.00"), source="central")
        uow.commit()
    runtime.engine.dispose()
    return ids


def generate(url: str, first: int, last: int, dealer_org_id: int) -> float:
    """Insert applications and obligations numbered first..last and refill the tallies; return seconds taken."""
    began = time.perf_counter()
    moment = f"(timestamptz '{YEAR}-01-01 00:00+08' + (g % (330 * 86400)) * interval '1 second')"
    state = ("CASE WHEN g % 10 < 4 THEN 'paid' WHEN g % 10 < 6 THEN 'approved' WHEN g % 10 < 7 THEN 'rejected' "
             "ELSE 'pending_review' END")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("SET session_replication_role = replica")  # a bulk load: the rows' references exist
        conn.execute(f"""
            INSERT INTO application (number, status_code, programme, category, state, county_code, payee_kind,
                                     facts, amount, consent_version, consent_at, needs_second_review,
                                     card_correction_needed, submitted_at, updated_at, review_started_at,
                                     first_decided_at)
            SELECT 'BENCH' || g, md5(g::text), (ARRAY{list(PROGRAMMES)})[g % 4 + 1],
                   (ARRAY{list(CATEGORIES)})[g % 4 + 1], {state}, ({COUNTY_ARRAY})[g % 13 + 1], 'resident',
                   '{{}}'::jsonb, 500 + g % 2000, 'v1', {moment}, false, false, {moment}, {moment},
                   {moment} + interval '1 minute',
                   CASE WHEN g % 10 < 7 THEN {moment} + interval '1 minute' + (1 + g % 200) * interval '1 hour' END
            FROM generate_series({first}, {last}) g""")
        conn.execute(f"""
            INSERT INTO hand_in_obligation (trade_in_ref, kind, dealer_org_id, county_code, category, occurred_on,
                                            due_on, status, closed_on, created_at)
            SELECT 'BENCH-' || g, 'appliance', {dealer_org_id}, ({COUNTY_ARRAY})[g % 13 + 1], 'refrigerator',
                   ({moment})::date, ({moment})::date + 15,
                   (ARRAY['closed', 'closed', 'open', 'overdue'])[g % 4 + 1],
                   CASE WHEN g % 4 < 2 THEN ({moment})::date + g % 20 END, now()
            FROM generate_series({first}, {last}) g""")
        # The tallies as the transitions would have kept them (the migration's backfill, from states here).
        conn.execute("TRUNCATE application_tally")
        day = "(submitted_at AT TIME ZONE 'Asia/Shanghai')::date"
        for milestone, where, amount in (("submitted", "true", "0"),
                                         ("approved", "state IN ('approved', 'paid')", "sum(amount)"),
                                         ("paid", "state = 'paid'", "sum(amount)"),
                                         ("rejected", "state = 'rejected'", "0")):
            conn.execute(f"""
                INSERT INTO application_tally (day, county_code, programme, category, milestone, count, amount)
                SELECT {day}, county_code, programme, category, '{milestone}', count(*), {amount}
                FROM application WHERE {where} GROUP BY 1, 2, 3, 4, 5""")
        conn.execute("TRUNCATE hand_in_tally")
        conn.execute("""
            INSERT INTO hand_in_tally (county_code, occurred_on, standing, count)
            SELECT county_code, occurred_on,
                   CASE WHEN status <> 'closed' THEN status
                        WHEN closed_on <= due_on THEN 'closed_on_time' ELSE 'closed_late' END, count(*)
            FROM hand_in_obligation GROUP BY 1, 2, 3""")
        conn.execute("ANALYZE")
        conn.commit()
    checkpoint(url)
    return time.perf_counter() - began


def measure(url: str) -> dict[str, Any]:
    """Fetch the page RUNS times as the leader; time each panel's builder; return the figures."""
    from subsidy_app.app import create_app
    from subsidy_app.seed import DEMO_PASSWORD

    app = create_app(Settings(database_url=url, secret_key=SECRET, data_key=SECRET).with_overrides(
        rate_limits=False))
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    csrf = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"username": "leader.city", "password": DEMO_PASSWORD,
                                       "csrf_token": csrf}).status_code == 302
    assert client.get("/staff/dashboard").status_code == 200  # warm
    timings = []
    for _ in range(RUNS):
        began = time.perf_counter()
        response = client.get("/staff/dashboard")
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    runtime = build_runtime(Settings(database_url=url, secret_key=SECRET, data_key=SECRET))
    by_panel: dict[str, float] = {}
    with runtime.unit_of_work() as uow:
        leader = load_principal(uow, account_id=_leader_id(uow))
        assert leader is not None
        today = dt.date(YEAR, 11, 26)
        scope = panels.scope_for(leader, date_from=dt.date(YEAR, 1, 1), date_to=today, county=None)
        for name, build in _builders(uow, scope).items():
            runs = []
            for _ in range(10):
                began = time.perf_counter()
                build()
                runs.append((time.perf_counter() - began) * 1000)
            by_panel[name] = round(statistics.median(runs), 2)
    runtime.engine.dispose()
    timings.sort()
    return {"page_p50_ms": round(statistics.median(timings), 1),
            "page_p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 1),
            "panel_median_ms": by_panel}


def _leader_id(uow: Any) -> int:
    from sqlalchemy import select

    from subsidy_app.identity.models import Account

    return int(uow.session.scalar(select(Account.id).where(Account.username == "leader.city")))


def _builders(uow: Any, scope: panels.Scope) -> dict[str, Any]:
    from recycling.domain import Indicator

    return {
        "applications": lambda: [panels.trend(uow, scope), panels.by_county(uow, scope),
                                 panels.by_programme(uow, scope)],  # the three panels the tallies feed
        "pools": lambda: panels.pools(uow, scope),
        "recovery": lambda: [panels.recovery(uow, scope, i) for i in Indicator],
        "closure": lambda: panels.closure(uow, scope),
        "fraud": lambda: panels.fraud_signals(uow, scope),
        # Percentiles add up to nothing: ended weeks are kept by a daily job, the rest read from the decisions.
        "review_times": lambda: panels.review_time_panel(uow, scope),
    }


def keep_review_weeks(url: str) -> float:
    """Run the daily job keeping the ended weeks' review-time figures, as beat would; return seconds taken."""
    from subsidy_app.applications import review_times
    from subsidy_app.applications.models import ReviewTimeWeek

    began = time.perf_counter()
    runtime = build_runtime(Settings(database_url=url, secret_key=SECRET, data_key=SECRET))
    with runtime.unit_of_work() as uow:
        uow.session.query(ReviewTimeWeek).delete()  # the new rows change every week's figures: keep them afresh
        review_times.keep_weeks(uow)
        uow.commit()
    runtime.engine.dispose()
    return time.perf_counter() - began


def main() -> None:
    url = bench_database_url("subsidy_bench_dashboard")
    ids = prepare(url)
    dealer = ids["org:dealer:appliance"]
    results: dict[str, Any] = {}
    done = 0
    for size in (SMALL, LARGE):
        load_s = generate(url, done + 1, size, dealer)
        keep_s = keep_review_weeks(url)
        done = size
        results[str(size)] = {"load_s": round(load_s, 1), "keep_review_weeks_s": round(keep_s, 2), **measure(url)}
    small, large = results[str(SMALL)], results[str(LARGE)]
    print(json.dumps({"benchmark": "dashboard", "sizes": results, "runs": RUNS,
                      "large_to_small_p50": round(large["page_p50_ms"] / small["page_p50_ms"], 2),
                      "load_avg": [round(x, 2) for x in os.getloadavg()]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
