"""Benchmark a programme's opening minute (issue 17 §3): 20,000 distinct buyers at the till against a county pool
that funds exactly 15,000 of them, with budget escrow off and on.

Each run starts from a fresh database: demo organisations, the published rules, one approved store, the buyers
(persons and the signed confirmations their phones show) and the 141102 digital pool holding exactly
FUNDED × 404.85 yuan (a 2,699-yuan tablet's 15 % discount). gunicorn serves the app (as in bench/common.py); a
Python client sends every buyer's sale exactly once over CLIENTS keep-alive connections as fast as the server
answers (wrk cannot stop after a given number of requests), counting each answer: 200 (funded), 409
`budget.exhausted`, anything else. Then SQL checks that exactly FUNDED sales, reservations and
ledger lines exist, that the pool row equals its reservations plus what its tranches hold, and that nothing is
over-committed. Prints one JSON line with both runs and the escrow run's throughput over the single-row run's.

BENCH_SCALE (default 1.0) shrinks the buyers and the pool; BENCH_TRANCHES (default 16) the escrow run's tranches;
BENCH_CLIENTS (default 64) the connections.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import insert

from bench.common import SERVER, bench_database_url, checkpoint, gunicorn
from reverse_invoice.demo import make_resident_id
from subsidy_app.appliances.buyer import confirmation_token
from subsidy_app.appliances.demo import demo_gtin, prepare_store
from subsidy_app.config import Settings
from subsidy_app.core.db import utcnow
from subsidy_app.core.personal_data import mask_name, mask_resident_id
from subsidy_app.identity import services as identity
from subsidy_app.identity.models import Person
from subsidy_app.rules import budget
from subsidy_app.rules import services as rules
from subsidy_app.rules.ruleset import DATA_DIR
from subsidy_app.runtime import build_runtime
from subsidy_app.seed import seed_demo

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
BUYERS, FUNDED = int(20_000 * SCALE), int(15_000 * SCALE)
TRANCHES = int(os.environ.get("BENCH_TRANCHES", "16"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "64"))
DISCOUNT = Decimal("404.85")
SECRET = "bench-secret-" * 4
TABLET = demo_gtin(7)
SOLD_ON = "2025-03-01"


def prepare(url: str) -> dict[str, object]:
    """Seed the store, the exactly-sized pool, the buyers and a till token; return what the load needs."""
    runtime = build_runtime(Settings(database_url=url, secret_key=SECRET, data_key=SECRET))
    with runtime.unit_of_work() as uow:
        ids = seed_demo(uow)
        rules.publish_rule_files(uow, actor="bench", paths=sorted(DATA_DIR.glob("*.yaml")))
        pool_id = budget.create_pool(uow, actor="bench", programme="digital", county_code="141102", name="launch")
        budget.allocate(uow, actor="bench", pool_id=pool_id, amount=FUNDED * DISCOUNT, source="central")
        store_id = prepare_store(uow, dealer_org_id=ids["org:dealer:appliance"])
        principal = identity.load_principal(uow, account_id=ids["dealer.appliance"])
        assert principal is not None
        token = identity.issue_api_token(uow, principal=principal, account_id=ids["dealer.appliance"],
                                         name="launch").secret
        cipher, now = uow.cipher, utcnow()
        numbers = [make_resident_id(i, birth=f"{dt.date(1960, 1, 1) + dt.timedelta(days=i // 1000):%Y%m%d}")
                   for i in range(BUYERS)]
        person_ids = list(uow.session.scalars(insert(Person).returning(Person.id), [
            {"id_number_hash": cipher.match_hash(n), "id_number_enc": cipher.encrypt(n),
             "id_number_masked": mask_resident_id(n), "name_enc": cipher.encrypt("王五"),
             "name_masked": mask_name("王五"), "birth_date": dt.date(1960, 1, 1), "created_at": now}
            for n in numbers]))
        uow.commit()
    runtime.engine.dispose()
    buyers = [confirmation_token(SECRET, person_id=p, store_id=store_id, phone_hash=None) for p in person_ids]
    return {"store_id": store_id, "token": token, "buyers": buyers, "pool_id": pool_id}


def _load(base: str, seeded: dict[str, object]) -> dict[str, object]:
    """Send every buyer's sale once over CLIENTS keep-alive connections, as fast as the server answers."""
    buyers, store_id, token = seeded["buyers"], seeded["store_id"], seeded["token"]
    assert isinstance(buyers, list)
    host, port = base.replace("http://", "").split(":")
    queue = iter(range(len(buyers)))
    lock = threading.Lock()
    answers: list[tuple[int, str | None, float]] = []

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        mine: list[tuple[int, str | None, float]] = []
        while True:
            with lock:
                i = next(queue, None)
            if i is None:
                break
            body = json.dumps({"store_id": store_id, "gtin": TABLET, "price": "2699.00", "sold_on": SOLD_ON,
                               "serial_number": f"LB{i:08d}", "invoice_number": f"2614{i:08d}00000000",
                               "buyer_token": buyers[i]})
            began = time.perf_counter()
            conn.request("POST", "/api/v1/appliance-sales", body, {
                "Content-Type": "application/json", "Authorization": f"Bearer {token}",
                "Idempotency-Key": f"launch-{i}"})
            response = conn.getresponse()
            answer = json.loads(response.read() or b"{}")
            mine.append((response.status, answer.get("reason") if response.status != 200 else
                         ("funded" if answer.get("sale_id") else "not_funded"), time.perf_counter() - began))
        conn.close()
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    outcomes = Counter((status, reason) for status, reason, _ in answers)
    latencies = sorted(ms for _, _, ms in answers)
    funded, exhausted = outcomes[(200, "funded")], outcomes[(409, "budget.exhausted")]
    return {"sent": len(answers), "funded": funded, "exhausted": exhausted,
            "other": {f"{s} {r}": n for (s, r), n in outcomes.items()
                      if (s, r) not in ((200, "funded"), (409, "budget.exhausted"))},
            "server_errors": sum(n for (s, _r), n in outcomes.items() if s >= 500),
            "seconds": round(seconds, 2), "sales_per_s": round(len(answers) / seconds, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1)}


