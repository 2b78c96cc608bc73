"""Uploaded files at rest: bytes sealed under the data key, dropped once kept past the retention period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import InstrumentedAttribute, Session

from subsidy_app.core.uow import UnitOfWork

DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class StoredUpload:
    """A column holding uploaded files' sealed bytes, and the column saying when their job finished."""

    content: InstrumentedAttribute[Any]
    finished: InstrumentedAttribute[Any] | None

    @property
    def name(self) -> str:
        """Return `table.column`."""
        return f"{self.content.class_.__tablename__}.{self.content.key}"


_STORED: list[StoredUpload] = []


def stored_upload(content: InstrumentedAttribute[Any], *, finished: InstrumentedAttribute[Any] | None) -> None:
    """Declare a column of sealed upload bytes; with `finished`, they are purged after the retention period.

    Without `finished` the bytes live as long as their row: a document scan is evidence of its application,
    and an intake file is cleared by its own job.
    """
    if all(s.content is not content for s in _STORED):
        _STORED.append(StoredUpload(content, finished))


def stored_uploads() -> tuple[StoredUpload, ...]:
    """Return every declared upload column."""
    return tuple(_STORED)


def seal(uow: UnitOfWork, data: bytes) -> bytes:
    """Encrypt an uploaded file's bytes for storage, as personal fields are encrypted."""
    return uow.cipher.encrypt_bytes(data)


def unseal(uow: UnitOfWork, blob: bytes) -> bytes:
    """Return the bytes of a file stored by seal()."""
    return uow.cipher.decrypt_bytes(blob)


def purge_finished(session: Session, *, finished_before: dt.datetime) -> dict[str, int]:
    """Drop the bytes of uploads whose job finished before the cutoff; each row, its hash and report stay."""
    purged: dict[str, int] = {}
    for stored in _STORED:
        if stored.finished is None:
            continue
        result = session.execute(
            update(stored.content.class_)
            .where(stored.finished < finished_before, stored.content.is_not(None))
            .values({stored.content.key: None})
            .execution_options(synchronize_session=False))
        purged[stored.name] = int(result.rowcount)  # type: ignore[attr-defined]
    return purged
