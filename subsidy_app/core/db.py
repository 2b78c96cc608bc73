"""Database kernel: declarative base with a naming convention, engine and session factory."""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, cast

from psycopg import sql as psql
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
from sqlalchemy.schema import ColumnDefault
from sqlalchemy.types import TypeDecorator

from subsidy_app.core import clock

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
    """Return the current time, timezone-aware in UTC (read from core.clock, the platform's one clock)."""
    return clock.utc_now()


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


def add_to_cells(session: Session, table: Table, rows: list[dict[str, Any]], *, sums: tuple[str, ...]) -> None:
    """Add each row's `sums` to the cell its primary key names (a new cell starts at the row), in one statement.

    Adding in the database (not read-modify-write) loses no concurrent change, and rows go in key order so two
    transactions lock shared cells in one order. The tallies the dashboard reads are kept with it."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    statement = insert(table).values(sorted(rows, key=lambda row: tuple(row[k] for k in keys)))
    session.execute(statement.on_conflict_do_update(
        index_elements=keys, set_={column: table.c[column] + statement.excluded[column] for column in sums}))


@dataclass(frozen=True)
class Upsert:
    """On a clash of `keys`, set `column` to the new row's value, or (`new=False`) to itself: that just locks the
    existing row, and RETURNING then shows its values."""

    keys: tuple[str, ...]
    column: str
    new: bool


@functools.cache
def _insert_statement(table: Table, dialect: str, ignore: bool, upsert: Upsert | None,
                      returning: tuple[str, ...]) -> Insert:
    """A table's INSERT with its conflict clause and RETURNING, built once: audit rows, for one, are written this
    way by nearly every transaction (building and keying a statement costs more than running it)."""
    statement: Any = table.insert()
    if ignore or upsert is not None:
        statement = (postgresql if dialect == "postgresql" else sqlite).insert(table)
        if upsert is None:
            statement = statement.on_conflict_do_nothing()
        else:
            source = statement.excluded if upsert.new else table.c
            statement = statement.on_conflict_do_update(index_elements=list(upsert.keys),
                                                        set_={upsert.column: source[upsert.column]})
    return cast(Insert, statement.returning(*(table.c[c] for c in returning)) if returning else statement)


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]], *, ignore_conflicts: bool = False,
                upsert: Upsert | None = None, returning: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Insert many rows in the session's transaction: PostgreSQL COPY from `COPY_FROM_ROWS` rows, else INSERT.

    Every row carries the same keys. A clashing row is skipped (`ignore_conflicts`) or updated (`upsert`); the
    `returning` columns of the rows written come back (with ids drawn beforehand when only COPY is needed).
    """
    if not rows:
        return []
    table = cast(Table, model.__table__)
    if len(rows) < COPY_FROM_ROWS or not is_postgres(session):
        statement = _insert_statement(table, session.get_bind().dialect.name, ignore_conflicts, upsert, returning)
        result = session.execute(statement, rows)
        return [dict(r) for r in result.mappings()] if returning else []
    return _copy_rows(session, table, rows, ignore_conflicts, upsert, returning)


def _copy_rows(session: Session, table: Table, rows: list[dict[str, Any]], ignore: bool, upsert: Upsert | None,
               returning: tuple[str, ...]) -> list[dict[str, Any]]:
    raw = session.connection().connection.driver_connection
    assert raw is not None
    # COPY skips the columns' Python-side defaults (timestamps, flags): fill them as an INSERT would.
    defaults = {c.name: d.arg(None) if d.is_callable else d.arg for c in table.c
                if c.name not in rows[0] and isinstance(d := c.default, ColumnDefault)
                and (d.is_callable or d.is_scalar)}
    rows = [{**defaults, **row} for row in rows] if defaults else rows
    with raw.cursor() as cursor:
        drawn = "id" in returning and "id" not in rows[0] and not ignore and upsert is None
        if drawn:  # COPY returns nothing: draw the ids first, so the rows go straight into the table
            ids = cursor.execute(psql.SQL("SELECT nextval(pg_get_serial_sequence({}, 'id')) FROM "
                                          "generate_series(1, {})").format(psql.Literal(table.name),
                                                                           psql.Literal(len(rows)))).fetchall()
            rows = [{**row, "id": i} for row, (i,) in zip(rows, ids, strict=True)]
        columns = list(rows[0])
        direct = not (ignore or upsert) and set(returning) <= set(columns)
        # One scratch table per column set (the same table may be written with different columns).
        scratch = f"copy_scratch_{table.name}_{zlib.crc32(','.join(columns).encode()):08x}"
        target = psql.Identifier(table.name if direct else scratch)
        names = psql.SQL(", ").join(map(psql.Identifier, columns))
        if not direct:
            # COPY can't skip or update a clashing row; INSERT … SELECT from a scratch copy of the table can.
            cursor.execute(psql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} FROM {} "
                                    "WITH NO DATA").format(target, names, psql.Identifier(table.name)))
        json_columns = {c.name for c in table.c if isinstance(c.type, JSON)}
        with cursor.copy(psql.SQL("COPY {} ({}) FROM STDIN").format(target, names)) as copy:
            for row in rows:
                copy.write_row([Jsonb(row[c]) if c in json_columns and row[c] is not None else row[c]
                                for c in columns])
        if direct:
            return [{c: row[c] for c in returning} for row in rows]
        found = cursor.execute(psql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}{}{}").format(
            psql.Identifier(table.name), names, names, target, _on_conflict(table, ignore, upsert),
            psql.SQL(" RETURNING ") + psql.SQL(", ").join(map(psql.Identifier, returning)) if returning
            else psql.SQL("")))
        out = found.fetchall() if returning else []
        cursor.execute(psql.SQL("DELETE FROM {}").format(target))  # several calls may share one transaction
    return [dict(zip(returning, r, strict=True)) for r in out]


def _on_conflict(table: Table, ignore: bool, upsert: Upsert | None) -> psql.Composable:
    if upsert is None:
        return psql.SQL(" ON CONFLICT DO NOTHING" if ignore else "")
    source = psql.Identifier(table.name if not upsert.new else "excluded")
    column = psql.Identifier(upsert.column)
    return psql.SQL(" ON CONFLICT ({}) DO UPDATE SET {} = {}.{}").format(
        psql.SQL(", ").join(map(psql.Identifier, upsert.keys)), column, source, column)


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
