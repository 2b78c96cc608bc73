"""Deferred sealing on PostgreSQL: writers never wait on the chain head, and every committed event is chained once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.audit import services as audit
from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.uow import UnitOfWork

WRITERS, EVENTS_EACH = 16, 25


def _record(factory: sessionmaker[Session], writer: int, number: int) -> None:
    with UnitOfWork(factory) as uow:
        audit.record(uow, actor=f"writer:{writer}", action="thing.changed", entity_type="thing",
                     entity_id=f"{writer}-{number}", after={"n": number})
        uow.commit()


def test_concurrent_writers_and_sealers_chain_every_event_exactly_once(
    postgres: None, committed: sessionmaker[Session]
) -> None:
    stop = threading.Event()
    sealed_by_runs: list[int] = []
    crashed: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for number in range(EVENTS_EACH):
                _record(committed, writer, number)
        except BaseException as exc:  # surfaced below
            crashed.append(exc)

    def seal() -> None:
        try:
            while not stop.is_set():
                with committed() as session, session.begin():
                    sealed_by_runs.append(audit.seal_pending(session, limit=50))
        except BaseException as exc:  # surfaced below
            crashed.append(exc)

    sealers = [threading.Thread(target=seal) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for t in sealers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in sealers:
        t.join()
    assert crashed == []
    with committed() as session, session.begin():
        left = audit.seal_all(session)
        checked, broken = audit.verify_chain(session)
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    total = WRITERS * EVENTS_EACH
    assert broken is None
    assert checked == total
    assert seqs == list(range(1, total + 1))  # no event twice, none missing
    assert sum(sealed_by_runs) + left == total
    assert sum(sealed_by_runs) > 0  # the sealers really ran alongside the writers


def test_a_writer_in_flight_blocks_neither_other_writers_nor_the_sealer(
    postgres: None, committed: sessionmaker[Session]
) -> None:
    with committed() as slow:
        slow.begin()
        slow.execute(text("INSERT INTO audit_event (occurred_at, actor, action, entity_type, entity_id, summary) "
                          "VALUES (now(), 'slow', 'slow.changed', 'thing', '1', '{}')"))
        fast = threading.Thread(target=_record, args=(committed, 2, 1))
        fast.start()
        fast.join(timeout=10)
        assert not fast.is_alive()  # it used to queue on the chain head until the slow writer ended
        with committed() as sealer, sealer.begin():
            sealer.execute(text("SET LOCAL lock_timeout = '2s'"))
            assert audit.seal_pending(sealer) == 1  # the slow writer's event is invisible, not waited for
        slow.commit()
    with committed() as session, session.begin():
        assert audit.seal_pending(session) == 1
        rows = session.execute(select(AuditEvent.actor, AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert [tuple(r) for r in rows] == [("writer:2", 1), ("slow", 2)]  # chain order is commit order
        assert audit.verify_chain(session) == (2, None)


@pytest.mark.parametrize("sql", [
    "UPDATE audit_event SET actor = 'someone else'",  # editing a sealed event
    "UPDATE audit_event SET hash = repeat('0', 64)",  # re-sealing a sealed event
])
def test_postgres_refuses_changing_a_sealed_event(postgres: None, committed: sessionmaker[Session], sql: str) -> None:
    _record(committed, 1, 1)
    with committed() as session, session.begin():
        audit.seal_all(session)
    with committed() as session, session.begin(), pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(sql))


def test_postgres_lets_the_sealer_fill_in_the_chain_but_refuses_editing_an_unsealed_event(
    postgres: None, committed: sessionmaker[Session]
) -> None:
    _record(committed, 1, 1)
    with committed() as session, session.begin(), pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE audit_event SET actor = 'someone else', seq = 1, prev_hash = 'x', hash = 'y'"))
    with committed() as session, session.begin():
        assert audit.seal_all(session) == 1
        assert session.scalar(select(func.count()).where(AuditEvent.hash.is_(None))) == 0



@pytest.mark.parametrize(("when", "nth"), [
    ("FROM audit_event", 1),  # while the walk reads the chain
    ("FROM audit_head", 2),  # after the walk, as the head is read to compare
])
def test_verifying_while_another_sealer_commits_reads_no_gap(
    postgres: None, committed: sessionmaker[Session], when: str, nth: int
) -> None:
    from sqlalchemy import event

    for number in range(3):
        _record(committed, 1, number)
    with committed() as session, session.begin():
        audit.seal_all(session)
    _record(committed, 1, 3)
    seen: list[str] = []
    with committed() as sealer, committed() as verifier:
        sealer.begin()
        assert audit.seal_pending(sealer) == 1  # holds the head until it commits
        connection = verifier.connection()

        def commit_the_sealer(conn: object, cursor: object, statement: str, *args: object) -> None:
            if when in statement and "FOR UPDATE" not in statement:
                seen.append(statement)
                if len(seen) == nth:
                    sealer.commit()

        event.listen(connection, "before_cursor_execute", commit_the_sealer)
        checked, broken = audit.verify_chain(verifier)  # its own sealing skips: the head is taken
        verifier.rollback()
    assert not sealer.in_transaction()
    assert (checked, broken) == (4, None)  # it used to read a gap between the walk and the head
