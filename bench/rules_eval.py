"""Benchmark the rules: pure evaluations per second, and quotes through gunicorn vs a bare Flask endpoint.

Prints one JSON line. Needs PostgreSQL (BENCH_DATABASE_URL, default a fresh `subsidy_bench` database) and,
for the HTTP part, gunicorn (installed with the project) and preferably `wrk` (falls back to a Python client).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SERVER, bench_database_url, gunicorn, post_load
from subsidy_app.rules.domain import Facts
from subsidy_app.rules.evaluator import evaluate, select_version
from subsidy_app.rules.ruleset import load_rules_dir

QUOTE = {"programme": "car_scrap", "category": "passenger_car", "purchase_date": "2026-03-01",
         "price": "150000.00", "new_vehicle_type": "nev", "old_vehicle_fuel": "petrol",
         "old_vehicle_first_registration": "2012-06-30", "old_vehicle_owner_since": "2020-01-01"}


def _facts() -> list[Facts]:
    base = dt.date(2026, 2, 1)
    out = []
    for i in range(1000):
        out.append(Facts(programme="appliance", purchase_date=base + dt.timedelta(days=i % 200),
                         price=Decimal(2000 + i), category=("refrigerator", "television", "air_conditioner")[i % 3],
                         energy_grade=1 + i % 2))
        out.append(Facts(programme="car_scrap", purchase_date=base + dt.timedelta(days=i % 200),
                         price=Decimal(100000 + i * 10), category="passenger_car", new_vehicle_type="nev",
                         old_vehicle_fuel="petrol", old_vehicle_first_registration=dt.date(2012, 1, 1),
                         old_vehicle_owner_since=dt.date(2020, 1, 1)))
    return out


def pure_evaluations_per_second(seconds: float = 3.0) -> float:
    """Evaluate prepared facts with pre-selected versions as fast as one process can."""
    versions = load_rules_dir()
    pairs = [(select_version(versions, f.programme, f.category or "", f.purchase_date), f) for f in _facts()]
    work = [(v, f) for v, f in pairs if v is not None]
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for version, facts in work:
            evaluate(version, facts)
        count += len(work)
    return count / (time.perf_counter() - start)


def main() -> None:
    """Run the benchmark and print one JSON line."""
    evals = pure_evaluations_per_second()
    url = bench_database_url("subsidy_bench_rules")
    env = {"DATABASE_URL": url, "RATE_LIMITS_ENABLED": "0", "SECRET_KEY": "bench-" * 8, "DATA_KEY": "bench-" * 8}
    from subsidy_app.app import create_app

    app = create_app({"database_url": url})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["rules", "load"]).exit_code == 0
    app.extensions["subsidy"].engine.dispose()
    with gunicorn("subsidy_app.app:create_app()", env) as base:
        post_load(base, "/api/v1/quotes", QUOTE, seconds=3)  # warm-up: caches, connection pools
        quote = post_load(base, "/api/v1/quotes", QUOTE, seconds=10)
    with gunicorn("bench.bare_app:create_bare_app()", env) as base:
        post_load(base, "/constant", QUOTE, seconds=3)
        bare = post_load(base, "/constant", QUOTE, seconds=10)
    print(json.dumps({
        "benchmark": "rules_eval",
        "evaluations_per_s": round(evals),
        "quote_rps": round(quote["rps"], 1),
        "quote_p50_ms": round(quote["p50_ms"], 2),
        "quote_p99_ms": round(quote["p99_ms"], 2),
        "quote_errors": quote["errors"],
        "bare_rps": round(bare["rps"], 1),
        "ratio_quote_to_bare": round(quote["rps"] / bare["rps"], 3),
        "server": SERVER,
    }))


if __name__ == "__main__":
    main()
