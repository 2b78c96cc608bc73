"""Jobs go through the outbox: only committed work enqueues, each job's effect happens once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.audit.models import AuditCheckpoint
from subsidy_app.core import jobs
from subsidy_app.core.db import build_session_factory
from subsidy_app.core.job_runs import JobTiming
from subsidy_app.core.outbox import JobProgress, OutboxMessage
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import NullDispatcher, UnitOfWork


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_rolled_back_transaction_enqueues_nothing(uow: UnitOfWork) -> None:
    uow.enqueue("audit.checkpoint")
    uow.rollback()
    assert _count(uow.session, OutboxMessage) == 0


def test_in_process_runner_runs_the_job_after_commit(uow: UnitOfWork) -> None:
    message = uow.enqueue("audit.checkpoint")
    uow.commit()
    uow.session.expire_all()
    assert uow.session.get(OutboxMessage, message.id).done_at is not None
    assert _count(uow.session, AuditCheckpoint) == 1


def test_running_a_message_twice_applies_it_once(session_factory: sessionmaker[Session],
                                                 cipher: PersonalDataCipher) -> None:
    with UnitOfWork(session_factory, NullDispatcher(), cipher) as uow:
        message = uow.enqueue("audit.checkpoint")
        uow.commit()
        first = jobs.run_outbox_message(session_factory, NullDispatcher(), message.id, cipher)
        second = jobs.run_outbox_message(session_factory, NullDispatcher(), message.id, cipher)
        assert (first.status, second.status) == ("done", "skipped")
        assert _count(uow.session, AuditCheckpoint) == 1


def test_relay_sends_undelivered_messages_and_skips_done_ones(session_factory: sessionmaker[Session],
                                                              cipher: PersonalDataCipher) -> None:
    sent: list[int] = []

    class Recorder:
        def dispatch(self, ids: list[int]) -> None:
            sent.extend(ids)

    with UnitOfWork(session_factory, NullDispatcher(), cipher) as uow:
        pending = uow.enqueue("audit.checkpoint")
        done = uow.enqueue("audit.checkpoint")
        uow.commit()
        jobs.run_outbox_message(session_factory, NullDispatcher(), done.id, cipher)
        assert jobs.relay_pending(session_factory, Recorder()) == 1
        assert sent == [pending.id]


def test_failing_job_stays_pending_with_its_error_and_runs_later(session_factory: sessionmaker[Session],
                                                                 cipher: PersonalDataCipher) -> None:
    calls: list[int] = []

    @jobs.job("test.flaky")
    def flaky(uow: UnitOfWork, n: int) -> None:
        calls.append(n)
        if len(calls) == 1:
            raise ConnectionError("dependency down")

    with UnitOfWork(session_factory, NullDispatcher(), cipher) as uow:
        message = uow.enqueue("test.flaky", n=7)
        uow.commit()
        assert jobs.run_outbox_message(session_factory, NullDispatcher(), message.id, cipher).status == "error"
        uow.session.expire_all()
        row = uow.session.get(OutboxMessage, message.id)
        assert row.done_at is None and "dependency down" in (row.last_error or "")
        assert jobs.run_outbox_message(session_factory, NullDispatcher(), message.id, cipher).status == "done"
        assert calls == [7, 7]


def test_unknown_job_fails_permanently(session_factory: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    with UnitOfWork(session_factory, NullDispatcher(), cipher) as uow:
        message = uow.enqueue("no.such.job")
        uow.commit()
        assert jobs.run_outbox_message(session_factory, NullDispatcher(), message.id, cipher).status == "failed"
        assert jobs.pending_message_ids(session_factory, timing=JobTiming(redeliver_after=dt.timedelta(0))) == []


def test_a_rolled_back_savepoint_takes_its_buffered_audit_events_and_jobs_with_it(uow: UnitOfWork) -> None:
    from sqlalchemy import func, select

    from subsidy_app.audit import services as audit
    from subsidy_app.core.outbox import OutboxMessage

    audit.record(uow, actor="t", action="kept.before", entity_type="thing", entity_id=1)
    try:
        with uow.savepoint():
            audit.record(uow, actor="t", action="dropped", entity_type="thing", entity_id=2)
            uow.enqueue("audit.checkpoint")
            raise ValueError("this row is refused")
    except ValueError:
        pass
    audit.record(uow, actor="t", action="kept.after", entity_type="thing", entity_id=3)
    uow.commit()
    actions = [e.action for e in reversed(audit.list_events(uow.session, limit=10))]
    assert actions == ["kept.before", "kept.after"]
    assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


PROGRESS_JOB = "tests.progress_mid_transaction"
_seen_from_outside: list[object] = []


@jobs.job(PROGRESS_JOB)
def _report_progress_mid_transaction(uow: UnitOfWork, requested_by: str) -> None:
    """A job like the monthly filing: progress between two parts of one transaction, polled meanwhile."""
    jobs.set_progress(uow, 1, 2)
    with uow.session_factory() as poller:  # another connection, as the UI's poll would be
        _seen_from_outside.append(poller.scalar(select(JobProgress.progress)
                                                .where(JobProgress.message_id == uow.context["outbox_message_id"])))
    jobs.set_progress(uow, 2, 2)


def test_a_job_reports_progress_mid_transaction_on_postgres(postgres: None, committed: sessionmaker[Session],
                                                            database_url: str, cipher: PersonalDataCipher) -> None:
    # The job holds its outbox row FOR UPDATE until it commits: progress written to that row waited for the job
    # itself (the filing and roll-up jobs hung for ever). A lock timeout turns such a wait into a failure here.
    engine = create_engine(database_url, connect_args={"options": "-c lock_timeout=5s"})
    factory = build_session_factory(engine)
    try:
        with UnitOfWork(factory, NullDispatcher(), cipher) as uow:
            message = uow.enqueue(PROGRESS_JOB, requested_by="t")
            uow.commit()
        _seen_from_outside.clear()
        outcome = jobs.run_outbox_message(factory, NullDispatcher(), message.id, cipher)
        assert (outcome.status, outcome.error) == ("done", None)
        assert _seen_from_outside == [{"done": 1, "total": 2}]
        with factory() as session:
            assert session.get(JobProgress, message.id).progress == {"done": 2, "total": 2}
    finally:
        engine.dispose()
