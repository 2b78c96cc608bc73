"""The bureau dashboard's panels: each a table of figures and the chart drawn from exactly that table.

Figures come from the tallies and rollups (one query per source), never from a scan of applications or intakes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recycling import closed_loop, targets
from recycling.domain import INDICATOR_LABELS, Indicator
from subsidy_app.appliances import signal_tally
from subsidy_app.appliances.domain import SIGNAL_LABELS_ZH
from subsidy_app.applications import review_times, tallies
from subsidy_app.core.errors import NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.dashboard.labels import category_label, complaint_category_label, programme_label, week_label
from subsidy_app.identity.domain import COUNTIES, Principal
from subsidy_app.oversight import complaint_queries
from subsidy_app.rules import pool_overview

Value = int | Decimal | str | None
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Chart:
    """How a panel's table is drawn: the column on the x axis and the columns drawn as series."""

    kind: str  # line | bar
    x: int
    series: tuple[int, ...]
    stack: bool = False
    lines: tuple[int, ...] = ()  # series drawn as lines over bars
    unit: str = ""  # the value axis's name, when the series share one unit


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: a title, its table (the figures), the chart of that table and a note."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: list[list[Value]]
    chart: Chart
    note: str = ""
    summary: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scope:
    """Which counties and days the dashboard shows."""

    counties: tuple[str, ...]
    date_from: dt.date
    date_to: dt.date
    all_counties: bool


def scope_for(principal: Principal, *, date_from: dt.date, date_to: dt.date, county: str | None) -> Scope:
    """The counties a principal may see (narrowed to one when asked), over a range of days."""
    allowed = tuple(c for c in COUNTIES if principal.covers_county(c))
    chosen = tuple(c for c in allowed if c == county) if county else allowed
    return Scope(chosen, date_from, date_to, principal.all_counties and not county)


def build(uow: UnitOfWork, scope: Scope) -> list[Panel]:
    """Every panel for a scope, in the order the page shows them."""
    return [trend(uow, scope), by_county(uow, scope), by_programme(uow, scope), pools(uow, scope),
            ten_days(uow, scope), *[recovery(uow, scope, indicator) for indicator in Indicator], closure(uow, scope),
            fraud_signals(uow, scope), complaints(uow, scope), review_time_panel(uow, scope)]


def panel_named(uow: UnitOfWork, scope: Scope, key: str) -> Panel:
    """One panel by its key (for its export); 404 for an unknown key."""
    builders: dict[str, Callable[[UnitOfWork, Scope], Panel]] = {
        "trend": trend, "counties": by_county, "programmes": by_programme, "pools": pools, "closure": closure,
        "fraud": fraud_signals, "ten_days": ten_days, "complaints": complaints, "review_times": review_time_panel,
        **{f"recovery_{i.value}": functools.partial(recovery, indicator=i) for i in Indicator}}
    if key not in builders:
        raise NotFound("没有这个图表 / no such panel", reason="dashboard.panel_not_found")
    return builders[key](uow, scope)


FIGURE_COLUMNS = ("提交(件)", "审核通过(件)", "已发放(件)", "审核通过金额(元)", "已发放金额(元)")


def _figures(uow: UnitOfWork, scope: Scope, grain: str) -> dict[tuple[Any, ...], list[Value]]:
    """Counts submitted, approved and paid, then the approved and paid amounts, per key of a grain (one query)."""
    none = tallies.Figure(0, ZERO)
    return {key: [by.get("submitted", none).count, by.get("approved", none).count, by.get("paid", none).count,
                  by.get("approved", none).amount, by.get("paid", none).amount]
            for key, by in tallies.totals_by(uow, grain, counties=scope.counties, date_from=scope.date_from,
                                             date_to=scope.date_to).items()}


def trend(uow: UnitOfWork, scope: Scope) -> Panel:
    """Applications submitted, approved and paid per day."""
    grouped = _figures(uow, scope, "day")
    rows: list[list[Value]] = [[key[0].isoformat(), *grouped[key]] for key in sorted(grouped)]
    return Panel("trend", "每日申请、审核通过与发放", ("日期", *FIGURE_COLUMNS), rows,
                 Chart("line", 0, (1, 2, 3)),
                 note=f"{scope.date_from} 至 {scope.date_to},按北京时间计日;没有申请的日子不列出")


def by_county(uow: UnitOfWork, scope: Scope) -> Panel:
    """Applications and amounts per county, with the total."""
    grouped = _figures(uow, scope, "county")
    rows: list[list[Value]] = [[COUNTIES[c], *grouped[(c,)]] for c in scope.counties if (c,) in grouped]
    if rows:
        rows.append(["合计", *_totals(list(grouped.values()))])
    return Panel("counties", "各县(市、区)审核通过与发放金额", ("县(市、区)", *FIGURE_COLUMNS), rows,
                 Chart("bar", 0, (4, 5)), note="图中不含合计行")


