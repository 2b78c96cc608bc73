"""Render invoices and filings: JSON-ready dicts, XML (stdlib), PDF (reportlab, built-in CJK font), XLSX."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from reverse_invoice.documents import InvoiceDocument
from reverse_invoice.filing import FilingReport
from subsidy_app.core.numbers import number_str

CJK_FONT = "STSong-Light"  # an Adobe CID font every PDF reader has: no font file, no network


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def invoice_dict(doc: InvoiceDocument) -> dict[str, Any]:
    """Return the invoice as plain JSON values (money as strings, exact)."""
    result: dict[str, Any] = _plain(dataclasses.asdict(doc))
    return result


def invoice_xml(doc: InvoiceDocument) -> bytes:
    """Return the invoice as UTF-8 XML."""
    data = invoice_dict(doc)
    root = ET.Element("ReverseInvoice", {"number": doc.number, "colour": doc.colour})
    for key, value in data.items():
        if key == "lines":
            lines = ET.SubElement(root, "Lines")
            for line in value:
                node = ET.SubElement(lines, "Line")
                for field, text in line.items():
                    ET.SubElement(node, field).text = "" if text is None else str(text)
        else:
            ET.SubElement(root, key).text = "" if value is None else str(value)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _pct(rate: Decimal) -> str:
    return f"{number_str(rate * 100)}%"


def invoice_pdf(doc: InvoiceDocument) -> bytes:
    """Return a one-page A4 PDF of the invoice in Chinese."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    title = ParagraphStyle("t", fontName=CJK_FONT, fontSize=16, leading=22, alignment=1)
    body = ParagraphStyle("b", fontName=CJK_FONT, fontSize=9, leading=13)
    red = doc.colour == "red"
    heading = f"{doc.invoice_type_zh}(反向开票){'·红字' if red else ''}"
    story: list[Any] = [Paragraph(heading, title), Spacer(1, 4 * mm)]
    meta = [f"发票号码:{doc.number}", f"开票日期:{doc.issued_on:%Y年%m月%d日}",
            f"所属期:{doc.tax_month:%Y年%m月}"]
    if doc.original_number:
        meta.append(f"对应蓝字发票:{doc.original_number}(冲红原因 {doc.red_reason} {doc.red_reason_zh})")
    if doc.replaces_number:
        meta.append(f"更正原发票:{doc.replaces_number}")
    story += [Paragraph(" ".join(meta), body), Spacer(1, 3 * mm)]
    parties = [["购买方(回收企业)", doc.recycler_name, "统一社会信用代码", doc.recycler_credit_code],
               ["销售方(自然人)", doc.seller_name, "身份证件号码", doc.seller_id_number]]
    rows: list[list[Any]] = [["项目名称", "税收分类编码", "规格型号", "单位", "数量", "单价", "金额"]]
    for line in doc.lines:
        rows.append([line.product_name, line.tax_code, line.specification, line.unit,
                     "" if line.quantity is None else number_str(line.quantity),
                     "" if line.unit_price is None else number_str(line.unit_price), f"{line.amount}"])
    vat_label = "免税" if doc.vat_exempt else _pct(doc.vat_rate)
    rows += [["合计金额", "", "", "", "", "", f"{doc.amount}"],
             [f"增值税({vat_label})", "", "", "", "", "", f"{doc.vat}"],
             ["价税合计", "", "", "", "", "", f"{doc.total_incl_vat}"]]
    taxes = [["代办税费", "金额"], [f"城市维护建设税({_pct(doc.urban_rate)},减半)", f"{doc.urban_tax}"],
             ["教育费附加", f"{doc.education}"], ["地方教育附加", f"{doc.local_education}"],
             ["个人所得税(0.5%预缴)", f"{doc.income_tax}"], ["实付售卖人", f"{doc.net_payable}"]]
    style = TableStyle([("FONT", (0, 0), (-1, -1), CJK_FONT, 8), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                        ("TEXTCOLOR", (0, 0), (-1, -1), colors.red if red else colors.black),
                        ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    for table_rows, widths in ((parties, [32 * mm, 62 * mm, 30 * mm, 56 * mm]),
                               (rows, [40 * mm, 36 * mm, 22 * mm, 12 * mm, 22 * mm, 22 * mm, 26 * mm]),
                               (taxes, [90 * mm, 40 * mm])):
        table = Table(table_rows, colWidths=widths, hAlign="LEFT")
        table.setStyle(style)
        story += [table, Spacer(1, 3 * mm)]
    story.append(Paragraph(f"收款银行卡:{doc.seller_card} 开票人:{doc.issued_by}", body))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=f"反向开票 {doc.number}", leftMargin=15 * mm,
                      rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm).build(story)
    return buffer.getvalue()


def filing_dict(report: FilingReport) -> dict[str, Any]:
    """Return a filing (and its detail lines) as plain JSON values."""
    result: dict[str, Any] = _plain(dataclasses.asdict(report))
    return result


def filing_xlsx(report: FilingReport) -> bytes:
    """Return the filing as a workbook: the summary report and the per-seller detail report."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "代办税费申报表"
    summary.append([f"{report.recycler_name} {report.month:%Y年%m月} 代办税费申报表"])
    summary["A1"].font = Font(bold=True, size=13)
    for label, value in [("所属期", f"{report.month:%Y-%m}"), ("申报截止日", report.due_on.isoformat()),
                         ("状态", report.state), ("发票份数", report.invoice_count),
                         ("售卖人数", report.seller_count), ("销售额(不含税)", report.sales),
                         ("增值税", report.vat), ("城市维护建设税", report.urban_tax), ("教育费附加", report.education),
                         ("地方教育附加", report.local_education), ("个人所得税", report.income_tax),
                         ("应缴合计", report.total_tax)]:
        summary.append([label, value])
    detail = book.create_sheet("代办税费明细")
    detail.append(["售卖人编号", "姓名", "身份证件号码", "发票份数", "销售额(不含税)", "增值税", "城市维护建设税",
                   "教育费附加", "地方教育附加", "个人所得税"])
    for line in report.lines:
        detail.append([line.seller_id, line.name, line.id_number, line.invoice_count, line.sales, line.vat,
                       line.urban_tax, line.education, line.local_education, line.income_tax])
    for sheet in (summary, detail):
        for column in sheet.columns:
            for cell in column:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
