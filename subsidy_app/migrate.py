"""Run Alembic revisions from code: `flask db upgrade`, tests and the demo share this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

import migrations


def alembic_config(url: str | None = None, connection: Connection | None = None,
                   data_key: str | None = None) -> Config:
    """Build an Alembic config pointing at the packaged migrations (data_key: for revisions that encrypt)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    if data_key:
        cfg.attributes["data_key"] = data_key
    return cfg


def upgrade(url: str | None = None, revision: str = "head", connection: Connection | None = None,
            data_key: str | None = None) -> None:
    """Upgrade the database to a revision; data_key defaults to the configured DATA_KEY."""
    command.upgrade(alembic_config(url, connection, data_key), revision)


def downgrade(url: str | None = None, revision: str = "base", connection: Connection | None = None,
              data_key: str | None = None) -> None:
    """Downgrade the database to a revision; data_key defaults to the configured DATA_KEY."""
    command.downgrade(alembic_config(url, connection, data_key), revision)


def heads() -> list[str]:
    """Return the revision heads (a healthy history has one)."""
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())
