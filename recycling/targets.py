"""Baselines (2023), targets (2027), progress on the straight-line path and a run-rate forecast."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path as FilePath

from sqlalchemy import func, select

from recycling.domain import (
    INDICATOR_DOMAIN,
    Indicator,
    Path,
    Period,
    categories_of,
    dekad_of,
    forecast,
    percent,
    run_rate,
    target_from,
)
from recycling.models import Baseline, MonthlyRollup, Target, VolumeRollup
from recycling.rollups import period_totals
from subsidy_app.audit import services as audit
from subsidy_app.core.errors import NotFound, ValidationFailed
from subsidy_app.core.tables import header_index, named, read_table
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import COUNTIES

DATA_DIR = FilePath(__file__).parent / "data"


@dataclass(frozen=True)
class Progress:
    """An indicator's standing on a day, for a set of counties."""

    indicator: str
    as_of: dt.date
    baseline_year: int
    baseline: Decimal
    target_year: int
    target: Decimal
    annual_target: Decimal
    ytd: Decimal
    expected_ytd: Decimal
    progress_percent: Decimal | None
    run_rate: Decimal
    forecast: Decimal
    on_track: bool


@dataclass(frozen=True)
class SeriesPoint:
    """One month of an indicator's time series."""

    month: str
    actual: Decimal
    cumulative: Decimal
    expected_cumulative: Decimal
    annual_target: Decimal


