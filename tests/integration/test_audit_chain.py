"""Audit events chain by hash; edits and deletions are detected; PostgreSQL refuses them outright."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from subsidy_app.audit import services as audit
from subsidy_app.core.uow import UnitOfWork


def _write_events(uow: UnitOfWork, count: int) -> None:
    for i in range(count):
        audit.record(uow, actor="account:1:test", action="thing.changed", entity_type="thing", entity_id=i,
                     before={"state": "a"}, after={"state": "b", "id_number": "11010519491231002X"})
        uow.commit()


def test_events_chain_and_verify(uow: UnitOfWork) -> None:
    _write_events(uow, 5)
    checked, broken = audit.verify_chain(uow.session)
    assert broken is None
    assert checked == 5


def test_personal_data_is_masked_in_the_trail(uow: UnitOfWork) -> None:
    _write_events(uow, 1)
    event = audit.list_events(uow.session, limit=1)[0]
    assert "11010519491231002X" not in str(event.summary)
    assert "1101**********002X" in str(event.summary)


def test_rolled_back_work_leaves_no_event(uow: UnitOfWork) -> None:
    audit.record(uow, actor="a", action="x", entity_type="t", entity_id=1)
    uow.rollback()
    assert audit.event_count(uow.session) == 0


def _tamper(uow: UnitOfWork, sql: str, on_postgres: bool) -> None:
    if on_postgres:
        uow.session.execute(text("SET LOCAL session_replication_role = replica"))
    uow.session.execute(text(sql))
    if on_postgres:
        uow.session.execute(text("SET LOCAL session_replication_role = origin"))


@pytest.mark.parametrize(
    ("sql", "expected_seq"),
    [
        ("UPDATE audit_event SET actor = 'someone else' WHERE seq = 3", 3),
        ("DELETE FROM audit_event WHERE seq = 2", 2),
        ("DELETE FROM audit_event WHERE seq = 5", 5),
    ],
)
def test_edit_or_delete_in_sql_is_detected_by_flask_audit_verify(
    app: Flask, uow: UnitOfWork, on_postgres: bool, sql: str, expected_seq: int
) -> None:
    _write_events(uow, 5)
    _tamper(uow, sql, on_postgres)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event #{expected_seq}" in result.output


def test_intact_chain_passes_flask_audit_verify(app: Flask, uow: UnitOfWork) -> None:
    _write_events(uow, 3)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 3 events" in result.output


@pytest.mark.parametrize("sql", ["UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event",
                                 "TRUNCATE audit_event"])
def test_postgres_refuses_update_and_delete_of_audit_rows(postgres: None, uow: UnitOfWork, sql: str) -> None:
    _write_events(uow, 2)
    with pytest.raises(DBAPIError, match="append-only"), uow.session.begin_nested():
        uow.session.execute(text(sql))
