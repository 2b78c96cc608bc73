"""Dump the committed test database with pg_dump and look for personal data in clear."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, text


def _pg_dump_binary(libpq_url: str) -> str:
    """Return the pg_dump of the server's major version (a newer server refuses an older pg_dump)."""
    engine = create_engine(libpq_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        major = int(conn.scalar(text("SHOW server_version_num")) or 0) // 10_000
    engine.dispose()
    matching = Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")
    if matching.exists():
        return str(matching)
    found = shutil.which("pg_dump")
    assert found, "pg_dump is not installed"
    return found


def pg_dump(database_url: str) -> str:
    """Return the data of every table as pg_dump writes it (bytea as hex, JSON as text)."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    done = subprocess.run([_pg_dump_binary(url), "--data-only", "--no-owner", f"--dbname={url}"],
                          capture_output=True, check=True, timeout=120)
    return done.stdout.decode("utf-8")


def in_clear(dump: str, values: list[str]) -> list[str]:
    """Return the values the dump holds in clear: as text, or as the hex of their UTF-8 bytes in a bytea column."""
    return [v for v in values if v in dump or v.encode("utf-8").hex() in dump]
