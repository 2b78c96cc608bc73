"""Every table comes from Alembic; one head; upgrade → downgrade → upgrade works on both databases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from subsidy_app import migrate
from subsidy_app.metadata import target_metadata


def test_history_has_a_single_head() -> None:
    assert len(migrate.heads()) == 1


def _roundtrip(url: str) -> None:
    migrate.upgrade(url)
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in target_metadata.sorted_tables} <= tables
    migrate.downgrade(url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    assert {t.name for t in target_metadata.sorted_tables} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path: Path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}")


def test_upgrade_downgrade_upgrade_on_postgres(postgres: None, database_url: str) -> None:
    base = database_url.rsplit("/", 1)[0]
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    name = database_url.rsplit("/", 1)[1] + "_migrations"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _roundtrip(f"{base}/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_models_match_the_migrations(engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), target_metadata)
    assert diff == []
