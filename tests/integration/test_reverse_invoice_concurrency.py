"""Reverse-invoice invariants under real concurrency: the seller cap, gapless numbers, reversal limits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reverse_invoice import invoices, reversals
from reverse_invoice.domain import RedReason
from reverse_invoice.models import Invoice, SellerMonth
from subsidy_app.core.errors import DomainError
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import seed_demo
from tests.integration.ri_support import DAY, clerk, issue, purchase, qualify, seller

D = Decimal


def _race(count: int, work: Callable[[int], None]) -> tuple[int, list[DomainError], list[BaseException]]:
    """Run `work(i)` in `count` threads released together; return successes, domain refusals, crashes."""
    barrier = threading.Barrier(count)
    refused: list[DomainError] = []
    crashed: list[BaseException] = []
    done = [0]
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
            with lock:
                done[0] += 1
        except DomainError as exc:
            refused.append(exc)
        except BaseException as exc:  # surfaced by the assertion below
            crashed.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], refused, crashed


def _setup(committed: sessionmaker[Session], cipher: PersonalDataCipher) -> tuple[int, int]:
    with UnitOfWork(committed, None, cipher) as uow:
        ids = seed_demo(uow)
        a, b = ids["org:recycler:dismantler"], ids["org:recycler:renewable"]
        qualify(uow, a)
        qualify(uow, b)
        uow.commit()
    return a, b


def test_twenty_concurrent_issues_near_the_cap_never_exceed_it(
        postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    a, b = _setup(committed, cipher)
    with UnitOfWork(committed, None, cipher) as uow:
        seller_id = seller(uow, 1, a, b)
        issue(uow, a, seller_id, "4990000.00")
        purchase_ids = [(a if i % 2 else b, purchase(uow, a if i % 2 else b, seller_id, "1000.00"))
                        for i in range(20)]
        uow.commit()

    def work(i: int) -> None:
        recycler_id, purchase_id = purchase_ids[i]
        with UnitOfWork(committed, None, cipher) as uow:
            invoices.issue_invoice(uow, principal=clerk(recycler_id), purchase_id=purchase_id, today=DAY)
            uow.commit()

    ok, refused, crashed = _race(20, work)
    assert crashed == []
    assert ok == 10 and len(refused) == 10
    assert {e.reason for e in refused} == {"seller.cap_exceeded"}
    with committed() as session:
        total = session.scalar(select(func.sum(Invoice.amount)).where(Invoice.seller_id == seller_id))
        assert total == D("5000000.00")
        assert session.scalar(select(SellerMonth.sales).where(SellerMonth.seller_id == seller_id)) == total


def test_fifty_concurrent_issues_by_one_recycler_leave_no_gap_and_no_duplicate(
        postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    a, _ = _setup(committed, cipher)
    with UnitOfWork(committed, None, cipher) as uow:
        purchase_ids = [purchase(uow, a, seller(uow, 100 + i % 10, a), "10.00") for i in range(50)]
        uow.commit()

    def work(i: int) -> None:
        with UnitOfWork(committed, None, cipher) as uow:
            invoices.issue_invoice(uow, principal=clerk(a), purchase_id=purchase_ids[i], today=DAY)
            uow.commit()

    ok, refused, crashed = _race(50, work)
    assert (ok, refused, crashed) == (50, [], [])
    with committed() as session:
        seqs = sorted(session.scalars(select(Invoice.seq).where(Invoice.recycler_id == a)))
        numbers = set(session.scalars(select(Invoice.number).where(Invoice.recycler_id == a)))
    assert seqs == list(range(1, 51))
    assert len(numbers) == 50


def test_a_rolled_back_issue_gives_its_number_back(
        postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    a, _ = _setup(committed, cipher)
    with UnitOfWork(committed, None, cipher) as uow:
        seller_id = seller(uow, 2, a)
        first, second = purchase(uow, a, seller_id, "10.00"), purchase(uow, a, seller_id, "20.00")
        uow.commit()
    with UnitOfWork(committed, None, cipher) as uow:
        assert invoices.issue_invoice(uow, principal=clerk(a), purchase_id=first, today=DAY).number.endswith("1")
        uow.rollback()
    with UnitOfWork(committed, None, cipher) as uow:
        result = invoices.issue_invoice(uow, principal=clerk(a), purchase_id=second, today=DAY)
        uow.commit()
    assert result.number.endswith("00000001")


def test_concurrent_partial_reversals_never_exceed_the_invoice(
        postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    a, _ = _setup(committed, cipher)
    with UnitOfWork(committed, None, cipher) as uow:
        seller_id = seller(uow, 3, a)
        invoice_id = issue(uow, a, seller_id, "1000.00").invoice_id
        uow.commit()

    def work(_i: int) -> None:
        with UnitOfWork(committed, None, cipher) as uow:
            reversals.reverse(uow, principal=clerk(a), invoice_id=invoice_id, reason=RedReason.SALES_ALLOWANCE,
                              amount=D("300.00"), today=DAY)
            uow.commit()

    ok, refused, crashed = _race(10, work)
    assert crashed == []
    assert ok == 3 and all(e.reason == "invoice.reversal_exceeds" for e in refused)
    with committed() as session:
        original = session.get(Invoice, invoice_id)
        reds = session.scalar(select(func.sum(Invoice.amount)).where(Invoice.original_id == invoice_id))
        month = session.scalar(select(SellerMonth.sales).where(SellerMonth.seller_id == seller_id))
    assert original.reversed_amount == D("900.00") and reds == D("-900.00")
    assert month == D("100.00")  # reversals give the cap back
