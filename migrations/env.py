"""Alembic environment: the URL comes from subsidy_app.config (or a connection passed by the caller)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from subsidy_app.config import load_settings
from subsidy_app.core.db import build_engine
from subsidy_app.metadata import target_metadata

config = context.config


def run_migrations_offline() -> None:
    """Emit SQL without a database connection."""
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live connection (given by the caller, or built from the settings)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = build_engine(url, poolclass=pool.NullPool) if not url.startswith("sqlite") else build_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
