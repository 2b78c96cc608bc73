"""Benchmark recovery volumes: COPY-load intake rows, time the dashboard query at 100k and 10M rows, intake API rate.

The dashboard query (a year by county × category × month) reads the month rollups only, so its time must not
grow with the number of intake rows: the figure that matters is the 10M/100k query-time ratio (target ≤ 2).
Prints one JSON line. Needs PostgreSQL (BENCH_DATABASE_URL, default a fresh `subsidy_test_h6_bench` database).
Set BENCH_ROWS_LARGE to load fewer rows on a small machine (default 10,000,000).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench.common import bench_database_url, gunicorn
from recycling import rollups, sites
from recycling.domain import CATEGORIES, SiteLevel
from subsidy_app.config import Settings
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.runtime import build_runtime
from subsidy_app.seed import seed_demo

YEAR = 2025
SECRET = "bench-secret-" * 4
SMALL = 100_000
LARGE = int(os.environ.get("BENCH_ROWS_LARGE", "10000000"))
CATEGORY_LIST = list(CATEGORIES)


def prepare(url: str) -> tuple[dict[str, int], str]:
    """Seed demo organisations, one drop-off point per county and a clerk's API token."""
    runtime = build_runtime(Settings(database_url=url, secret_key=SECRET, data_key=SECRET))
    with runtime.unit_of_work() as uow:
        ids = seed_demo(uow)
        org = ids["org:recycler:dismantler"]
        site_ids = {code: sites.register_site(uow, actor="bench", organisation_id=org, code=f"B-{code}",
                                              name=f"bench {code}", level=SiteLevel.DROP_OFF, county_code=code)
                    for code in COUNTIES}
        token = identity.issue_api_token(uow, principal=identity.load_principal(uow, account_id=ids[
            "recycler.dismantler"]), account_id=ids["recycler.dismantler"], name="bench").secret
        uow.commit()
    runtime.engine.dispose()
    return {**site_ids, "org": org}, token


def copy_intakes(url: str, ids: dict[str, int], rows: int, seed: int) -> tuple[float, float]:
    """COPY `rows` intake records spread over the year; return (copy seconds, index rebuild seconds).

    Like any bulk load, the secondary indexes are dropped during COPY and rebuilt after it.
    """
    rng = random.Random(seed)
    counties = list(COUNTIES)
    prefixes = [f"{ids[c]}\t{ids['org']}\t{c}\tresident\t" for c in counties]
    categories = [f"{c}\t" for c in CATEGORY_LIST]
    weights = [f"{rng.randrange(1, 4)}\t{Decimal(rng.randrange(1000, 90000)) / 1000}\t" for _ in range(4096)]
    now = dt.datetime.now(dt.UTC).isoformat()
    days = [f"{dt.date(YEAR, 1, 1) + dt.timedelta(days=d)}\t\tbench\t{now}\n" for d in range(365)]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, conn.cursor() as cur:
        indexes = cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'intake_record' "
                              "AND indexname LIKE 'ix_%'").fetchall()
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        # A bulk load skips the per-row FK triggers; the rows reference the sites created above.
        cur.execute("SET session_replication_role = replica")
        began = time.perf_counter()
        with cur.copy("COPY intake_record (site_id, organisation_id, county_code, source, category, units, weight_kg,"
                      " occurred_on, note, recorded_by, created_at) FROM STDIN") as copy:
            randrange = rng.randrange
            for start in range(0, rows, 10_000):
                copy.write("".join(prefixes[randrange(13)] + categories[randrange(35)] + weights[randrange(4096)]
                                   + days[randrange(365)] for _ in range(min(10_000, rows - start))))
        copied = time.perf_counter() - began
        began = time.perf_counter()
        for _name, definition in indexes:
            cur.execute(definition)
        conn.commit()
    return copied, time.perf_counter() - began


def refresh_rollups(url: str) -> float:
    """Recount the rollups in SQL after a bulk load (what rebuild-rollups does, set-based)."""
    began = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("TRUNCATE volume_rollup, volume_rollup_month")
        conn.execute("INSERT INTO volume_rollup (county_code, category, day, units, weight_kg, records) "
                     "SELECT county_code, category, occurred_on, sum(units), sum(weight_kg), count(*) "
                     "FROM intake_record GROUP BY 1, 2, 3")
        conn.execute("INSERT INTO volume_rollup_month (county_code, category, month, units, weight_kg, records) "
                     "SELECT county_code, category, date_trunc('month', day)::date, sum(units), sum(weight_kg), "
                     "sum(records) FROM volume_rollup GROUP BY 1, 2, 3")
        conn.execute("ANALYZE volume_rollup; ANALYZE volume_rollup_month; ANALYZE intake_record")
        conn.commit()
    return time.perf_counter() - began


