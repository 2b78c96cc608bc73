"""Benchmark the car path at volume: 100,000 applications through checks, batch approval and one payment batch.

Prints one JSON line. Seeds a fresh PostgreSQL database (BENCH_DATABASE_URL, default `subsidy_bench_car`) with
persons, cards, sales, scrap certificates, registry records and submitted applications, then times the real
services: `checks.run_checks_batch`, `review.batch_approve` (with budget reservation), and
`payments.create_batch` + `export_rows` + `import_bank_result`. `--count` changes the volume.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text

from bench.common import bench_database_url
from recycling.models import Qualification, ScrapCertificate, Site
from subsidy_app.applications import checks, payments, review
from subsidy_app.applications.models import Application, CarSale
from subsidy_app.audit.services import session_info
from subsidy_app.config import DEV_AUDIT_KEY
from subsidy_app.core.db import build_engine, build_session_factory
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import NullDispatcher, UnitOfWork
from subsidy_app.identity.models import BankCard, Person
from subsidy_app.identity.services import load_principal
from subsidy_app.rules import budget
from subsidy_app.rules import services as rules
from subsidy_app.rules.models import BudgetEntry, BudgetPool, QuotaCounter, QuotaHold
from subsidy_app.rules.ruleset import DATA_DIR
from subsidy_app.seed import seed_demo
from subsidy_app.vehicles.models import VehicleRecordRow
from tests.car_fixtures import bank_card, resident_id, vin

CHUNK = 1000
DATA_KEY = "bench-data-key-0123456789abcdef-0123456789"


def _rows(count: int, cipher: PersonalDataCipher, ids: dict[str, int]) -> dict[str, list[dict[str, object]]]:
    """Build every seeded row in memory (encryption is part of the platform's cost, so it is real)."""
    now = dt.datetime.now(dt.UTC)
    card_blob = cipher.encrypt("6222020000000000018")
    name_blob = cipher.encrypt("王五")
    out: dict[str, list[dict[str, object]]] = {k: [] for k in ("person", "card", "sale", "cert", "vehicle", "app",
                                                                "hold", "counter")}
    for i in range(count):
        id_number = resident_id(f"14110219{70 + i // 250000:02d}{(i // 10000) % 12 + 1:02d}{(i // 1000) % 28 + 1:02d}"
                                f"{i % 1000:03d}")
        digest = cipher.match_hash(id_number)
        pid, old, new = i + 1, vin(i, "LFV"), vin(i, "LSV")
        number = f"QC2026{pid:08d}"
        out["person"].append({"id": pid, "id_number_hash": digest, "id_number_enc": cipher.encrypt(id_number),
                              "id_number_masked": id_number[:4] + "*" * 10 + id_number[-4:], "name_enc": name_blob,
                              "name_masked": "王*", "birth_date": dt.date(1980, 1, 1), "created_at": now})
        out["card"].append({"id": pid, "person_id": pid, "card_hash": cipher.match_hash(bank_card(i)),
                            "card_enc": card_blob, "card_masked": "6222***********0018", "bank_name": "工商银行",
                            "created_at": now})
        out["sale"].append({"id": pid, "dealer_org_id": ids["org:dealer:car"], "county_code": "141102",
                            "apply_code": secrets.token_hex(16), "new_vin": new, "invoice_key": f"2614{pid:016d}",
                            "invoice_date": dt.date(2026, 6, 1), "invoice_total": Decimal("150000.00"),
                            "new_vehicle_type": "nev", "nev_catalogue_ref": "2026-3", "buyer_id_hash": digest,
                            "buyer_id_masked": "1411**********0000", "buyer_name_masked": "王*",
                            "created_by": "bench", "created_at": now})
        out["cert"].append({"id": pid, "dismantler_org_id": ids["org:recycler:dismantler"],
                            "qualification_id": ids["qualification"], "licence_valid_on_issue": True,
                            "number": f"BF{pid:010d}", "verify_key": secrets.token_hex(12), "state": "issued",
                            "owner_kind": "person", "owner_name_enc": name_blob, "owner_name_masked": "王*",
                            "owner_id_hash": digest, "owner_id_enc": name_blob, "owner_id_masked": "1411****",
                            "handover_date": dt.date(2026, 5, 20), "first_registration_date": dt.date(2012, 1, 1),
                            "plate": "晋J00000", "vehicle_type": "vehicle.passenger", "use_type": "A",
                            "make_model": "bench", "vin": old, "curb_weight_kg": Decimal("1200"), "fuel_type": "1",
                            "engine_number": "E", "site_id": ids["site"], "issued_by": "bench", "issued_at": now})
        out["vehicle"].append({"vin": old, "plate": "晋J00000", "vehicle_type": "K33", "use_type": "A",
                               "fuel_code": "1", "fuel_group": "petrol", "first_registration": dt.date(2012, 1, 1),
                               "owner_id_hash": digest, "owner_id_masked": "1411****", "owner_since":
                               dt.date(2015, 1, 1), "deregistered_on": dt.date(2026, 5, 25),
                               "deregistration_certificate": f"ZX{pid}", "source": "bench", "updated_at": now})
        out["app"].append({"id": pid, "number": number, "status_code": secrets.token_hex(16), "programme": "car_scrap",
                           "category": "passenger_car", "state": "submitted", "county_code": "141102",
                           "person_id": pid, "sale_id": pid, "dealer_org_id": ids["org:dealer:car"], "new_vin": new,
                           "old_vin": old, "certificate_id": pid, "bank_card_id": pid, "facts": {},
                           "version_code": "car_scrap-2026", "amount": Decimal("18000.00"),
                           "consent_version": "2026-01", "consent_at": now, "needs_second_review": False,
                           "card_correction_needed": False, "submitted_at": now + dt.timedelta(microseconds=i),
                           "updated_at": now})
        out["hold"].append({"reference": number, "person_id": pid, "programme": "car_scrap",
                            "category": "passenger_car", "period_key": "2026", "state": "held", "created_at": now,
                            "updated_at": now})
        out["counter"].append({"person_id": pid, "programme": "car_scrap", "category": "passenger_car",
                               "period_key": "2026", "used": 1, "max_count": 1})
    return out


def seed(session_factory, cipher: PersonalDataCipher, count: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Seed reference data through the services and the bulk rows directly."""
    with UnitOfWork(session_factory, NullDispatcher(), cipher) as uow:
        ids = seed_demo(uow)
        rules.publish_rule_files(uow, actor="bench", paths=sorted(DATA_DIR.glob("*.yaml")))
        pool = budget.create_pool(uow, actor="bench", programme="car_scrap", county_code="141102", name="bench")
        budget.allocate(uow, actor="bench", pool_id=pool, amount=Decimal("18000.00") * count, source="central")
        uow.commit()
    engine = session_factory.kw["bind"]
    with engine.begin() as conn:
        qid = conn.execute(insert(Qualification).values(
            organisation_id=ids["org:recycler:dismantler"], kind="dismantling", number="BENCH-1",
            valid_from=dt.date(2020, 1, 1), valid_to=None).returning(Qualification.id)).scalar()
        sid = conn.execute(insert(Site).values(
            organisation_id=ids["org:recycler:dismantler"], code="B1", name="bench", level="sorting",
            county_code="141102", address="").returning(Site.id)).scalar()
    ids.update(qualification=int(qid or 0), site=int(sid or 0), pool=pool)
    rows = _rows(count, cipher, ids)
    tables = [(Person, "person"), (BankCard, "card"), (CarSale, "sale"), (ScrapCertificate, "cert"),
              (VehicleRecordRow, "vehicle"), (Application, "app"), (QuotaHold, "hold"), (QuotaCounter, "counter")]
    with engine.begin() as conn:
        for model, key in tables:
            for start in range(0, count, 5000):
                conn.execute(insert(model), rows[key][start:start + 5000])
        for table in ("person", "bank_card", "car_sale", "scrap_certificate", "application"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    return ids


def timed(label: str, work) -> float:  # type: ignore[no-untyped-def]
    """Run `work()` and return seconds."""
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    print(f"{label}: {seconds:.1f}s", file=sys.stderr)
    return seconds


def main() -> None:
    """Seed, run the three stages, verify the ledger, print one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    count = parser.parse_args().count
    url = bench_database_url("subsidy_bench_car")
    engine = build_engine(url)
    factory = build_session_factory(engine, info=session_info(key=DEV_AUDIT_KEY))
    cipher = PersonalDataCipher(DATA_KEY)
    seed_seconds = time.perf_counter()
    ids = seed(factory, cipher, count)
    seed_seconds = time.perf_counter() - seed_seconds
    app_ids = list(range(1, count + 1))
    chunks = [app_ids[i:i + CHUNK] for i in range(0, count, CHUNK)]

    with UnitOfWork(factory, NullDispatcher(), cipher) as uow:
        versions = rules.published_versions(uow)
        auditor = load_principal(uow, account_id=ids["auditor.lishi"])
        finance = load_principal(uow, account_id=ids["finance.city"])
    assert auditor is not None and finance is not None

    def run_checks() -> None:
        for chunk in chunks:
            with UnitOfWork(factory, NullDispatcher(), cipher) as uow:
                checks.run_checks_batch(uow, application_ids=chunk, versions=versions)
                uow.commit()

    def approve() -> None:
        for chunk in chunks:
            with UnitOfWork(factory, NullDispatcher(), cipher) as uow:
                outcome = review.batch_approve(uow, principal=auditor, application_ids=chunk)
                assert not outcome.skipped, list(outcome.skipped.items())[:3]
                uow.commit()

    checks_s = timed("checks", run_checks)
    approve_s = timed("approval", approve)
    update_s = timed("plain UPDATE", lambda: _plain_update(engine))

    def pay() -> None:
        with UnitOfWork(factory, NullDispatcher(), cipher) as uow:
            batch = payments.create_batch(uow, principal=finance, application_ids=app_ids, declared_count=count,
                                          declared_total=Decimal("18000.00") * count)
            rows = payments.export_rows(uow, principal=finance, batch_id=batch.id)
            uow.commit()
        result = "序号,申请编号,金额,结果,银行流水号,说明\n" + "".join(
            f"{r[0]},{r[1]},{r[5]},成功,B{r[0]},\n" for r in rows[1:-1])
        with UnitOfWork(factory, NullDispatcher(), cipher) as uow:
            report = payments.import_bank_result(uow, principal=finance, batch_id=batch.id, filename="r.csv",
                                                 data=result.encode())
            uow.commit()
        assert len(report.paid) == count, (len(report.paid), report.unknown[:3])

    pay_s = timed("payment batch", pay)
    with factory() as session:
        pool = session.get(BudgetPool, ids["pool"])
        assert pool is not None
        sums = dict(session.execute(select(BudgetEntry.kind, func.sum(BudgetEntry.amount))
                                    .where(BudgetEntry.pool_id == pool.id).group_by(BudgetEntry.kind)).all())
        paid = session.scalar(select(func.count()).select_from(Application).where(Application.state == "paid"))
    ledger_exact = (pool.spent == sums.get("spend") == Decimal("18000.00") * count and pool.reserved == 0
                    and sums.get("reserve") == sums.get("spend") and paid == count)
    print(json.dumps({
        "benchmark": "car_batch", "applications": count, "seed_s": round(seed_seconds, 1),
        "checks_per_s": round(count / checks_s), "approval_per_s": round(count / approve_s),
        "payment_batch_per_s": round(count / pay_s), "approval_vs_single_update": round(approve_s / update_s, 1),
        "single_update_s": round(update_s, 3), "ledger_exact": ledger_exact,
    }))


def _plain_update(engine) -> None:  # type: ignore[no-untyped-def]
    """The floor: one SQL UPDATE touching the same rows (then undone)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE application SET updated_at = updated_at WHERE state = 'approved'"))


if __name__ == "__main__":
    main()
