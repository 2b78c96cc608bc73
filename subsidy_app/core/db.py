"""Database kernel: declarative base with a naming convention, engine and session factory."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable, Iterator
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, cast

from psycopg.types.json import Jsonb
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Engine,
    Insert,
    MetaData,
    Numeric,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

# The limits live in the pure core.limits so domain modules can check against them; re-exported for callers here.
from subsidy_app.core.limits import LARGEST_MONEY as LARGEST_MONEY
from subsidy_app.core.limits import LARGEST_WEIGHT as LARGEST_WEIGHT
from subsidy_app.core.limits import MAX_ID as MAX_ID

# Stable constraint names so Alembic revisions are reproducible on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT primary keys on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
JsonDoc = JSON().with_variant(postgresql.JSONB(), "postgresql")
Money = Numeric(14, 2)
Weight = Numeric(14, 3)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp with time zone that always comes back timezone-aware (SQLite drops the zone: it is UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Store aware values in UTC (SQLite keeps no zone, so all must share one)."""
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            return value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Give naive values read from SQLite their UTC zone back."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: Money,
        dt.datetime: UtcDateTime(),
        dict[str, Any]: JsonDoc,
        list[Any]: JsonDoc,
    }


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _begin_sqlite(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def build_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def build_session_factory(engine: Engine, *, info: dict[str, Any] | None = None) -> sessionmaker[Session]:
    """Create the session factory units of work draw from; `info` is copied into every session's Session.info."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=info)


def is_postgres(session_or_engine: Session | Engine) -> bool:
    """Tell whether the bound database is PostgreSQL (row locks, triggers, COPY)."""
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


# Below this many rows a plain INSERT is cheaper than COPY's extra protocol round trips.
COPY_FROM_ROWS = 20


@functools.cache
def _plain_insert(table: Table) -> Insert:
    """A table's INSERT statement, built once: audit rows are written this way by nearly every transaction."""
    return table.insert()


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: PostgreSQL COPY when available, a multi-row INSERT otherwise.

    Every row must carry the same keys; column defaults are not applied, so callers give every value they need.
    """
    if not rows:
        return
    table = cast(Table, model.__table__)
    if len(rows) < COPY_FROM_ROWS or not is_postgres(session):
        session.execute(_plain_insert(table), rows)
        return
    columns = list(rows[0])
    raw = session.connection().connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([Jsonb(v) if isinstance(v, dict | list) else v for v in (row[c] for c in columns)])


def in_values(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN values`, sent to PostgreSQL as one array parameter (thousands of placeholders parse slowly).

    As `IN (SELECT unnest(…))` rather than `= ANY(…)`: a reused generic plan of `= ANY` may scan the table and
    compare each row with the whole array; a semi-join stays an index or hash lookup.
    """
    if is_postgres(session):
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column.in_(select(func.unnest(array)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


T = TypeVar("T")
# PostgreSQL accepts at most 65,535 bound parameters per statement; IN lists longer than this go in slices.
IN_LIST_SLICE = 10_000


def slices(values: Iterable[T], size: int = IN_LIST_SLICE) -> Iterator[list[T]]:
    """Yield the values in lists of at most `size` (for IN lists over large batches)."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
