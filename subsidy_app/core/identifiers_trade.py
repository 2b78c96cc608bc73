"""Check and normalise trade identifiers: invoice numbers, IMEI, GTIN-13, bank cards, mobile phones."""

from __future__ import annotations

import re
from dataclasses import dataclass

from subsidy_app.core.identifiers import compact, invalid

# --- Invoice numbers -----------------------------------------------------------------------------
# Fully digital (数电) invoice: 2 year + 2 province tax-authority code + 1 channel + 15 sequence.
# Legacy VAT invoices: a 10- or 12-digit invoice code plus an 8-digit invoice number.
_DIGITAL_INVOICE = re.compile(r"[0-9]{20}")
_LEGACY_CODE = re.compile(r"[0-9]{10}|[0-9]{12}")
_LEGACY_NUMBER = re.compile(r"[0-9]{8}")
# Provincial-level region codes of GB/T 2260 (mainland only); year and channel are left unchecked.
PROVINCE_CODES = frozenset(
    f"{n:02d}"
    for lo, hi in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65))
    for n in range(lo, hi + 1)
)


@dataclass(frozen=True, slots=True)
class InvoiceNumber:
    """A normalised invoice identity: a 20-digit fully digital number, or a legacy code and number."""

    number: str
    code: str | None

    @property
    def fully_digital(self) -> bool:
        """Tell whether this is a fully digital (数电) invoice, which has no separate code."""
        return self.code is None

    @property
    def key(self) -> str:
        """Return one string unique per invoice, for the at-most-one-subsidy lookup."""
        return self.number if self.code is None else f"{self.code}-{self.number}"


def check_invoice_number(
    number: str,
    code: str | None = None,
    *,
    field: str = "invoice_number",
    code_field: str = "invoice_code",
) -> InvoiceNumber:
    """Validate a fully digital invoice number, or a legacy invoice code and number pair."""
    text = compact(number, field=field, kind="invoice")
    code_text = compact(code, field=code_field, kind="invoice") if code is not None else ""
    if _DIGITAL_INVOICE.fullmatch(text):
        if code_text:
            raise invalid(
                code_field,
                "数电发票没有发票代码",
                "a fully digital invoice has no invoice code",
                "identifier.invoice.format",
            )
        if text[2:4] not in PROVINCE_CODES:
            raise invalid(
                field,
                "数电发票号码中的省份代码无效",
                "invoice number holds an unknown province code",
                "identifier.invoice.region",
            )
        return InvoiceNumber(text, None)
    if not _LEGACY_NUMBER.fullmatch(text):
        raise invalid(
            field,
            "发票号码应为20位数电号码或8位号码",
            "invoice number must be 20 digits, or 8 digits with an invoice code",
            "identifier.invoice.format",
        )
    if not code_text:
        raise invalid(
            code_field,
            "8位发票号码须同时填写发票代码",
            "an 8-digit invoice number needs its invoice code",
            "identifier.invoice.code_required",
        )
    if not _LEGACY_CODE.fullmatch(code_text):
        raise invalid(
            code_field,
            "发票代码应为10位或12位数字",
            "invoice code must be 10 or 12 digits",
            "identifier.invoice.format",
        )
    return InvoiceNumber(text, code_text)


# --- Luhn (ISO/IEC 7812-1 annex B): IMEI and bank cards ------------------------------------------
def luhn_ok(digits: str) -> bool:
    """Tell whether a string of ASCII digits passes the Luhn mod-10 check."""
    if not digits or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits_only(text: str) -> bool:
    return text.isascii() and text.isdigit()


def normalise_imei(value: str, *, field: str = "imei") -> str:
    """Validate a 15-digit IMEI (3GPP TS 23.003, Luhn check digit) and return its digits."""
    text = compact(value, field=field, kind="imei").replace("-", "")
    if not _digits_only(text):
        raise invalid(field, "IMEI只能含数字", "IMEI may only hold digits", "identifier.imei.format")
    if len(text) != 15:
        raise invalid(field, "IMEI应为15位数字", "IMEI must be 15 digits", "identifier.imei.length")
    if not luhn_ok(text):
        raise invalid(field, "IMEI校验位错误", "IMEI check digit is wrong", "identifier.imei.check_digit")
    return text


def normalise_bank_card(value: str, *, field: str = "bank_card") -> str:
    """Validate a 12-19 digit bank card number (ISO/IEC 7812, Luhn) and return its digits."""
    text = compact(value, field=field, kind="bank_card").replace("-", "")
    if not _digits_only(text):
        raise invalid(
            field,
            "银行卡号只能含数字",
            "bank card number may only hold digits",
            "identifier.bank_card.format",
        )
    if not 12 <= len(text) <= 19:
        raise invalid(
            field,
            "银行卡号应为12至19位",
            "bank card number must be 12 to 19 digits",
            "identifier.bank_card.length",
        )
    if not luhn_ok(text):
        raise invalid(
            field,
            "银行卡号校验位错误",
            "bank card number check digit is wrong",
            "identifier.bank_card.check_digit",
        )
    return text


# The brief for this module names the bank-card check this way; both names are the same function.
check_bank_card = normalise_bank_card


# --- GTIN-13 (GS1 General Specifications §7.9, mod-10 check digit) -------------------------------
def gtin13_check_digit(first12: str) -> str:
    """Return the GS1 check digit for the first 12 digits of a GTIN-13."""
    if len(first12) != 12 or not _digits_only(first12):
        raise ValueError("need exactly 12 ASCII digits")
    # Weights 1, 3, 1, 3 … counted from the left for the 12 data digits of a GTIN-13.
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(first12))
    return str((10 - total % 10) % 10)


def normalise_gtin13(value: str, *, field: str = "gtin") -> str:
    """Validate a 13-digit GTIN (EAN-13) including its check digit and return its digits."""
    text = compact(value, field=field, kind="gtin")
    if not _digits_only(text):
        raise invalid(field, "商品条码只能含数字", "GTIN may only hold digits", "identifier.gtin.format")
    if len(text) != 13:
        raise invalid(field, "商品条码应为13位数字", "GTIN must be 13 digits", "identifier.gtin.length")
    if gtin13_check_digit(text[:12]) != text[12]:
        raise invalid(field, "商品条码校验位错误", "GTIN check digit is wrong", "identifier.gtin.check_digit")
    return text


# --- Mainland mobile numbers (MIIT numbering plan: 11 digits, 13x-19x) --------------------------
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalise_phone(value: str, *, field: str = "phone") -> str:
    """Validate a mainland mobile number, dropping separators and a +86 prefix, and return 11 digits."""
    text = compact(value, field=field, kind="phone").replace("-", "")
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        if len(text) == 13 and text.startswith("86"):
            text = text[2:]
    if not _MOBILE.fullmatch(text):
        raise invalid(
            field,
            "手机号应为以13至19开头的11位数字",
            "mobile number must be 11 digits starting 13 to 19",
            "identifier.phone.format",
        )
    return text