def time_dashboard(url: str, runs: int = 30) -> tuple[float, int]:
    """Time the dashboard query through the service (median ms) and return the cell count."""
    runtime = build_runtime(Settings(database_url=url, secret_key=SECRET, data_key=SECRET))
    timings, cells = [], 0
    with runtime.unit_of_work() as uow:
        rollups.year_by_month(uow, year=YEAR)  # warm the cache
        for _ in range(runs):
            began = time.perf_counter()
            cells = len(rollups.year_by_month(uow, year=YEAR))
            timings.append((time.perf_counter() - began) * 1000)
    runtime.engine.dispose()
    return statistics.median(timings), cells


def time_scan(url: str) -> float:
    """Time the same grid computed from intake rows (what the rollups avoid), in ms."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        began = time.perf_counter()
        conn.execute("SELECT county_code, category, date_trunc('month', occurred_on), sum(units), sum(weight_kg) "
                     "FROM intake_record WHERE occurred_on BETWEEN %s AND %s GROUP BY 1, 2, 3",
                     (dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))).fetchall()
        return (time.perf_counter() - began) * 1000


def intake_api_rate(url: str, ids: dict[str, int], token: str, seconds: int = 10) -> dict[str, float]:
    """POST intakes through gunicorn for `seconds` with wrk; return records per second and latencies."""
    env = {"DATABASE_URL": url, "RATE_LIMITS_ENABLED": "0", "SECRET_KEY": SECRET, "DATA_KEY": SECRET}
    bodies = [json.dumps({"site_id": ids[c], "source": "resident", "category": CATEGORY_LIST[i % 35], "units": 1,
                          "weight_kg": "12.5", "occurred_on": f"{YEAR}-06-{1 + i % 28:02d}"})
              for i, c in enumerate(list(COUNTIES) * 4)]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("bodies = {" + ",".join(json.dumps(b) for b in bodies) + "}\n"
                     'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                     f'wrk.headers["Authorization"] = "Bearer {token}"\n'
                     "request = function() return wrk.format(nil, nil, nil, bodies[math.random(#bodies)]) end\n"
                     "done = function(summary, latency, requests)\n"
                     '  io.write(string.format("JSON {\\"requests\\":%d,\\"seconds\\":%f,\\"p50_ms\\":%f,'
                     '\\"p99_ms\\":%f,\\"non2xx\\":%d}\\n", summary.requests, summary.duration / 1e6, '
                     "latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))\nend\n")
    with gunicorn("subsidy_app.app:create_app()", env, workers=2, threads=8) as base:
        subprocess.run(["wrk", "-t2", "-c16", "-d3s", "--timeout", "10s", "-s", script.name,  # warm-up
                        f"{base}/api/v1/recycling/intakes"], capture_output=True, check=True)
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", "-s", script.name,
                              f"{base}/api/v1/recycling/intakes"], capture_output=True, text=True, check=True).stdout
    stats = json.loads(next(x for x in out.splitlines() if x.startswith("JSON "))[5:])
    return {"records_per_second": round(stats["requests"] / stats["seconds"], 1), "p50_ms": round(stats["p50_ms"], 1),
            "p99_ms": round(stats["p99_ms"], 1), "errors": stats["non2xx"]}


def main() -> None:
    """Run the benchmark and print one JSON line."""
    url = bench_database_url(os.environ.get("BENCH_DB_NAME", "subsidy_test_h6_bench"))
    ids, token = prepare(url)
    load_small, _ = copy_intakes(url, ids, SMALL, seed=1)
    refresh_small = refresh_rollups(url)
    small_ms, small_cells = time_dashboard(url)
    scan_small = time_scan(url)
    load_large, reindex_large = copy_intakes(url, ids, LARGE - SMALL, seed=2)
    refresh_large = refresh_rollups(url)
    large_ms, large_cells = time_dashboard(url)
    scan_large = time_scan(url)
    api = intake_api_rate(url, ids, token)
    print(json.dumps({
        "benchmark": "recovery_rollup", "rows_small": SMALL, "rows_large": LARGE,
        "copy_rows_per_second": round((LARGE - SMALL) / load_large),
        "copy_seconds_large": round(load_small + load_large, 1),
        "index_rebuild_seconds_large": round(reindex_large, 1),
        "rollup_refresh_seconds": {"small": round(refresh_small, 2), "large": round(refresh_large, 1)},
        "dashboard_query_ms": {"small": round(small_ms, 2), "large": round(large_ms, 2)},
        "dashboard_cells": {"small": small_cells, "large": large_cells},
        "dashboard_ratio_large_to_small": round(large_ms / small_ms, 2),
        "scan_query_ms_without_rollups": {"small": round(scan_small, 1), "large": round(scan_large, 1)},
        "intake_api": api,
    }))


if __name__ == "__main__":
    main()
