"""The database owner rewrites the audit trail (triggers bypassed): each rewrite is found, at its first bad event.

Every test tampers as the owner can: `session_replication_role = replica` turns the append-only trigger off.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from subsidy_app.audit import services as audit
from subsidy_app.audit.domain import GENESIS_HASH, AuditEntry, unkeyed_link
from subsidy_app.audit.models import AuditCheckpoint, AuditEvent
from subsidy_app.core.uow import UnitOfWork
from tests.conftest import TEST_AUDIT_KEY
from tests.helpers import bearer


def _write_events(uow: UnitOfWork, count: int) -> int:
    for i in range(count):
        audit.record(uow, actor="account:1:test", action="thing.changed", entity_type="thing", entity_id=i,
                     after={"state": "b", "n": i})
        uow.commit()
    audit.seal_all(uow.session)
    return int(uow.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) or 0)


def _as_owner(uow: UnitOfWork, on_postgres: bool, *statements: str) -> None:
    """Run SQL with the audit triggers off, as the database owner (or a superuser) can."""
    if on_postgres:
        uow.session.execute(text("SET LOCAL session_replication_role = replica"))
    for sql in statements:
        uow.session.execute(text(sql))
    if on_postgres:
        uow.session.execute(text("SET LOCAL session_replication_role = origin"))
    uow.session.expire_all()


def _checkpoint(uow: UnitOfWork) -> AuditCheckpoint:
    checkpoint = audit.write_checkpoint(uow)
    uow.commit()
    assert checkpoint.ok, checkpoint.problem
    return checkpoint


def _truncate_tail_and_rewind_head(uow: UnitOfWork, on_postgres: bool, last: int, drop: int) -> None:
    tail = last - drop
    _as_owner(uow, on_postgres, f"DELETE FROM audit_event WHERE seq > {tail}",
              f"UPDATE audit_head SET last_seq = {tail}, last_hash = (SELECT hash FROM audit_event WHERE seq = {tail})")


def test_an_edited_event_is_found_at_its_number(uow: UnitOfWork, on_postgres: bool) -> None:
    _write_events(uow, 6)
    _as_owner(uow, on_postgres, "UPDATE audit_event SET summary = '{\"after\": {\"state\": \"z\"}}' WHERE seq = 4")
    checked, broken = audit.verify_chain(uow.session)
    assert broken is not None and broken.seq == 4 and "altered" in broken.problem
    assert checked == 3


def test_a_deleted_middle_event_is_found_at_its_number(uow: UnitOfWork, on_postgres: bool) -> None:
    _write_events(uow, 6)
    _as_owner(uow, on_postgres, "DELETE FROM audit_event WHERE seq = 3")
    _checked, broken = audit.verify_chain(uow.session)
    assert broken is not None and broken.seq == 3 and "missing" in broken.problem


def test_a_truncated_tail_with_the_head_rewound_is_found_by_a_later_checkpoint(
    uow: UnitOfWork, on_postgres: bool
) -> None:
    last = _write_events(uow, 10)
    assert _checkpoint(uow).last_seq == last
    _truncate_tail_and_rewind_head(uow, on_postgres, last, 3)
    checked, broken = audit.verify_chain(uow.session)
    # The remaining events and the head agree; only the checkpoint still knows the chain reached #10.
    assert broken is not None and broken.seq == last - 2, broken
    assert f"recorded #{last}" in broken.problem
    assert checked == last - 3


def test_every_checkpoint_is_compared_not_only_the_latest(uow: UnitOfWork, on_postgres: bool) -> None:
    _write_events(uow, 4)
    earlier = _checkpoint(uow)
    last = _write_events(uow, 4)
    latest = _checkpoint(uow)
    # The owner truncates past the earlier checkpoint and deletes the latest one: the earlier one still counts.
    _truncate_tail_and_rewind_head(uow, on_postgres, last, 6)
    _as_owner(uow, on_postgres, f"DELETE FROM audit_checkpoint WHERE id = {latest.id}")
    _checked, broken = audit.verify_chain(uow.session)
    assert broken is not None and broken.seq == last - 5 and f"recorded #{earlier.last_seq}" in broken.problem


def test_a_checkpoint_whose_position_was_rewritten_is_found_there(uow: UnitOfWork, on_postgres: bool) -> None:
    _write_events(uow, 4)
    checkpoint = _checkpoint(uow)
    _write_events(uow, 2)
    _as_owner(uow, on_postgres, f"UPDATE audit_checkpoint SET last_hash = '{'f' * 64}' WHERE id = {checkpoint.id}")
    _checked, broken = audit.verify_chain(uow.session)
    assert broken is not None and broken.seq == checkpoint.last_seq
    assert f"the chain from #1 to #{checkpoint.last_seq} differs" in broken.problem


def _rechain_with_plain_sha256(uow: UnitOfWork, on_postgres: bool, edit_seq: int) -> None:
    """Edit an event, then recompute the whole chain, the head and the checkpoints as the old unkeyed code did."""
    rows = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    prev, statements = GENESIS_HASH, []
    for row in rows:
        assert row.seq is not None
        actor = "someone else" if row.seq == edit_seq else row.actor
        digest = unkeyed_link(prev, AuditEntry(row.seq, row.occurred_at, actor, row.action, row.entity_type,
                                               row.entity_id, row.summary))
        statements.append(f"UPDATE audit_event SET actor = '{actor}', prev_hash = '{prev}', hash = '{digest}' "
                          f"WHERE seq = {row.seq}")
        statements.append(f"UPDATE audit_checkpoint SET last_hash = '{digest}' WHERE last_seq = {row.seq}")
        prev = digest
    statements.append(f"UPDATE audit_head SET last_hash = '{prev}'")
    _as_owner(uow, on_postgres, *statements)


def test_a_full_rewrite_recomputed_with_plain_sha256_is_found_at_the_first_event(
    uow: UnitOfWork, on_postgres: bool
) -> None:
    _write_events(uow, 6)
    _checkpoint(uow)
    _rechain_with_plain_sha256(uow, on_postgres, edit_seq=5)
    checked, broken = audit.verify_chain(uow.session)
    # Without AUDIT_KEY no recomputation holds: the very first event is already wrong.
    assert broken is not None and broken.seq == 1 and "AUDIT_KEY" in broken.problem
    assert checked == 0


def test_a_chain_sealed_under_another_key_does_not_verify(uow: UnitOfWork) -> None:
    audit.configure_sessions(uow.session_factory, key="another-key-" * 4)
    _write_events(uow, 2)
    audit.configure_sessions(uow.session_factory, key=TEST_AUDIT_KEY)
    with uow.session_factory() as session:
        _checked, broken = audit.verify_chain(session)
    assert broken is not None and broken.seq == 1


def test_a_session_without_the_audit_key_refuses_to_seal(uow: UnitOfWork) -> None:
    from sqlalchemy.orm import Session

    audit.record(uow, actor="a", action="x", entity_type="t", entity_id=1)
    with Session(bind=uow.session.connection()) as bare, pytest.raises(RuntimeError, match="AUDIT_KEY"):
        audit.seal_pending(bare)


# The bureau's copy: checkpoints written outside the database catch a rewind of the checkpoint table too.

@pytest.fixture
def checkpoint_file(uow: UnitOfWork, tmp_path: Path) -> Path:
    """Configure this test's sessions to append checkpoints to a file, as AUDIT_CHECKPOINT_FILE does."""
    path = tmp_path / "var" / "audit-checkpoints.log"
    audit.configure_sessions(uow.session_factory, key=TEST_AUDIT_KEY, checkpoint_file=path)
    return path


