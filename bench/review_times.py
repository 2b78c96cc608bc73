"""Benchmark the review-time statistics (dashboard panel and /api/v1/oversight/review-times) on PostgreSQL.

Rows are generated with INSERT … SELECT over generate_series: applications over a year, 13 counties, each first
reaching pending review a minute after submission and first decided 1–200 hours later.
Then the figures computed from the applications (review_times._live: what a range not yet kept by the daily job
applications.keep_review_weeks costs) are timed for the dashboard's default range (the year so far, every county)
and for one county's last twelve weeks (the endpoint's default); bench/dashboard.py times the panel with the
ended weeks kept, as in production. BENCH_DATABASE_URL selects the database (default a fresh
`subsidy_bench_review_times`); BENCH_SIZES the application counts (default "100000,1000000"); BENCH_RUNS the
timed runs per size (default 10). Prints one JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench.common import bench_database_url, checkpoint
from subsidy_app.applications import review_times
from subsidy_app.config import Settings
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.runtime import build_runtime

SECRET = "bench-secret-" * 4
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "100000,1000000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
YEAR = 2026
COUNTY_ARRAY = "ARRAY[" + ",".join(f"'{c}'" for c in COUNTIES) + "]"


def generate(url: str, first: int, last: int) -> float:
    """Insert applications first..last, each first reaching pending review a minute after submission and first
    decided 1-200 hours later (the two times the transition function keeps); return seconds taken."""
    began = time.perf_counter()
    moment = f"(timestamptz '{YEAR}-01-01 00:00+08' + ((g::bigint * 7919) % (330 * 86400)) * interval '1 second')"
    reached = f"({moment} + interval '1 minute')"
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("SET session_replication_role = replica")  # a bulk load: the rows' references exist
        conn.execute(f"""
            INSERT INTO application (id, number, status_code, programme, category, state, county_code, payee_kind,
                                     facts, amount, consent_version, consent_at, needs_second_review,
                                     card_correction_needed, submitted_at, updated_at, review_started_at,
                                     first_decided_at)
            SELECT g, 'BENCH' || g, md5(g::text), 'appliance', 'refrigerator', 'approved',
                   ({COUNTY_ARRAY})[g % 13 + 1], 'resident', '{{}}'::jsonb, 500, 'v1', {moment}, false, false,
                   {moment}, {moment}, {reached}, {reached} + (1 + g % 200) * interval '1 hour'
            FROM generate_series({first}, {last}) g""")
        conn.commit()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE application")  # as autovacuum would: the visibility map allows index-only scans
    checkpoint(url)
    return time.perf_counter() - began


def measure(url: str) -> dict[str, Any]:
    """Time the dashboard's pooled figures over the year and one county's per-week figures over twelve weeks."""
    runtime = build_runtime(Settings(database_url=url, secret_key=SECRET, data_key=SECRET))
    cases = {"dashboard_year_all_counties": dict(counties=tuple(COUNTIES), date_from=dt.date(YEAR, 1, 1),
                                                 date_to=dt.date(YEAR, 11, 26), per_county=False),
             "endpoint_12_weeks_one_county": dict(counties=("141102",), date_from=dt.date(YEAR, 9, 3),
                                                  date_to=dt.date(YEAR, 11, 26))}
    out: dict[str, Any] = {}
    with runtime.unit_of_work() as uow:
        for name, args in cases.items():
            review_times._live(uow, **args)  # warm
            timings = []
            for _ in range(RUNS):
                began = time.perf_counter()
                rows = review_times._live(uow, **args)
                timings.append((time.perf_counter() - began) * 1000)
            out[name] = {"p50_ms": round(statistics.median(timings), 1), "max_ms": round(max(timings), 1),
                         "weeks": len({r.week for r in rows}), "reviewed": sum(r.reviewed for r in rows)}
    runtime.engine.dispose()
    return out


def main() -> None:
    url = bench_database_url("subsidy_bench_review_times")
    figures: dict[str, Any] = {"benchmark": "review_times"}
    done = 0
    for size in SIZES:
        figures[f"load_seconds_{size}"] = round(generate(url, done + 1, size), 1)
        done = size
        figures[str(size)] = measure(url)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
