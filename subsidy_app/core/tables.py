"""The one reader of uploaded tables: CSV (UTF-8 with or without BOM, or GBK) or XLSX, into rows of text.

Every mistake in the file as a whole (not text, not the workbook it claims to be, empty, no header, missing columns,
too many rows) is a ValidationFailed naming `file`, raised before anything is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from subsidy_app.core.errors import ValidationFailed

# The bound of every table (a busy day's sales file is 100,000 rows); a table may declare a lower one. Bytes are
# bounded before this, by the route's body limit (413 body.too_large).
MAX_ROWS = 200_000
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class RowError:
    """One refused row of an uploaded file: its line (the header's is 1, as Excel numbers rows), field and why."""

    line: int
    field: str
    reason: str
    message: str


@dataclass(frozen=True)
class Table:
    """A file's header and its non-blank rows, each with its line number; every cell is stripped text."""

    header: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def refuse(reason: str, zh: str, en: str) -> ValidationFailed:
    """Build the 422 naming `file`, the reason in Chinese and English."""
    return ValidationFailed.field("file", f"{zh} / {en}", reason=reason)


def cell_text(value: object) -> str:
    """Return a cell as text: dates as YYYY-MM-DD, whole floats without `.0`, None as empty."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores long digit strings typed as numbers as floats
    return str(value).strip()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Offices on Windows save CSV as GBK; GB 18030 is its superset and decodes GB 2312 and GBK alike.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise refuse("file.encoding", "无法识别文件编码(应为 UTF-8 或 GBK)",
                     "the file is not text in UTF-8 or GBK") from None


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    if "\x00" in text:  # a binary file that happens to decode: csv would fail on it later, mid-file
        raise refuse("file.encoding", "文件不是文本(含 NUL 字节)", "the file is not text (it holds NUL bytes)")
    try:
        for cells in csv.reader(io.StringIO(text, newline="")):
            yield [c.strip() for c in cells]
    except csv.Error:
        raise refuse("file.unreadable", "无法读取 CSV 文件", "cannot read the CSV file") from None


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    unreadable = refuse("file.unreadable", "不是可读取的 XLSX 工作簿", "the file is not a readable XLSX workbook")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (zipfile, KeyError, XML errors) for a file that is not a workbook
        raise unreadable from None
    try:
        if not book.worksheets:
            return
        # Read-only mode parses the sheet lazily: a damaged sheet fails here, while reading, not when opened.
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield [cell_text(v) for v in row]
    except Exception:
        raise unreadable from None
    finally:
        book.close()


def is_workbook(filename: str, data: bytes) -> bool:
    """Tell whether a file is read as a workbook: by its name, or by its bytes for a name that says nothing."""
    name = filename.lower()
    return name.endswith(WORKBOOK_SUFFIXES) or (not name.endswith((".csv", ".txt")) and data[:4] == ZIP_MAGIC)


def read_table(filename: str, data: bytes, *, max_rows: int | None = None) -> Table:
    """Read a CSV or XLSX file: the first non-blank row is the header; refuse a file that cannot be a table."""
    limit = MAX_ROWS if max_rows is None else max_rows
    if filename.lower().endswith(".xls"):
        raise refuse("file.type", "不支持旧版 .xls 文件,请另存为 .xlsx 或 .csv",
                     "old .xls files are not read; save as .xlsx or .csv")
    if not data.strip():
        raise refuse("file.empty", "文件为空", "the file is empty")
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    for line, cells in enumerate(_xlsx_rows(data) if is_workbook(filename, data) else _csv_rows(data), start=1):
        if not any(cells):
            continue
        if header is None:
            header, header_line = cells, line
            continue
        if len(rows) == limit:
            raise refuse("file.too_many_rows", f"最多 {limit} 行数据", f"at most {limit} data rows")
        rows.append((line, cells))
    if header is None:
        raise refuse("file.empty", "文件为空(没有表头行)", "the file is empty (no header row)")
    return Table(header, header_line, rows)


def _label(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().lstrip("\ufeff").lower()


def header_index(header: list[str], columns: Mapping[str, Iterable[str]],
                 optional: Mapping[str, Iterable[str]] | None = None) -> dict[str, int]:
    """Map each column to its position by its name or an alias (English or Chinese); refuse naming the missing."""
    labels = [_label(h) for h in header]
    found: dict[str, int] = {}
    for column, aliases in (*columns.items(), *(optional or {}).items()):
        for alias in (column, *aliases):
            if _label(alias) in labels:
                found[column] = labels.index(_label(alias))
                break
    missing = [c for c in columns if c not in found]
    if missing:
        names = ", ".join(missing)
        if not any(c in found for c in columns):
            raise refuse("file.header", f"第一行不是表头,应含列 {names}",
                         f"the first row is not the header; it must name the columns {names}")
        raise refuse("file.header", f"缺少列 {names}", f"missing columns {names}")
    return found


def named(cells: list[str], at: Mapping[str, int]) -> dict[str, str]:
    """Return a row's cells by column name; a short row's missing cells are empty."""
    return {name: cells[i] if i < len(cells) else "" for name, i in at.items()}