def _totals(rows: list[list[Value]]) -> list[Value]:
    """The column totals of figure rows: three counts, then two amounts."""
    counts: list[Value] = [sum(v for r in rows if isinstance(v := r[i], int)) for i in range(3)]
    amounts: list[Value] = [sum((v for r in rows if isinstance(v := r[i], Decimal)), ZERO) for i in (3, 4)]
    return counts + amounts


def by_programme(uow: UnitOfWork, scope: Scope) -> Panel:
    """Applications and amounts per programme and category."""
    grouped = _figures(uow, scope, "programme")
    rows: list[list[Value]] = [[f"{programme_label(p)} · {category_label(k)}", *grouped[(p, k)]]
                               for p, k in sorted(grouped)]
    return Panel("programmes", "按项目与品类", ("项目 · 品类", *FIGURE_COLUMNS), rows, Chart("bar", 0, (4, 5)))


def pools(uow: UnitOfWork, scope: Scope) -> Panel:
    """Each budget pool's spent, reserved and remaining money, its queue and warning."""
    rows: list[list[Value]] = []
    for p in pool_overview.standings(uow, counties=scope.counties):
        warning = f"已用 {p.warning_level}% 以上" if p.warning_level else ""
        rows.append([f"{COUNTIES.get(p.county_code, p.county_code)} · {programme_label(p.programme)}", p.name,
                     p.allocated, p.spent, p.reserved, p.remaining, p.queued_count, p.queued_amount,
                     p.used_percent.quantize(Decimal("0.1")), warning])
    return Panel("pools", "预算资金池", ("县 · 项目", "资金池", "下达(元)", "已支出(元)", "已预留(元)", "剩余(元)",
                                      "排队(笔)", "排队金额(元)", "使用率(%)", "预警"), rows,
                 Chart("bar", 0, (3, 4, 5), stack=True), note="已支出 + 已预留 + 剩余 = 下达")


TEN_DAY_LABELS = {Indicator.VEHICLES: "报废汽车(辆)", Indicator.USED_CARS: "二手车(辆)",
                  Indicator.APPLIANCES: "废旧家电(台)"}


def ten_days(uow: UnitOfWork, scope: Scope) -> Panel:
    """The three recovery indicators ten-day period by ten-day period this year: running totals against the path."""
    series = targets.ten_day_series(uow, year=scope.date_to.year, until=scope.date_to, counties=scope.counties)
    shown = [i for i in Indicator if i in series]
    columns = ("旬", *[f"{TEN_DAY_LABELS[i]}{part}" for i in shown for part in ("累计", "路径")])
    periods = [p.period for p in series[shown[0]]] if shown else []
    rows: list[list[Value]] = [[period.label_zh, *[v for i in shown for v in (
        series[i][n].cumulative, series[i][n].expected_cumulative.quantize(Decimal("1")))]]
        for n, period in enumerate(periods)]
    return Panel("ten_days", "回收量(旬):年内累计对照 2027 年目标的直线路径", columns, rows,
                 Chart("line", 0, tuple(range(1, len(columns)))),
                 note="" if shown else "尚未载入基数与目标")


def recovery(uow: UnitOfWork, scope: Scope, indicator: Indicator) -> Panel:
    """An indicator month by month this year against the straight-line path to its 2027 target."""
    title = f"{INDICATOR_LABELS[indicator]}:对照 2027 年目标"
    columns = ("月份", "当月", "累计", "直线路径累计", "年度目标")
    try:
        points = targets.monthly_series(uow, indicator=indicator, year=scope.date_to.year, counties=scope.counties)
        standing = targets.progress(uow, indicator=indicator, as_of=scope.date_to, counties=scope.counties)
    except NotFound:
        return Panel(f"recovery_{indicator.value}", title, columns, [], Chart("bar", 0, (1,), lines=(2, 3)),
                     note="尚未载入基数与目标")
    last = scope.date_to.strftime("%Y-%m")
    rows: list[list[Value]] = [[p.month, p.actual, p.cumulative, p.expected_cumulative.quantize(Decimal("1")),
                                p.annual_target] for p in points if p.month <= last]
    summary = [f"{standing.as_of} 年内累计 {standing.ytd},按直线路径应达 {standing.expected_ytd.quantize(Decimal('1'))}"
               + (f"(完成 {standing.progress_percent}%)" if standing.progress_percent is not None else ""),
               f"按当前速度预计 {standing.target_year} 年 {standing.forecast.quantize(Decimal('1'))},"
               f"目标 {standing.target.quantize(Decimal('1'))}:" + ("可完成" if standing.on_track else "需加快")]
    return Panel(f"recovery_{indicator.value}", title, columns, rows, Chart("bar", 0, (1,), lines=(2, 3)),
                 summary=summary)


