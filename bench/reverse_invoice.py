"""Benchmark reverse invoicing: issue 100,000 invoices for 10,000 sellers across 50 recyclers through the
service layer on PostgreSQL, then prepare the monthly filing for all of them and compare its time with a plain
SQL GROUP BY over the same rows. Prints one JSON line.

BENCH_DATABASE_URL selects the database (default: a fresh `subsidy_test_h7_bench`); BENCH_SCALE (default 1.0)
shrinks every count for a quick run; BENCH_PROCS (default 4) sets the concurrent issuers, each a process with its
own connection, as the web server's workers would be.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text

from bench.common import bench_database_url
from reverse_invoice import filing, invoices, recyclers, sellers
from reverse_invoice.demo import (
    SCRAP_STEEL_CODE,
    make_bank_card,
    make_resident_id,
    system_principal,
)
from reverse_invoice.domain import LocationClass, Qualification, VatMethod
from reverse_invoice.models import Purchase, PurchaseLine, Seller
from subsidy_app.audit import services as audit
from subsidy_app.config import DEV_AUDIT_KEY
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import build_engine, build_session_factory
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import COUNTIES, OrgKind
from subsidy_app.seed import demo_credit_code

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
PROCS = int(os.environ.get("BENCH_PROCS", "4"))
RECYCLERS, SELLERS, INVOICES = 50, int(10_000 * SCALE), int(100_000 * SCALE)
CONSENTS_PER_SELLER = 2
GROUP_BY = text("""
    SELECT recycler_id, seller_id, count(*), sum(amount), sum(vat), sum(urban_tax), sum(education),
           sum(local_education), sum(income_tax)
    FROM ri_invoice WHERE issued_on >= :start AND issued_on < :end GROUP BY recycler_id, seller_id
""")


def _setup(factory, cipher: PersonalDataCipher) -> tuple[list[int], list[tuple[int, int]]]:
    """Create recyclers (qualified), sellers and their consents; return recycler ids and (seller, recycler) pairs."""
    admin = system_principal()
    counties = list(COUNTIES)
    with UnitOfWork(factory, None, cipher) as uow:
        identity.ensure_counties(uow)
        recycler_ids = []
        for i in range(RECYCLERS):
            org = identity.register_organisation(uow, actor="bench", kind=OrgKind.RECYCLER, name=f"回收企业{i:02d}",
                                                 credit_code=demo_credit_code(5000 + i),
                                                 county_code=counties[i % len(counties)])
            recyclers.register_profile(uow, principal=admin, recycler_id=org.id,
                                       qualification=Qualification.RENEWABLE_FILING, qualification_no=f"BA-{i:04d}",
                                       vat_method=VatMethod.GENERAL, location_class=list(LocationClass)[i % 3])
            recyclers.decide_qualification(uow, principal=admin, recycler_id=org.id, approve=True)
            recycler_ids.append(org.id)
        uow.commit()
    version, _ = sellers.consent_text()
    pairs: list[tuple[int, int]] = []
    for start in range(0, SELLERS, 500):
        with UnitOfWork(factory, None, cipher) as uow:
            for serial in range(start, min(start + 500, SELLERS)):
                # (birth year, sequence) is unique per serial up to 40,000 sellers
                seller_id = sellers.register_seller(
                    uow, principal=admin, name=f"售卖人{serial:05d}", bank_card=make_bank_card(serial),
                    id_number=make_resident_id(serial, area="141102", birth=f"19{50 + serial // 1000:02d}0101"))
                for k in range(CONSENTS_PER_SELLER):
                    recycler_id = recycler_ids[(serial * 7 + k * 13) % RECYCLERS]
                    sellers.record_consent(uow, principal=system_principal(recycler_id), seller_id=seller_id,
                                           recycler_id=recycler_id, text_version=version, agreed=True)
                    pairs.append((seller_id, recycler_id))
            uow.commit()
    return recycler_ids, pairs


_worker: dict[str, object] = {}
AUDIT = audit.session_info(key=DEV_AUDIT_KEY)  # one process family seals and verifies: any key will do


def _init_worker(url: str, today: dt.date) -> None:
    """Give each issuing process its own engine (connections are never shared across a fork)."""
    engine = build_engine(url, pool_size=1)
    _worker.update(factory=build_session_factory(engine, info=AUDIT), cipher=PersonalDataCipher("bench-" * 8),
                   today=today)


def _issue(item: tuple[int, int]) -> None:
    """Issue one purchase's invoice through the service, in its own transaction."""
    recycler_id, purchase_id = item
    with UnitOfWork(_worker["factory"], None, _worker["cipher"]) as uow:  # type: ignore[arg-type]
        invoices.issue_invoice(uow, principal=system_principal(recycler_id), purchase_id=purchase_id,
                               today=_worker["today"])  # type: ignore[arg-type]
        uow.commit()


def _run_processes(url: str, today: dt.date, work: list[tuple[int, int]]) -> float:
    """Issue every invoice from PROCS processes; return elapsed seconds."""
    context = multiprocessing.get_context("fork")
    with context.Pool(PROCS, initializer=_init_worker, initargs=(url, today)) as pool:
        pool.map(_init_noop, range(PROCS))  # start the processes before the clock does
        began = time.perf_counter()
        for _ in pool.imap_unordered(_issue, work, chunksize=20):
            pass
        return time.perf_counter() - began


