"""Volume rollups per county × category × day (and month), kept in the same transaction as each intake."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from recycling.domain import USED_CAR_CATEGORY, IntakeSource, Quantity
from recycling.models import Intake, MonthlyRollup, UsedCarTransaction, VolumeRollup
from subsidy_app.core.db import is_postgres
from subsidy_app.core.uow import UnitOfWork

Key = tuple[str, str, dt.date]  # county, category, day
DAY_TABLE = cast(Table, VolumeRollup.__table__)
MONTH_TABLE = cast(Table, MonthlyRollup.__table__)


@dataclass(frozen=True)
class Cell:
    """One rollup cell's figures."""

    units: int
    weight_kg: Decimal
    records: int


def _upsert(uow: UnitOfWork, table: Table, keys: dict[str, Any], cell: Cell) -> None:
    insert = postgresql.insert if is_postgres(uow.session) else sqlite.insert
    stmt = insert(table).values(**keys, units=cell.units, weight_kg=cell.weight_kg, records=cell.records)
    # Adding in the database (not read-modify-write) keeps concurrent intakes from losing updates.
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={
        "units": table.c.units + stmt.excluded.units,
        "weight_kg": table.c.weight_kg + stmt.excluded.weight_kg,
        "records": table.c.records + stmt.excluded.records,
    })
    uow.session.execute(stmt)


def bump(uow: UnitOfWork, *, county_code: str, category: str, day: dt.date, units: int, weight_kg: Decimal,
         records: int) -> None:
    """Add a movement to the day and month rollups."""
    cell = Cell(units, weight_kg, records)
    _upsert(uow, DAY_TABLE, {"county_code": county_code, "category": category, "day": day}, cell)
    _upsert(uow, MONTH_TABLE,
            {"county_code": county_code, "category": category, "month": day.replace(day=1)}, cell)


def recount(uow: UnitOfWork) -> dict[Key, Cell]:
    """Count every cell from scratch from intake records and used-car transactions."""
    sign = case((Intake.reverses_id.is_(None), 1), else_=-1)
    intakes = uow.session.execute(
        select(Intake.county_code, Intake.category, Intake.occurred_on, func.sum(Intake.units),
               func.sum(Intake.weight_kg), func.sum(sign))
        .where(Intake.source != IntakeSource.OTHER_SITE.value)
        .group_by(Intake.county_code, Intake.category, Intake.occurred_on))
    cars = uow.session.execute(
        select(UsedCarTransaction.county_code, UsedCarTransaction.transferred_on, func.count())
        .group_by(UsedCarTransaction.county_code, UsedCarTransaction.transferred_on))
    cells: dict[Key, Cell] = {}
    for county, category, day, units, weight, records in intakes:
        cells[(county, category, day)] = Cell(int(units), Decimal(weight), int(records))
    for county, day, count in cars:
        cells[(county, USED_CAR_CATEGORY, day)] = Cell(int(count), Decimal("0.000"), int(count))
    return {k: v for k, v in cells.items() if v != Cell(0, Decimal(0), 0)}


def stored(uow: UnitOfWork) -> dict[Key, Cell]:
    """Return the stored day rollups (zero cells left out)."""
    rows = uow.session.execute(select(VolumeRollup.county_code, VolumeRollup.category, VolumeRollup.day,
                                      VolumeRollup.units, VolumeRollup.weight_kg, VolumeRollup.records))
    cells = {(c, k, d): Cell(int(u), Decimal(w), int(r)) for c, k, d, u, w, r in rows}
    return {k: v for k, v in cells.items() if v != Cell(0, Decimal(0), 0)}


def stored_months(uow: UnitOfWork) -> dict[Key, Cell]:
    """Return the stored month rollups (zero cells left out)."""
    rows = uow.session.execute(select(MonthlyRollup.county_code, MonthlyRollup.category, MonthlyRollup.month,
                                      MonthlyRollup.units, MonthlyRollup.weight_kg, MonthlyRollup.records))
    cells = {(c, k, m): Cell(int(u), Decimal(w), int(r)) for c, k, m, u, w, r in rows}
    return {k: v for k, v in cells.items() if v != Cell(0, Decimal(0), 0)}