CLOSURE_COLUMNS = ("县(市、区)", "应交旧(件)", "已交旧(件)", "按期交旧(件)", "未到期(件)", "逾期(件)", "交旧率(%)",
                   "按期率(%)")


def closure(uow: UnitOfWork, scope: Scope) -> Panel:
    """The closed loop: trade-ins whose old item reached a recycler, per county."""
    report = closed_loop.closure_report(uow, by="county", counties=frozenset(scope.counties),
                                        date_from=scope.date_from, date_to=scope.date_to)
    rows: list[list[Value]] = [[r.name, r.total, r.closed, r.closed_on_time, r.open, r.overdue, r.closure_rate,
                                r.on_time_rate] for r in report]
    return Panel("closure", "以旧换新闭环交旧率", CLOSURE_COLUMNS, rows, Chart("bar", 0, (6, 7)),
                 note="交旧率 = 已交旧 ÷(已交旧 + 逾期)")


def fraud_signals(uow: UnitOfWork, scope: Scope) -> Panel:
    """Subsidised appliance sales showing each fraud signal, sold within the days."""
    found = signal_tally.totals(uow, counties=scope.counties, date_from=scope.date_from, date_to=scope.date_to)
    rows: list[list[Value]] = [[SIGNAL_LABELS_ZH.get(code, "其他风险提示"), n]
                               for code, n in sorted(found.items(), key=lambda item: (-item[1], item[0]))]
    return Panel("fraud", "家电销售风险提示(按类型)", ("风险提示", "涉及销售(笔)"), rows, Chart("bar", 0, (1,)),
                 note="一笔销售可有多项提示;提示供审核参考,不是违规认定")


COMPLAINT_COLUMNS = ("区县 · 类别", "未办结(件)", "其中逾期(件)")


def complaints(uow: UnitOfWork, scope: Scope) -> Panel:
    """Complaints and appeals still owed an answer, and those past their deadline, per county and category (as they
    stand now: the date range does not apply)."""
    cells = complaint_queries.open_case_cells(uow, counties=list(scope.counties))
    ordered = sorted(cells, key=lambda c: (-c.overdue, -c.open, c.county_code, c.category))
    rows: list[list[Value]] = [
        [f"{COUNTIES.get(c.county_code, c.county_code)} · {complaint_category_label(c.category)}", c.open, c.overdue]
        for c in ordered]
    if rows:
        rows.append(["合计", sum(c.open for c in cells), sum(c.overdue for c in cells)])
    return Panel("complaints", "投诉与申诉(未办结与逾期)", COMPLAINT_COLUMNS, rows, Chart("bar", 0, (1, 2)),
                 note="按当前状态统计,不受日期范围影响;逾期 = 超过答复期限(工作日)仍未答复")


REVIEW_TIME_COLUMNS = ("周", "首个决定(件)", "中位数(小时)", "90分位(小时)")


def review_time_panel(uow: UnitOfWork, scope: Scope) -> Panel:
    """Median and 90th percentile review time per ISO week over the scope's counties (review_times says what is
    measured). Percentiles do not add up, so this is no tally: it reads a range per county of the index of
    the applications' first decisions, one grouped query on PostgreSQL (bench/review_times.py)."""
    found = review_times.review_times(uow, counties=scope.counties, date_from=scope.date_from,
                                      date_to=scope.date_to, per_county=False)
    rows: list[list[Value]] = [[week_label(r.week), r.reviewed, r.median_hours, r.p90_hours] for r in found]
    return Panel("review_times", "审核用时(中位数与90分位)", REVIEW_TIME_COLUMNS, rows,
                 Chart("line", 0, (2, 3), unit="小时"),
                 note="从申请首次进入待审核到首个审核决定(通过、驳回或退回补正),按决定所在周(北京时间)计")


def as_text(value: Value) -> str:
    """A figure as the table shows it: money with two places, never in exponent form."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def chart_data(panel: Panel) -> dict[str, Any]:
    """The chart's option data for the page's script: the same figures as the table, as numbers."""
    def number(value: Value) -> float | None:
        return float(value) if isinstance(value, (int, Decimal)) else None

    rows = [r for r in panel.rows if r and r[0] != "合计"]
    return {"kind": panel.chart.kind, "stack": panel.chart.stack, "unit": panel.chart.unit,
            "x": [as_text(r[panel.chart.x]) for r in rows],
            "series": [{"name": panel.columns[i], "values": [number(r[i]) for r in rows],
                        "line": i in panel.chart.lines} for i in (*panel.chart.series, *panel.chart.lines)]}