def test_a_checkpoint_is_logged_and_appended_to_the_checkpoint_file(
    uow: UnitOfWork, checkpoint_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write_events(uow, 3)
    with caplog.at_level(logging.INFO, logger="subsidy_app.audit"):
        first = _checkpoint(uow)
        _write_events(uow, 2)
        second = _checkpoint(uow)
    recorded = [(p.seq, p.hash) for p in audit.read_checkpoint_file(checkpoint_file)]
    assert recorded == [(first.last_seq, first.last_hash), (second.last_seq, second.last_hash)]
    logged = [(p.seq, p.hash) for p in audit.parse_checkpoint_lines(caplog.text.splitlines(), source="log")]
    assert logged == recorded  # the log line alone is a copy too


def test_checkpoints_run_as_a_job_reach_the_file(uow: UnitOfWork, checkpoint_file: Path) -> None:
    _write_events(uow, 2)
    audit.request_checkpoint(uow, requested_by="account:1:admin")
    uow.commit()  # the embedded dispatcher runs the job right after the commit
    stored = uow.session.scalars(select(AuditCheckpoint)).one()
    assert [(p.seq, p.hash) for p in audit.read_checkpoint_file(checkpoint_file)] == [
        (stored.last_seq, stored.last_hash)]


def test_a_broken_chain_writes_no_checkpoint_line(
    uow: UnitOfWork, on_postgres: bool, checkpoint_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write_events(uow, 3)
    _as_owner(uow, on_postgres, "DELETE FROM audit_event WHERE seq = 2")
    with caplog.at_level(logging.INFO, logger="subsidy_app.audit"):
        assert not audit.write_checkpoint(uow).ok
        uow.commit()
    assert not checkpoint_file.exists()
    assert "audit chain BROKEN at event #2" in caplog.text


def test_the_checkpoint_file_finds_a_rewind_that_also_rewrote_the_checkpoint_table(
    app: Flask, uow: UnitOfWork, on_postgres: bool, checkpoint_file: Path
) -> None:
    last = _write_events(uow, 10)
    _checkpoint(uow)
    _truncate_tail_and_rewind_head(uow, on_postgres, last, 3)
    _as_owner(uow, on_postgres, "DELETE FROM audit_checkpoint")
    assert audit.verify_chain(uow.session) == (last - 3, None)  # the database alone now looks whole
    cli = app.test_cli_runner()
    result = cli.invoke(args=["audit", "verify", "--checkpoints", str(checkpoint_file)])
    assert result.exit_code == 1, result.output
    assert f"BROKEN at event #{last - 2}" in result.output
    assert f"{checkpoint_file} line 1 recorded #{last}" in result.output


def test_verify_against_an_intact_checkpoint_file_passes(app: Flask, uow: UnitOfWork, checkpoint_file: Path) -> None:
    _write_events(uow, 3)
    _checkpoint(uow)
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoints", str(checkpoint_file)])
    assert result.exit_code == 0, result.output
    assert "intact: 3 events, through 1 checkpoint(s) from file" in result.output


def test_a_damaged_checkpoint_file_is_refused_by_line(app: Flask, uow: UnitOfWork, tmp_path: Path) -> None:
    damaged = tmp_path / "copy.log"
    damaged.write_text("some other log line\naudit checkpoint seq=3 hash=abc at=2026-01-01T00:00:00+00:00\n")
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoints", str(damaged)])
    assert result.exit_code == 2
    assert "line 2 is not a checkpoint line" in result.output


def test_the_verify_endpoint_reports_a_rewound_tail(client: FlaskClient, demo: dict[str, int], uow: UnitOfWork,
                                                   on_postgres: bool) -> None:
    headers = bearer(client, "admin")
    last = _write_events(uow, 3)
    _checkpoint(uow)
    _truncate_tail_and_rewind_head(uow, on_postgres, last, 3)
    body = client.get("/api/v1/audit/verify", headers=headers).get_json()
    assert body["ok"] is False
    assert body["broken_at"] == last - 2