def _init_noop(_: int) -> None:
    """Do nothing: used to have every pool process started."""


def _load_purchases(factory, plan, today: dt.date) -> list[tuple[int, int]]:
    """Bulk-load the purchases to invoice (set-up, not measured: the invoices go through the service)."""
    out: list[tuple[int, int]] = []
    with factory() as session, session.begin():
        cards = dict(session.execute(select(Seller.id, Seller.bank_card_id)).all())
        paid_at = dt.datetime.now(dt.UTC)
        for start in range(0, len(plan), 5000):
            chunk = plan[start:start + 5000]
            rows = [{"recycler_id": r, "seller_id": s, "purchased_on": today, "amount": a, "contract_no": f"HT-{s}",
                     "weighbridge_ticket": f"BD-{s}", "vehicle_plate": "晋J12345", "photos": ["p.jpg"],
                     "paid_card_id": cards[s], "payment_reference": f"PAY-{s}", "paid_amount": a, "paid_at": paid_at,
                     "state": "open", "created_by": "bench"} for (s, r), a in chunk]
            ids = session.execute(insert(Purchase).returning(Purchase.id, Purchase.recycler_id,
                                                             sort_by_parameter_order=True), rows).all()
            session.execute(insert(PurchaseLine), [
                {"purchase_id": pid, "line_no": 1, "product_name": "废钢", "tax_code": SCRAP_STEEL_CODE,
                 "specification": "", "unit": "吨", "quantity": Decimal("1"), "unit_price": a, "amount": a}
                for (pid, _r), (_pair, a) in zip(ids, chunk, strict=True)])
            out += [(r, pid) for pid, r in ids]
    return out


def main() -> None:
    """Run the benchmark and print one JSON line."""
    url = bench_database_url(os.environ.get("BENCH_DB_NAME", "subsidy_test_h7_bench"))
    engine = build_engine(url, pool_size=2)
    factory = build_session_factory(engine, info=AUDIT)
    cipher = PersonalDataCipher("bench-" * 8)
    began = time.perf_counter()
    _recycler_ids, pairs = _setup(factory, cipher)
    setup_s = time.perf_counter() - began
    today = business_date()
    rng = random.Random(7)
    # Each seller sells 10 times on average, to one of the recyclers they consented to: ~150,000 a month each,
    # so most months cross the 100,000 threshold and the month rule and correction listing are exercised.
    plan = [(pairs[rng.randrange(len(pairs))], Decimal(rng.randrange(50_000, 3_000_000)) / 100)
            for _ in range(INVOICES)]
    began = time.perf_counter()
    purchase_ids = _load_purchases(factory, plan, today)
    purchases_s = time.perf_counter() - began

    engine.dispose()  # nothing open across the fork
    issue_s = _run_processes(url, today, purchase_ids)
    with factory() as session, session.begin():
        began = time.perf_counter()
        sealed = audit.seal_all(session)  # the worker's sealer would chain these every 2 s meanwhile
        seal_s = time.perf_counter() - began
    month = today.replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    with engine.connect() as conn:  # warm the cache the same way for both measurements
        conn.execute(GROUP_BY, {"start": month, "end": next_month}).all()
        began = time.perf_counter()
        rows = conn.execute(GROUP_BY, {"start": month, "end": next_month}).all()
        group_by_s = time.perf_counter() - began
    with UnitOfWork(factory, None, cipher) as uow:
        began = time.perf_counter()
        filing_ids = filing.prepare_all_filings(uow, actor="bench", month=month)
        uow.commit()
        filing_s = time.perf_counter() - began
    with engine.connect() as conn:
        invoice_count = conn.scalar(text("SELECT count(*) FROM ri_invoice"))
        lines = conn.scalar(text("SELECT count(*) FROM ri_filing_line"))
        seqs_ok = conn.scalar(text("SELECT bool_and(c = m) FROM (SELECT count(*) c, max(seq) m FROM ri_invoice "
                                   "GROUP BY recycler_id, year) t"))
    print(json.dumps({
        "benchmark": "reverse_invoice",
        "invoices": invoice_count, "sellers": SELLERS, "recyclers": RECYCLERS, "processes": PROCS,
        "invoices_per_s": round(INVOICES / issue_s, 1),
        "audit_sealed": sealed, "audit_seal_per_s": round(sealed / seal_s, 1) if seal_s else None,
        "purchases_loaded_per_s": round(INVOICES / purchases_s, 1),
        "filing_s": round(filing_s, 3), "filings": len(filing_ids), "filing_lines": lines,
        "group_by_s": round(group_by_s, 3), "group_by_rows": len(rows),
        "filing_to_group_by": round(filing_s / group_by_s, 2),
        "numbers_gapless": bool(seqs_ok), "setup_s": round(setup_s, 1),
    }))
    engine.dispose()


if __name__ == "__main__":
    main()