def _rows(filename: str, content: bytes, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    table = read_table(filename, content)
    at = header_index(table.header, {c: () for c in required}, {"source": ("来源",)})
    return [(line, named(cells, at)) for line, cells in table.rows]


def _year(value: str, line: int, field: str) -> int:
    if not value.isdigit():
        raise ValidationFailed.field(field, f"第 {line} 行年份无效 / line {line}: not a year")
    return int(value)


def _number(value: str, line: int, field: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ValidationFailed.field(field, f"第 {line} 行不是数字 / line {line}: not a number") from None
    if number < 0:
        raise ValidationFailed.field(field, f"第 {line} 行为负数 / line {line}: negative")
    return number


def load_baselines(uow: UnitOfWork, *, actor: str, content: bytes, source: str) -> int:
    """Load baseline figures per county and indicator (replacing earlier values); return how many."""
    count = 0
    for line, row in _rows(source, content, ("county_code", "indicator", "year", "value")):
        if row["county_code"] not in COUNTIES:
            raise ValidationFailed.field("county_code", f"第 {line} 行区县代码无效 / line {line}: unknown county")
        if row["indicator"] not in set(Indicator):
            raise ValidationFailed.field("indicator", f"第 {line} 行指标无效 / line {line}: unknown indicator")
        key = (row["county_code"], row["indicator"], _year(row["year"], line, "year"))
        existing = uow.session.get(Baseline, key)
        value = _number(row["value"], line, "value")
        note = (row.get("source") or source)[:200]
        if existing is None:
            uow.session.add(Baseline(county_code=key[0], indicator=key[1], year=key[2], value=value, source=note))
        else:
            existing.value, existing.source = value, note
        count += 1
    audit.record(uow, actor=actor, action="recycling.baselines_loaded", entity_type="recovery_baseline",
                 entity_id=source[:60], after={"rows": count})
    return count


def load_targets(uow: UnitOfWork, *, actor: str, content: bytes, source: str) -> int:
    """Load the plan's target factors per indicator; return how many."""
    count = 0
    for line, row in _rows(source, content, ("indicator", "baseline_year", "target_year", "factor")):
        if row["indicator"] not in set(Indicator):
            raise ValidationFailed.field("indicator", f"第 {line} 行指标无效 / line {line}: unknown indicator")
        target = uow.session.get(Target, row["indicator"]) or Target(indicator=row["indicator"])
        target.baseline_year = _year(row["baseline_year"], line, "baseline_year")
        target.target_year = _year(row["target_year"], line, "target_year")
        target.factor = _number(row["factor"], line, "factor")
        target.source = (row.get("source") or source)[:200]
        uow.session.add(target)
        count += 1
    audit.record(uow, actor=actor, action="recycling.targets_loaded", entity_type="recovery_target",
                 entity_id=source[:60], after={"rows": count})
    return count


def load_shipped(uow: UnitOfWork, *, actor: str) -> tuple[int, int]:
    """Load the shipped demo baselines and the plan's targets."""
    baselines = DATA_DIR / "baselines-2023.csv"
    targets = DATA_DIR / "targets-2027.csv"
    return (load_baselines(uow, actor=actor, content=baselines.read_bytes(), source=baselines.name),
            load_targets(uow, actor=actor, content=targets.read_bytes(), source=targets.name))


def path_for(uow: UnitOfWork, *, indicator: Indicator, counties: Iterable[str]) -> Path:
    """Return the straight-line path of an indicator for a set of counties."""
    target = uow.session.get(Target, indicator.value)
    if target is None:
        raise NotFound("尚未载入目标 / targets not loaded", reason="targets.not_loaded")
    baseline = uow.session.scalar(select(func.coalesce(func.sum(Baseline.value), 0)).where(
        Baseline.indicator == indicator.value, Baseline.year == target.baseline_year,
        Baseline.county_code.in_(list(counties))))
    base = Decimal(baseline or 0)
    return Path(target.baseline_year, base, target.target_year, target_from(base, target.factor))


def actual(uow: UnitOfWork, *, indicator: Indicator, start: dt.date, end: dt.date, counties: Iterable[str]
           ) -> Decimal:
    """Return an indicator's figure (units) between two days, from the rollups."""
    wanted = set(categories_of(INDICATOR_DOMAIN[indicator]))
    totals = period_totals(uow, start=start, end=end, counties=counties)
    return Decimal(sum(q.units for (_county, category), q in totals.items() if category in wanted))


def progress(uow: UnitOfWork, *, indicator: Indicator, as_of: dt.date, counties: Iterable[str]) -> Progress:
    """Compare the year to date with the straight-line path and forecast the target year."""
    scope = list(counties)
    path = path_for(uow, indicator=indicator, counties=scope)
    ytd = actual(uow, indicator=indicator, start=dt.date(as_of.year, 1, 1), end=as_of, counties=scope)
    expected = path.expected_to_date(as_of)
    projected = forecast(path, ytd, as_of)
    return Progress(indicator.value, as_of, path.baseline_year, path.baseline, path.target_year, path.target,
                    path.annual_target(as_of.year), ytd, expected, percent(ytd, expected), run_rate(ytd, as_of),
                    projected, projected >= path.target)


def monthly_series(uow: UnitOfWork, *, indicator: Indicator, year: int, counties: Iterable[str]
                   ) -> list[SeriesPoint]:
    """Return the indicator month by month for a year against the path, from month rollups."""
    scope = list(counties)
    path = path_for(uow, indicator=indicator, counties=scope)
    wanted = categories_of(INDICATOR_DOMAIN[indicator])
    rows = uow.session.execute(
        select(MonthlyRollup.month, func.sum(MonthlyRollup.units))
        .where(MonthlyRollup.month >= dt.date(year, 1, 1), MonthlyRollup.month <= dt.date(year, 12, 1),
               MonthlyRollup.category.in_(wanted), MonthlyRollup.county_code.in_(scope))
        .group_by(MonthlyRollup.month))
    by_month = {m.month: Decimal(u) for m, u in rows}
    points, cumulative = [], Decimal(0)
    annual = path.annual_target(year)
    for month in range(1, 13):
        cumulative += by_month.get(month, Decimal(0))
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
        points.append(SeriesPoint(f"{year}-{month:02d}", by_month.get(month, Decimal(0)), cumulative,
                                  path.expected_to_date(end), annual))
    return points


@dataclass(frozen=True)
class BaselineRow:
    """A county's baseline figure for an indicator."""

    county_code: str
    indicator: str
    year: int
    value: Decimal
    source: str


@dataclass(frozen=True)
class TargetRow:
    """The plan's target for an indicator: the baseline year's figure × factor by the target year."""

    indicator: str
    baseline_year: int
    target_year: int
    factor: Decimal
    source: str


@dataclass(frozen=True)
class Overview:
    """The recovery page's figures: baselines in the caller's counties, the targets, each indicator's progress."""

    baselines: list[BaselineRow]
    targets: list[TargetRow]
    progress: list[Progress]


def overview(uow: UnitOfWork, *, as_of: dt.date, counties: Iterable[str]) -> Overview:
    """Return baselines, targets and progress for a set of counties (no progress until targets are loaded)."""
    scope = list(counties)
    baselines = [BaselineRow(b.county_code, b.indicator, b.year, b.value, b.source) for b in uow.session.scalars(
        select(Baseline).where(Baseline.county_code.in_(scope)).order_by(Baseline.county_code, Baseline.indicator,
                                                                         Baseline.year))]
    loaded = [TargetRow(t.indicator, t.baseline_year, t.target_year, t.factor, t.source)
              for t in uow.session.scalars(select(Target).order_by(Target.indicator))]
    known = {t.indicator for t in loaded}
    figures = [progress(uow, indicator=i, as_of=as_of, counties=scope) for i in Indicator if i.value in known]
    return Overview(baselines, loaded, figures)


@dataclass(frozen=True)
class TenDayPoint:
    """One ten-day period (旬) of an indicator: its figure, the year's running total and the path's."""

    period: Period
    actual: Decimal
    cumulative: Decimal
    expected_cumulative: Decimal


def ten_day_series(uow: UnitOfWork, *, year: int, until: dt.date, counties: Iterable[str]
                   ) -> dict[Indicator, list[TenDayPoint]]:
    """Every indicator ten-day period by ten-day period from 1 January to `until`, against its straight-line
    path; one query on the day rollups for all three (indicators whose target is not loaded are left out)."""
    scope = list(counties)
    rows = uow.session.execute(
        select(VolumeRollup.day, VolumeRollup.category, func.sum(VolumeRollup.units))
        .where(VolumeRollup.day >= dt.date(year, 1, 1), VolumeRollup.day <= until,
               VolumeRollup.county_code.in_(scope))
        .group_by(VolumeRollup.day, VolumeRollup.category))
    by_dekad: dict[tuple[Period, str], Decimal] = {}
    for day, category, units in rows:
        key = (dekad_of(day), category)
        by_dekad[key] = by_dekad.get(key, Decimal(0)) + Decimal(units)
    dekads, day = [], dt.date(year, 1, 1)
    while day <= until:
        dekads.append(dekad_of(day))
        day = dekads[-1].end + dt.timedelta(days=1)
    out: dict[Indicator, list[TenDayPoint]] = {}
    for indicator in Indicator:
        try:
            path = path_for(uow, indicator=indicator, counties=scope)
        except NotFound:
            continue
        wanted = set(categories_of(INDICATOR_DOMAIN[indicator]))
        points, cumulative = [], Decimal(0)
        for period in dekads:
            figure = sum((n for (p, c), n in by_dekad.items() if p == period and c in wanted), Decimal(0))
            cumulative += figure
            points.append(TenDayPoint(period, figure, cumulative, path.expected_to_date(min(period.end, until))))
        out[indicator] = points
    return out
