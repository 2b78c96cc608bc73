"""Benchmark appliance sales: the till endpoint through gunicorn with 32 clients vs a bare one-INSERT Flask
endpoint, and a 100,000-row bulk file vs PostgreSQL COPY of the same rows and vs PostgreSQL alone writing the rows
the bulk wrote (its write floor). Prints one JSON line.

Every till request is a distinct sale (serial, invoice, idempotency key) by a distinct buyer (a signed
confirmation, as the resident's phone shows it), so each one evaluates, inserts, holds a quota and reserves
budget. BENCH_DATABASE_URL selects the database (default a fresh `subsidy_bench_appliance`); BENCH_SCALE
(default 1.0) shrinks the buyers and the bulk file for a quick run; BENCH_SECONDS (default 10) the load time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import func, insert, select

import subsidy_app.appliances.tasks  # noqa: F401 - registers the bulk job the upload runs at commit
from bench.bare_app import ensure_bare_table
from bench.common import SERVER, bench_database_url, checkpoint, gunicorn, post_load
from reverse_invoice.demo import make_resident_id
from subsidy_app.appliances import bulk
from subsidy_app.appliances.buyer import confirmation_token
from subsidy_app.appliances.demo import demo_gtin, prepare_store
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.audit import services as audit
from subsidy_app.config import Settings
from subsidy_app.core.db import utcnow
from subsidy_app.core.personal_data import mask_name, mask_resident_id
from subsidy_app.identity import services as identity
from subsidy_app.identity.models import Person
from subsidy_app.rules import budget
from subsidy_app.rules import services as rules
from subsidy_app.rules.ruleset import DATA_DIR
from subsidy_app.runtime import Runtime, build_runtime
from subsidy_app.seed import seed_demo

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
BUYERS, BULK_ROWS = int(20_000 * SCALE), int(100_000 * SCALE)
SECRET = "bench-secret-" * 4
TABLET = demo_gtin(7)  # a digital-programme product of the demo catalogue; 2,699 yuan earns a subsidy
SOLD_ON = "2025-03-01"
CLIENTS = 32


def prepare(runtime: Runtime) -> dict[str, object]:
    """Seed the demo dealer, rules, funded pools, an approved store, the buyers and a till's API token."""
    with runtime.unit_of_work() as uow:
        ids = seed_demo(uow)
        rules.publish_rule_files(uow, actor="bench", paths=sorted(DATA_DIR.glob("*.yaml")))
        for programme in ("appliance", "digital"):
            pool_id = budget.create_pool(uow, actor="bench", programme=programme, county_code="141102", name="bench")
            budget.allocate(uow, actor="bench", pool_id=pool_id, amount=Decimal("900000000.00"), source="central")
        store_id = prepare_store(uow, dealer_org_id=ids["org:dealer:appliance"])
        account = ids["dealer.appliance"]
        principal = identity.load_principal(uow, account_id=account)
        assert principal is not None
        token = identity.issue_api_token(uow, principal=principal, account_id=account, name="bench").secret
        # Till buyers, born 1960 on: the bulk file's buyers (born 1980 on) never share their quota.
        cipher, now = uow.cipher, utcnow()
        ids_numbers = [make_resident_id(i, birth=f"{dt.date(1960, 1, 1) + dt.timedelta(days=i // 1000):%Y%m%d}")
                       for i in range(BUYERS)]
        person_ids = list(uow.session.scalars(insert(Person).returning(Person.id), [
            {"id_number_hash": cipher.match_hash(n), "id_number_enc": cipher.encrypt(n),
             "id_number_masked": mask_resident_id(n), "name_enc": cipher.encrypt("王五"),
             "name_masked": mask_name("王五"), "birth_date": dt.date(1960, 1, 1), "created_at": now}
            for n in ids_numbers]))
        uow.commit()
    buyers = [confirmation_token(SECRET, person_id=p, store_id=store_id, phone_hash=None) for p in person_ids]
    return {"store_id": store_id, "token": token, "buyers": buyers, "account_id": account}


