"""Migration 0012_audit_hmac re-keys an existing unkeyed chain, refuses a broken one, and downgrades back."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import sessionmaker

from subsidy_app import migrate
from subsidy_app.audit import services as audit
from subsidy_app.audit.domain import GENESIS_HASH, AuditEntry, unkeyed_link
from tests.conftest import TEST_AUDIT_KEY

REKEY = "0012_audit_hmac"
BEFORE = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(REKEY).down_revision
assert isinstance(BEFORE, str)


@pytest.fixture
def old_database(postgres: None, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Engine]]:
    """A database migrated to the revision before the re-keying; AUDIT_KEY set as the upgrade reads it."""
    monkeypatch.setenv("AUDIT_KEY", TEST_AUDIT_KEY)
    base, name = database_url.rsplit("/", 1)[0], database_url.rsplit("/", 1)[1] + "_rekey"
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{base}/{name}"
    migrate.upgrade(url, BEFORE)
    engine = create_engine(url)
    yield url, engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _rows(conn: Connection) -> list[AuditEntry]:
    rows = conn.execute(text("SELECT seq, occurred_at, actor, action, entity_type, entity_id, summary "
                             "FROM audit_event WHERE seq IS NOT NULL ORDER BY seq")).all()
    return [AuditEntry(*row) for row in rows]


def _unkeyed_chain(engine: Engine, count: int) -> list[str]:
    """Write `count` events sealed as the code before 0012 did (plain SHA-256), a head and two checkpoints."""
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for i in range(count):
            conn.execute(text("INSERT INTO audit_event (occurred_at, actor, action, entity_type, entity_id, summary) "
                              "VALUES (:at, 'system', 'thing.changed', 'thing', :i, CAST(:s AS jsonb))"),
                         {"at": at + dt.timedelta(minutes=i), "i": str(i), "s": json.dumps({"after": {"n": i}})})
        ids = list(conn.scalars(text("SELECT id FROM audit_event ORDER BY id")))
        hashes, prev = [], GENESIS_HASH
        for seq, event_id in enumerate(ids, start=1):
            row = conn.execute(text("SELECT occurred_at, actor, action, entity_type, entity_id, summary "
                                    "FROM audit_event WHERE id = :id"), {"id": event_id}).one()
            digest = unkeyed_link(prev, AuditEntry(seq, *row))
            # The sealing guard lets the chain columns of an unsealed event be filled in once.
            conn.execute(text("UPDATE audit_event SET seq = :seq, prev_hash = :prev, hash = :h WHERE id = :id"),
                         {"seq": seq, "prev": prev, "h": digest, "id": event_id})
            hashes.append(digest)
            prev = digest
        conn.execute(text("UPDATE audit_head SET last_seq = :s, last_hash = :h WHERE id = 1"), {"s": count, "h": prev})
        for seq in (2, count):
            conn.execute(text("INSERT INTO audit_checkpoint (checked_at, last_seq, last_hash, ok) "
                              "VALUES (now(), :s, :h, true)"), {"s": seq, "h": hashes[seq - 1]})
    return hashes


def test_upgrade_rekeys_an_intact_chain_and_downgrade_restores_plain_sha256(old_database: tuple[str, Engine]) -> None:
    url, engine = old_database
    old = _unkeyed_chain(engine, 5)
    migrate.upgrade(url, REKEY)
    factory = sessionmaker(bind=engine, info=audit.session_info(key=TEST_AUDIT_KEY))
    with factory() as session, session.begin():
        # Five re-keyed events and the sealed record of the re-keying; both checkpoints carried over.
        assert audit.verify_chain(session) == (6, None)
        rekeyed = session.execute(text("SELECT summary FROM audit_event WHERE action = 'audit.rekeyed'")).scalar_one()
    assert rekeyed["after"]["unkeyed_head"] == {"seq": 5, "hash": old[-1]}
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT hash FROM audit_event WHERE seq = 5")) != old[-1]
        assert set(conn.scalars(text("SELECT last_hash FROM audit_checkpoint"))).isdisjoint(old)

    migrate.downgrade(url, BEFORE)
    with engine.connect() as conn:
        prev = GENESIS_HASH
        for entry in _rows(conn):
            prev = unkeyed_link(prev, entry)
        assert conn.scalar(text("SELECT hash FROM audit_event WHERE seq = 6")) == prev
        assert conn.scalar(text("SELECT last_hash FROM audit_head")) == prev
        assert conn.scalar(text("SELECT last_hash FROM audit_checkpoint WHERE last_seq = 2")) == old[1]


@pytest.mark.parametrize(("tamper", "first_bad"), [
    ("UPDATE audit_event SET actor = 'someone else' WHERE seq = 3", 3),
    ("DELETE FROM audit_event WHERE seq = 2", 2),
    ("DELETE FROM audit_event WHERE seq > 3; UPDATE audit_head SET last_seq = 3, "
     "last_hash = (SELECT hash FROM audit_event WHERE seq = 3)", 4),  # the checkpoint at #5 still knows
])
def test_upgrade_refuses_to_rekey_a_chain_that_is_already_broken(
    old_database: tuple[str, Engine], tamper: str, first_bad: int
) -> None:
    url, engine = old_database
    _unkeyed_chain(engine, 5)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for sql in tamper.split("; "):
            conn.execute(text(sql))
    with pytest.raises(RuntimeError, match=f"broken at event #{first_bad}"):
        migrate.upgrade(url, REKEY)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == BEFORE
        assert conn.scalar(text("SELECT count(*) FROM audit_event WHERE action = 'audit.rekeyed'")) == 0
