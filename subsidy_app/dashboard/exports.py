"""A panel's figures as CSV (UTF-8 with BOM, so Excel reads the Chinese) or as an XLSX workbook."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import Workbook

from subsidy_app.dashboard.panels import Panel, as_text

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def panel_csv(panel: Panel) -> bytes:
    """The panel's table as CSV, each figure written as the table shows it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(panel.columns)
    writer.writerows([as_text(v) if v is not None else "" for v in row] for row in panel.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def panel_xlsx(panel: Panel) -> bytes:
    """The panel's table as a one-sheet workbook: figures as numbers, money with two places."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = panel.title[:31]  # Excel's limit on sheet names
    sheet.append(list(panel.columns))
    for row in panel.rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
        for cell, value in zip(sheet[sheet.max_row], row, strict=True):
            if isinstance(value, Decimal):
                places = -int(value.as_tuple().exponent)
                cell.number_format = "0." + "0" * places if places > 0 else "0"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