def _till_script(store_id: int, token: str, buyers: list[str], run: int) -> str:
    """A wrk script whose every request is a new sale by a new buyer (two wrk threads interleave the buyers)."""
    path = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115 - closed below
    path.write(
        "buyers = {" + ",".join(json.dumps(b) for b in buyers) + "}\n"
        "local n = 0\nlocal threads = 0\n"
        "function setup(thread) thread:set('tid', threads); threads = threads + 1 end\n"
        "function request()\n"
        "  local i = n * 2 + tid\n  n = n + 1\n"
        f"  local key = string.format('{run}%07d', i)\n"
        "  local body = string.format('{\"store_id\":" + str(store_id) + f",\"gtin\":\"{TABLET}\","
        f"\"price\":\"2699.00\",\"sold_on\":\"{SOLD_ON}\",\"serial_number\":\"TL%s\","
        "\"invoice_number\":\"2614%s00000000\",\"buyer_token\":\"%s\"}', key, key, buyers[(i % #buyers) + 1])\n"
        "  return wrk.format('POST', nil, {['Content-Type'] = 'application/json', "
        f"['Authorization'] = 'Bearer {token}', ['Idempotency-Key'] = 'bench-' .. key}}, body)\n"
        "end\n"
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("JSON {\\"requests\\":%d,\\"seconds\\":%f,\\"p50_ms\\":%f,\\"p99_ms\\":%f,'
        '\\"non2xx\\":%d,\\"errors\\":%d}\\n", summary.requests, summary.duration / 1e6, '
        "latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status, "
        "summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\nend\n")
    path.close()
    return path.name


def till_rate(url: str, seeded: dict[str, object]) -> dict[str, float]:
    """Sell through gunicorn with 32 clients; return sales per second and latencies."""
    # As deployed: with a broker the app leaves background work (e.g. sealing audit events) to the worker;
    # nothing here needs the worker, and the audit events are sealed after the run (see main).
    env = {"DATABASE_URL": url, "RATE_LIMITS_ENABLED": "0", "SECRET_KEY": SECRET, "DATA_KEY": SECRET,
           "REDIS_URL": "redis://127.0.0.1:6379/13"}
    buyers = seeded["buyers"]
    assert isinstance(buyers, list)
    half = len(buyers) // 4  # warm-up buyers, then the measured run's
    with gunicorn("subsidy_app.app:create_app()", env) as base:
        stats = []
        for run, (who, seconds) in enumerate(((buyers[:half], 3), (buyers[half:], SECONDS)), start=1):
            script = _till_script(int(str(seeded["store_id"])), str(seeded["token"]), who, run)
            out = subprocess.run(["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "--timeout", "10s", "-s", script,
                                  f"{base}/api/v1/appliance-sales"], capture_output=True, text=True, check=True)
            stats.append(json.loads(next(x for x in out.stdout.splitlines() if x.startswith("JSON "))[5:]))
    s = stats[-1]
    if s["requests"] > len(buyers) - half:
        raise SystemExit("more sales than buyers: raise BENCH_SCALE")
    return {"rps": s["requests"] / s["seconds"], "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"],
            "errors": s["non2xx"] + s["errors"], "requests": s["requests"]}


def bare_rate(url: str) -> dict[str, float]:
    """The reference: one INSERT per request in a bare Flask app under the same gunicorn settings."""
    ensure_bare_table(url)
    env = {"DATABASE_URL": url, "SECRET_KEY": SECRET, "DATA_KEY": SECRET}
    body = {"store_id": 1, "gtin": TABLET, "price": "2699.00", "sold_on": SOLD_ON}
    with gunicorn("bench.bare_app:create_bare_app()", env) as base:
        post_load(base, "/insert", body, seconds=3, connections=CLIENTS)
        return post_load(base, "/insert", body, seconds=SECONDS, connections=CLIENTS)