def months_of(days: dict[Key, Cell]) -> dict[Key, Cell]:
    """Fold day cells into month cells."""
    months: dict[Key, Cell] = {}
    for (county, category, day), cell in days.items():
        key = (county, category, day.replace(day=1))
        old = months.get(key, Cell(0, Decimal(0), 0))
        months[key] = Cell(old.units + cell.units, old.weight_kg + cell.weight_kg, old.records + cell.records)
    return {k: v for k, v in months.items() if v != Cell(0, Decimal(0), 0)}


def differences(expected: dict[Key, Cell], actual: dict[Key, Cell]) -> list[tuple[Key, Cell | None, Cell | None]]:
    """List the cells where a recount and the stored rollups disagree."""
    keys = sorted(set(expected) | set(actual))
    return [(k, expected.get(k), actual.get(k)) for k in keys if expected.get(k) != actual.get(k)]


def verify(uow: UnitOfWork) -> list[tuple[Key, Cell | None, Cell | None]]:
    """Recount and compare day and month rollups; return the differing cells."""
    counted = recount(uow)
    return differences(counted, stored(uow)) + differences(months_of(counted), stored_months(uow))


def rebuild(uow: UnitOfWork, *, counted: dict[Key, Cell] | None = None,
            progress: Callable[[int], None] | None = None) -> int:
    """Replace every rollup with a fresh recount; return the number of day cells written."""
    cells = recount(uow) if counted is None else counted
    uow.session.execute(delete(DAY_TABLE))
    uow.session.execute(delete(MONTH_TABLE))
    for (county, category, day), cell in cells.items():
        _upsert(uow, DAY_TABLE, {"county_code": county, "category": category, "day": day}, cell)
        if progress is not None:
            progress(1)
    for (county, category, month), cell in months_of(cells).items():
        _upsert(uow, MONTH_TABLE, {"county_code": county, "category": category, "month": month}, cell)
    return len(cells)


def period_totals(uow: UnitOfWork, *, start: dt.date, end: dt.date, counties: Iterable[str] | None = None
                  ) -> dict[tuple[str, str], Quantity]:
    """Return (county, category) → quantity between two days (inclusive), from day rollups."""
    stmt = (select(VolumeRollup.county_code, VolumeRollup.category, func.sum(VolumeRollup.units),
                   func.sum(VolumeRollup.weight_kg))
            .where(VolumeRollup.day >= start, VolumeRollup.day <= end)
            .group_by(VolumeRollup.county_code, VolumeRollup.category))
    if counties is not None:
        stmt = stmt.where(VolumeRollup.county_code.in_(list(counties)))
    return {(c, k): Quantity(int(u), Decimal(w)) for c, k, u, w in uow.session.execute(stmt)}


def year_by_month(uow: UnitOfWork, *, year: int, counties: Iterable[str] | None = None
                  ) -> list[tuple[str, str, int, int, Decimal]]:
    """Return the dashboard grid: (county, category, month, units, kg) for a year, from month rollups."""
    stmt = (select(MonthlyRollup.county_code, MonthlyRollup.category, MonthlyRollup.month, MonthlyRollup.units,
                   MonthlyRollup.weight_kg)
            .where(MonthlyRollup.month >= dt.date(year, 1, 1), MonthlyRollup.month <= dt.date(year, 12, 1))
            .order_by(MonthlyRollup.county_code, MonthlyRollup.category, MonthlyRollup.month))
    if counties is not None:
        stmt = stmt.where(MonthlyRollup.county_code.in_(list(counties)))
    return [(c, k, m.month, int(u), Decimal(w)) for c, k, m, u, w in uow.session.execute(stmt)]
