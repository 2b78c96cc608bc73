"""The ten-day / monthly workbook: one sheet per domain, per-county rows, period and year to date, a chart."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from recycling import targets
from recycling.closed_loop import closure_report
from recycling.domain import (
    DOMAIN_LABELS,
    INDICATOR_DOMAIN,
    ZERO,
    Domain,
    Indicator,
    Period,
    Quantity,
    categories_of,
    percent,
)
from recycling.rollups import period_totals
from subsidy_app.core.errors import NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import COUNTIES

SHEET_NAMES = {Domain.VEHICLES: "报废机动车", Domain.APPLIANCES: "废旧家电", Domain.OFFICE: "办公设备",
               Domain.MATERIALS: "再生资源", Domain.USED_CARS: "二手车"}
CLOSED_LOOP_SHEET = "以旧换新闭环"
HEADER_ROW = 3  # rows 1–2 hold the title and the period; data starts on row 4
DOMAIN_HEADERS = ["区县代码", "区县", "本期数量", "本期重量(kg)", "年累计数量", "年累计重量(kg)", "年度目标",
                  "累计进度目标", "完成进度(%)"]
DOMAIN_INDICATOR = {d: i for i, d in INDICATOR_DOMAIN.items()}


def _sum(totals: dict[tuple[str, str], Quantity], county: str, categories: list[str]) -> Quantity:
    result = ZERO
    for category in categories:
        result = result + totals.get((county, category), ZERO)
    return result


def _title(sheet: Worksheet, text: str, period: Period, generated: dt.date) -> None:
    sheet["A1"] = text
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = (f"统计期间：{period.start:%Y-%m-%d} 至 {period.end:%Y-%m-%d}（{period.label_zh}）"
                   f"  生成日期：{generated}")


def _header(sheet: Worksheet, headers: list[str]) -> None:
    for column, label in enumerate(headers, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=column, value=label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        sheet.column_dimensions[cell.column_letter].width = 14


def _chart(sheet: Worksheet, title: str, column: int, rows: int) -> None:
    chart = BarChart()
    chart.title = title
    chart.y_axis.title = "数量"
    data = Reference(sheet, min_col=column, min_row=HEADER_ROW, max_row=HEADER_ROW + rows)
    names = Reference(sheet, min_col=2, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + rows)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(names)
    chart.height, chart.width = 9, 18
    sheet.add_chart(chart, f"K{HEADER_ROW}")


def _domain_sheet(uow: UnitOfWork, book: Workbook, domain: Domain, period: Period,
                  now: dict[tuple[str, str], Quantity], ytd: dict[tuple[str, str], Quantity], generated: dt.date
                  ) -> None:
    sheet = book.create_sheet(SHEET_NAMES[domain])
    _title(sheet, f"吕梁市{DOMAIN_LABELS[domain]}统计表（{period.label_zh}）", period, generated)
    _header(sheet, DOMAIN_HEADERS)
    categories = categories_of(domain)
    indicator = DOMAIN_INDICATOR.get(domain)
    row = HEADER_ROW
    totals = [ZERO, ZERO]
    for code, name in COUNTIES.items():
        row += 1
        period_q, ytd_q = _sum(now, code, categories), _sum(ytd, code, categories)
        totals = [totals[0] + period_q, totals[1] + ytd_q]
        values: list[object] = [code, name, period_q.units, period_q.weight_kg, ytd_q.units, ytd_q.weight_kg]
        values += _progress(uow, indicator, period.end, [code], Decimal(ytd_q.units))
        for column, value in enumerate(values, start=1):
            sheet.cell(row=row, column=column, value=value)
    row += 1
    values = ["141100", "全市合计", totals[0].units, totals[0].weight_kg, totals[1].units, totals[1].weight_kg]
    values += _progress(uow, indicator, period.end, list(COUNTIES), Decimal(totals[1].units))
    for column, value in enumerate(values, start=1):
        sheet.cell(row=row, column=column, value=value).font = Font(bold=True)
    _chart(sheet, f"各区县{DOMAIN_LABELS[domain]}本期数量", 3, len(COUNTIES))


def _progress(uow: UnitOfWork, indicator: Indicator | None, day: dt.date, counties: list[str], ytd: Decimal
              ) -> list[object]:
    if indicator is None:
        return ["—", "—", "—"]
    try:
        path = targets.path_for(uow, indicator=indicator, counties=counties)
    except NotFound:
        return ["未载入", "未载入", "—"]
    expected = path.expected_to_date(day)
    share = percent(ytd, expected)
    return [path.annual_target(day.year), expected, share if share is not None else "—"]


def _closed_loop_sheet(uow: UnitOfWork, book: Workbook, period: Period, generated: dt.date) -> None:
    sheet = book.create_sheet(CLOSED_LOOP_SHEET)
    _title(sheet, f"以旧换新旧件交投闭环统计表（{period.label_zh}）", period, generated)
    headers = ["区县代码", "区县", "应交投", "已交投", "按期交投", "未到期", "逾期未交", "闭环率(%)", "按期率(%)"]
    _header(sheet, headers)
    rows = {r.key: r for r in closure_report(uow, by="county", date_from=dt.date(period.year, 1, 1),
                                             date_to=period.end)}
    row = HEADER_ROW
    city = [0, 0, 0, 0, 0]  # total, closed, closed on time, open, overdue
    for code, name in COUNTIES.items():
        row += 1
        r = rows.get(code)
        counts = [r.total, r.closed, r.closed_on_time, r.open, r.overdue] if r else [0, 0, 0, 0, 0]
        city = [a + b for a, b in zip(city, counts, strict=True)]
        rates = _closure_rates(counts[1], counts[2], counts[4])
        for column, value in enumerate([code, name, *counts, *rates], start=1):
            sheet.cell(row=row, column=column, value=value)
    row += 1  # the city's row, as the other sheets have: its rates come from the summed counts, not averaged
    for column, value in enumerate(["141100", "全市合计", *city, *_closure_rates(city[1], city[2], city[4])],
                                   start=1):
        sheet.cell(row=row, column=column, value=value).font = Font(bold=True)
    _chart(sheet, "各区县逾期未交投数量", 7, len(COUNTIES))


def _closure_rates(closed: int, on_time: int, overdue: int) -> list[object]:
    """Closure and on-time rates over the obligations already due (closed or overdue), as closure_report has them."""
    due = Decimal(closed + overdue)
    rates = [percent(Decimal(closed), due), percent(Decimal(on_time), due)]
    return [rate if rate is not None else "—" for rate in rates]


def build_workbook(uow: UnitOfWork, *, period: Period, generated: dt.date) -> bytes:
    """Build the report workbook for a period from the rollups; return the XLSX bytes."""
    book = Workbook()
    book.remove(book.active)
    now = period_totals(uow, start=period.start, end=period.end)
    ytd = period_totals(uow, start=dt.date(period.year, 1, 1), end=period.end)
    for domain in (Domain.VEHICLES, Domain.APPLIANCES, Domain.OFFICE, Domain.MATERIALS, Domain.USED_CARS):
        _domain_sheet(uow, book, domain, period, now, ytd, generated)
    _closed_loop_sheet(uow, book, period, generated)
    book.properties.title = f"吕梁市以旧换新与回收{period.label_zh}报表"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