def bulk_file(rows: int) -> bytes:
    """A day's sales file of distinct tablets, invoices and buyers (born 1980 on)."""
    lines = ["商品条码,序列号/IMEI,成交价,发票号码,销售日期,购买人姓名,购买人身份证号,购买人手机号\n"]
    for i in range(rows):
        birth = dt.date(1980, 1, 1) + dt.timedelta(days=i // 1000)
        lines.append(f"{TABLET},BK{i:08d},2699.00,2514{i:016d},{SOLD_ON},买家{i % 97},"
                     f"{make_resident_id(i, birth=f'{birth:%Y%m%d}')},138{i:08d}\n")
    return "".join(lines).encode("utf-8")


def bulk_time(runtime: Runtime, seeded: dict[str, object], data: bytes) -> tuple[float, dict[str, object]]:
    """Upload the file as the dealer's till account; the job runs in-process at commit. Return seconds, report."""
    began = time.perf_counter()
    with runtime.unit_of_work() as uow:
        principal = identity.load_principal(uow, account_id=int(str(seeded["account_id"])))
        assert principal is not None
        ref = bulk.upload(uow, principal=principal, versions=rules.published_versions(uow),
                          store_id=int(str(seeded["store_id"])), filename="day.csv", data=data)
        uow.commit()
    seconds = time.perf_counter() - began
    with runtime.unit_of_work() as uow:
        status = bulk.upload_status(uow, principal=principal, upload_id=ref.upload_id)
        again = bulk.upload(uow, principal=principal, versions=(), store_id=int(str(seeded["store_id"])),
                            filename="again.csv", data=data)
        sales = uow.session.scalar(select(func.count()).select_from(ApplianceSale)
                                   .where(ApplianceSale.upload_id == ref.upload_id))
    report = status.report or {}
    return seconds, {"accepted": report.get("accepted_count"), "errors": report.get("error_count"),
                     "sales_in_db": sales, "reupload_recognised": again.already_uploaded}


def copy_time(url: str, data: bytes) -> float:
    """COPY the same CSV into a plain table of its columns: the floor for loading these rows."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE bench_copy (gtin text, serial text, price numeric(12, 2), invoice text, "
                    "sold_on date, name text, id_number text, phone text)")
        conn.commit()
        began = time.perf_counter()
        with cur.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(data)
        conn.commit()
        return time.perf_counter() - began


def row_counts(url: str) -> dict[str, int]:
    """Count the rows of every table of the schema (before and after the bulk: what it wrote, table by table)."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        tables = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def write_floor(url: str, before: dict[str, int], after: dict[str, int]) -> tuple[float, dict[str, dict[str, float]]]:
    """Time PostgreSQL alone writing the rows the bulk wrote: copy as many rows of each table (its newest, by
    physical position) into a clone with its indexes, unique and check constraints. No Python, no parsing, no
    foreign-key checks: a lower bound for any way of loading the file into this schema."""
    written = {t: after[t] - before.get(t, 0) for t in after if after[t] - before.get(t, 0) > 0}
    tables: dict[str, dict[str, float]] = {}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        for table, rows in written.items():
            conn.execute(f'CREATE TABLE "floor_{table}" (LIKE "{table}" INCLUDING ALL)')
            conn.commit()
            began = time.perf_counter()
            conn.execute(f'INSERT INTO "floor_{table}" SELECT * FROM "{table}" ORDER BY ctid DESC LIMIT {rows}')
            conn.commit()
            tables[table] = {"rows": rows, "s": round(time.perf_counter() - began, 3)}
            conn.execute(f'DROP TABLE "floor_{table}"')
            conn.commit()
    return round(sum(t["s"] for t in tables.values()), 2), tables


def main() -> None:
    """Run the benchmark and print one JSON line."""
    url = bench_database_url(os.environ.get("BENCH_DB_NAME", "subsidy_bench_appliance"))
    runtime = build_runtime(Settings(database_url=url, secret_key=SECRET, data_key=SECRET))
    seeded = prepare(runtime)
    data = bulk_file(BULK_ROWS)
    before = row_counts(url)
    bulk_s, bulk_report = bulk_time(runtime, seeded, data)
    after = row_counts(url)
    copy_s = copy_time(url, data)
    floor_s, floor_tables = write_floor(url, before, after)
    runtime.engine.dispose()
    checkpoint(url)
    till = till_rate(url, seeded)
    with runtime.unit_of_work() as uow:
        began = time.perf_counter()
        sealed = audit.seal_all(uow.session)  # what the worker's sealer would have done meanwhile
        uow.commit()
        seal_s = time.perf_counter() - began
    runtime.engine.dispose()
    checkpoint(url)
    bare = bare_rate(url)
    load = os.getloadavg()
    print(json.dumps({
        "benchmark": "appliance_tills", "clients": CLIENTS, "seconds": SECONDS,
        "sales_per_s": round(till["rps"], 1), "sale_p50_ms": round(till["p50_ms"], 1),
        "sale_p99_ms": round(till["p99_ms"], 1), "sale_errors": till["errors"],
        "p99_over_p50": round(till["p99_ms"] / till["p50_ms"], 2),
        "bare_insert_rps": round(bare["rps"], 1), "ratio_to_bare": round(till["rps"] / bare["rps"], 3),
        "audit_sealed": sealed, "audit_seal_per_s": round(sealed / seal_s, 1) if seal_s else None,
        "bulk_rows": BULK_ROWS, "bulk_s": round(bulk_s, 2), "copy_s": round(copy_s, 3),
        "bulk_to_copy": round(bulk_s / copy_s, 1), "bulk": bulk_report,
        "bulk_write_floor_s": floor_s, "write_floor_to_copy": round(floor_s / copy_s, 1),
        "bulk_write_floor": floor_tables,
        "file_sha256": hashlib.sha256(data).hexdigest()[:12], "load_avg": [round(x, 2) for x in load],
        "server": SERVER,
    }))


if __name__ == "__main__":
    main()