def check(url: str, pool_id: int) -> dict[str, object]:
    """What the database holds after the burst: sales, reservations, ledger, pool row and tranches."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        one = lambda sql: conn.execute(sql, {"p": pool_id}).fetchone()[0]  # noqa: E731
        sales = conn.execute("SELECT count(*) FROM appliance_sale").fetchone()[0]
        reservations = one("SELECT count(*) FROM budget_reservation WHERE pool_id = %(p)s AND state = 'reserved'")
        reserved_sum = one("SELECT coalesce(sum(amount), 0) FROM budget_reservation WHERE pool_id = %(p)s "
                           "AND state = 'reserved'")
        ledger = one("SELECT coalesce(sum(amount), 0) FROM budget_entry WHERE pool_id = %(p)s AND kind = 'reserve'")
        held = one("SELECT coalesce(sum(balance), 0) FROM budget_tranche WHERE pool_id = %(p)s")
        allocated, reserved, spent = conn.execute("SELECT allocated, reserved, spent FROM budget_pool WHERE id = "
                                                  "%(p)s", {"p": pool_id}).fetchone()
    exact = (sales == reservations == FUNDED and reserved_sum == ledger == FUNDED * DISCOUNT
             and reserved == reserved_sum + held and reserved + spent <= allocated)
    return {"sales": sales, "reservations": reservations, "reserved_sum": str(reserved_sum), "ledger": str(ledger),
            "tranches_hold": str(held), "pool_reserved": str(reserved), "allocated": str(allocated), "exact": exact}


def burst(tranches: int) -> dict[str, object]:
    """One opening minute from a fresh database with `tranches` escrow tranches (0: the pool row itself)."""
    url = bench_database_url(os.environ.get("BENCH_DB_NAME", "subsidy_bench_launch"))
    seeded = prepare(url)
    checkpoint(url)
    env = {"DATABASE_URL": url, "RATE_LIMITS_ENABLED": "0", "SECRET_KEY": SECRET, "DATA_KEY": SECRET,
           "REDIS_URL": "redis://127.0.0.1:6379/13", "BUDGET_TRANCHES": str(tranches)}
    with gunicorn("subsidy_app.app:create_app()", env) as base:
        stats = _load(base, seeded)
    pool_id = seeded["pool_id"]
    assert isinstance(pool_id, int)
    return {**stats, "counts_exact": stats["funded"] == FUNDED and stats["exhausted"] == BUYERS - FUNDED
            and not stats["other"], "database": check(url, pool_id)}


def main() -> None:
    """Run the burst without and with escrow; print one JSON line."""
    single = burst(0)
    escrow = burst(TRANCHES)
    print(json.dumps({
        "benchmark": "launch_burst", "buyers": BUYERS, "funded_target": FUNDED, "clients": CLIENTS,
        "single_row": single, f"escrow_{TRANCHES}": escrow,
        "escrow_over_single_throughput": round(float(escrow["sales_per_s"]) / float(single["sales_per_s"]), 2),
        "load_avg": [round(x, 2) for x in os.getloadavg()], "server": SERVER,
    }))


if __name__ == "__main__":
    main()
