"""Read an uploaded CSV (UTF-8 or GBK) or XLSX file into rows of stripped strings."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from openpyxl import load_workbook

from subsidy_app.core.errors import ValidationFailed


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores long digit strings typed as numbers as floats
    return str(value).strip()


def iter_rows(filename: str, data: bytes) -> Iterator[list[str]]:
    """Yield the rows of a CSV or XLSX file, header first."""
    if filename.lower().endswith(".xlsx"):
        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception:  # openpyxl raises many kinds for a broken file
            raise ValidationFailed.field("file", "无法读取 XLSX 文件 / cannot read the XLSX file",
                                         reason="file.unreadable") from None
        assert sheet is not None
        for row in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in row]
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gbk")
        except UnicodeDecodeError:
            raise ValidationFailed.field("file", "文件编码应为 UTF-8 或 GBK / the file must be UTF-8 or GBK",
                                         reason="file.encoding") from None
    for row in csv.reader(io.StringIO(text)):
        yield [c.strip() for c in row]


def header_index(header: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Map each wanted column to its position, accepting English or Chinese names; 422 naming a missing one."""
    names = [h.strip().lower() for h in header]
    found: dict[str, int] = {}
    for column, aliases in columns.items():
        for alias in (column, *aliases):
            if alias.lower() in names:
                found[column] = names.index(alias.lower())
                break
    missing = [c for c in columns if c not in found]
    if missing:
        raise ValidationFailed.field("file", f"缺少列 {', '.join(missing)} / missing columns {', '.join(missing)}",
                                     reason="file.header")
    return found
