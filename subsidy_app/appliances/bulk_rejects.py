"""A bulk sales file's rejected rows, as the dealer's page lists them and as a workbook to correct and upload again."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from subsidy_app.appliances import bulk
from subsidy_app.core.tables import read_table
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.uploads import unseal
from subsidy_app.identity.domain import Principal

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Each field by the column the dealer's file names it (the first of the names bulk.COLUMNS accepts).
FIELD_ZH = {**{name: names[0] for name, names in bulk.COLUMNS.items()}, "serial_number": "序列号/IMEI",
            **{name: names[0] for name, names in bulk.OPTIONAL.items()},
            "row": "整行", "buyer": "购买人", "file": "文件", "store": "门店"}


def rejected(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The report's refused rows in line order, each field named as the file's column."""
    errors = sorted((report or {}).get("errors", []), key=lambda e: (e.get("line", 0), e.get("field", "")))
    return [{**e, "column": FIELD_ZH.get(e.get("field", ""), e.get("field", ""))} for e in errors]


def _text(sheet: Any, values: list[Any]) -> None:
    """Append a row whose cells stay text: a cell of the dealer's file starting with '=' is no formula here."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def workbook(uow: UnitOfWork, *, principal: Principal, upload_id: int) -> bytes:
    """The rejected rows as a workbook: line, column and why, then the row as filed (while the file is kept)."""
    ref = bulk.upload_status(uow, principal=principal, upload_id=upload_id)
    content = bulk.upload_content(uow, upload_id=ref.upload_id)
    table = read_table(content[0], unseal(uow, content[1])) if content else None
    cells = dict(table.rows) if table else {}
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "未通过的行"
    _text(sheet, ["行号", "出错列", "原因", *(table.header if table else [])])
    for error in rejected(ref.report):
        _text(sheet, [error["line"], error["column"], error["message"], *cells.get(error["line"], [])])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
