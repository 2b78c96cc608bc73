"""Profile the appliance till sale: where one sale's Python time goes, and how long it waits on PostgreSQL.

Sells BENCH_SALES (default 400, after 100 warm-up sales) distinct sales by distinct buyers through the Flask test
client, one after another in one process, against PostgreSQL, with the outbox handed to Redis as deployed (the
worker is not needed: nothing here waits for it). cProfile records every call; the breakdown groups each function's
own time by where its code lives (our packages, SQLAlchemy, psycopg's wait on the server, marshmallow, Flask and
Werkzeug, crypto, the standard library), per sale. Prints one JSON line. Issue 17 §2 starts from these figures.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import appliance_tills
from bench.common import bench_database_url
from subsidy_app.config import Settings
from subsidy_app.runtime import build_runtime

SALES = int(os.environ.get("BENCH_SALES", "400"))
WARM_UP = 100
SECRET = appliance_tills.SECRET
# Where a function's code lives decides its group; the first matching fragment wins.
GROUPS = (
    ("psycopg: waiting on PostgreSQL", ("psycopg/cursor.py:", "psycopg/connection.py:", "psycopg/waiting.py:",
                                        "psycopg/generators.py:", "{method 'execute' of 'psycopg",
                                        "{built-in method poll", "{method 'poll'", "{built-in method select.poll",
                                        "{method 'recv'")),
    ("psycopg: other", ("psycopg",)),
    ("sqlalchemy", ("sqlalchemy",)),
    ("marshmallow/webargs/apispec", ("marshmallow", "webargs", "apispec", "flask_smorest")),
    ("flask/werkzeug/jinja", ("flask", "werkzeug", "jinja2", "itsdangerous", "limits")),
    ("redis/kombu/celery", ("redis", "kombu", "celery")),
    ("crypto/hashing", ("cryptography", "hmac", "hashlib", "_hashlib", "argon2", "_blake2", "secrets")),
    ("our code: appliances", ("subsidy_app/appliances",)),
    ("our code: rules", ("subsidy_app/rules",)),
    ("our code: applications", ("subsidy_app/applications",)),
    ("our code: identity/audit/core/http", ("subsidy_app/",)),
    ("json/orjson", ("json", "orjson")),
    ("python: decimal/datetime", ("decimal", "datetime", "_pydecimal", "zoneinfo")),
)


def _group(location: str) -> str:
    for name, fragments in GROUPS:
        if any(fragment in location for fragment in fragments):
            return name
    return "python: other"


def _sell(client, store_id: int, token: str, buyers: list[str], first: int, count: int) -> int:  # type: ignore[no-untyped-def]
    """POST `count` sales, each a new serial, invoice, key and buyer; return how many were recorded as sales."""
    funded = 0
    for i in range(first, first + count):
        body = {"store_id": store_id, "gtin": appliance_tills.TABLET, "price": "2699.00",
                "sold_on": appliance_tills.SOLD_ON, "serial_number": f"PF{i:08d}",
                "invoice_number": f"2614{i:08d}00000000", "buyer_token": buyers[i]}
        answer = client.post("/api/v1/appliance-sales", json=body, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": f"profile-{i}"})
        ok = answer.status_code in (200, 201) and bool((answer.get_json() or {}).get("sale_id"))
        funded += ok
        if not ok and i == first:
            print(f"first sale refused: {answer.status_code} {answer.get_json()}", file=sys.stderr)
    return funded


def main() -> None:
    """Run the profile and print one JSON line."""
    url = bench_database_url(os.environ.get("BENCH_DB_NAME", "subsidy_bench_profile"))
    appliance_tills.BUYERS = SALES + WARM_UP
    seeded = appliance_tills.prepare(build_runtime(Settings(database_url=url, secret_key=SECRET, data_key=SECRET)))
    from subsidy_app.app import create_app

    app = create_app({"database_url": url, "secret_key": SECRET, "data_key": SECRET, "rate_limits_enabled": False,
                      "redis_url": "redis://127.0.0.1:6379/13"})
    client = app.test_client()
    store_id, token, buyers = int(str(seeded["store_id"])), str(seeded["token"]), list(seeded["buyers"])  # type: ignore[call-overload]
    warm = _sell(client, store_id, token, buyers, 0, WARM_UP)
    profiler = cProfile.Profile()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    profiler.enable()
    funded = _sell(client, store_id, token, buyers, WARM_UP, SALES)
    profiler.disable()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    stats = pstats.Stats(profiler)
    own: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    top = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        location = f"{filename}:{line}({name})"
        own[_group(location)] += tottime
        calls[_group(location)] += ncalls
        if "subsidy_app" in filename or "recycling" in filename:
            top.append((cumtime, f"{Path(filename).parent.name}/{Path(filename).name}:{name}"))
    top.sort(reverse=True)
    per_sale = {k: round(v * 1000 / SALES, 3) for k, v in sorted(own.items(), key=lambda kv: -kv[1])}
    print(json.dumps({
        "benchmark": "sale_profile", "sales": SALES, "funded": funded, "warm_up_funded": warm,
        "wall_ms_per_sale_profiled": round(wall * 1000 / SALES, 2),
        "cpu_ms_per_sale_profiled": round(cpu * 1000 / SALES, 2),
        "own_ms_per_sale_by_group": per_sale,
        "calls_per_sale_by_group": {k: round(calls[k] / SALES, 1) for k in per_sale},
        "top_our_functions_cum_ms_per_sale": [[name, round(t * 1000 / SALES, 3)] for t, name in top[:25]],
        "note": "cProfile inflates Python time about 1.5-2x; read the shares, not the absolute figures",
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
