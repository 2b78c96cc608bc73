"""Read registry files: CSV (UTF-8 with or without BOM, or GBK) and XLSX, as numbered rows of cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from subsidy_app.core.errors import ValidationFailed

Row = tuple[int, list[object]]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Offices on Windows export GB 2312/GBK; GB 18030 is its superset and decodes both.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValidationFailed.field("file", "无法识别文件编码（应为 UTF-8 或 GBK）/ file is neither UTF-8 nor GBK",
                                     reason="registry.encoding") from None


def _csv_rows(data: bytes) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    for cells in reader:
        yield reader.line_num, list(cells)


def _xlsx_rows(data: bytes) -> Iterator[Row]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged file
        raise ValidationFailed.field("file", "无法读取 Excel 文件 / cannot read the Excel file",
                                     reason="registry.xlsx") from None
    try:
        sheet = book.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        book.close()


def read_rows(filename: str, data: bytes) -> Iterator[Row]:
    """Yield (line number, cells) for every non-blank row, header included."""
    rows = _xlsx_rows(data) if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx") else _csv_rows(data)
    for number, cells in rows:
        if any(str(c).strip() for c in cells if c is not None):
            yield number, cells
