"""Identifier checks accept valid values, normalise them, and reject bad ones naming field and reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.identifiers import (
    PROVINCE_ABBREVIATIONS,
    CreditCodeCheck,
    PlateCheck,
    check_credit_code,
    check_plate,
    credit_code_check_char,
    normalise_resident_id,
    normalise_vin,
    resident_id_area,
    resident_id_birth_date,
    vin_check_digit,
)
from subsidy_app.core.identifiers_trade import (
    PROVINCE_CODES,
    InvoiceNumber,
    check_bank_card,
    check_invoice_number,
    gtin13_check_digit,
    luhn_ok,
    normalise_bank_card,
    normalise_gtin13,
    normalise_imei,
    normalise_phone,
)

TODAY = date(2024, 6, 1)
# Chinese input methods can type full-width digits and letters (U+FF10...).
FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789X"}


def assert_rejected(call: Callable[[], object], field: str, reason: str) -> ValidationFailed:
    """Call and assert it raises ValidationFailed for the field, with the reason and a bilingual message."""
    with pytest.raises(ValidationFailed) as caught:
        call()
    error = caught.value
    assert error.reason == reason
    assert list(error.errors) == [field]
    (message,) = error.errors[field]
    assert re.search("[\u4e00-\u9fff]", message), message
    assert re.search(r" / .*[A-Za-z]{3}", message), message
    assert error.message.startswith(f"{field}: ")
    return error


# --- Resident ID ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        (" 110105 19491231 002X\n", "11010519491231002X"),
        ("11010519491231002X".translate(FULL_WIDTH), "11010519491231002X"),
        ("141181200002290016", "141181200002290016"),  # 29 Feb of a leap year
        ("141102198506151233", "141102198506151233"),
    ],
)
def test_resident_id_accepts_and_normalises(raw: str, expected: str) -> None:
    assert normalise_resident_id(raw, today=TODAY) == expected


def test_resident_id_born_today_is_accepted() -> None:
    assert normalise_resident_id("440304202401010007", today=date(2024, 1, 1)) == "440304202401010007"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "identifier.resident_id.length"),
        ("1101051949123100", "identifier.resident_id.length"),
        ("11010519491231002XX", "identifier.resident_id.length"),
        ("A1010519491231002X", "identifier.resident_id.format"),
        ("11010519491231002Y", "identifier.resident_id.format"),
        ("1101051949123100X2", "identifier.resident_id.format"),
        ("110105194912310021", "identifier.resident_id.check_digit"),
        ("141181200102290016", "identifier.resident_id.birth_date"),  # 2001 is not a leap year
        ("110105194913010000", "identifier.resident_id.birth_date"),  # month 13
        ("110105194900000000", "identifier.resident_id.birth_date"),  # month 0
        ("110105189912310000", "identifier.resident_id.birth_date"),  # before 1900
        ("440304202406020000", "identifier.resident_id.birth_date"),  # the day after TODAY
    ],
)
def test_resident_id_rejects(raw: str, reason: str) -> None:
    assert_rejected(lambda: normalise_resident_id(raw, today=TODAY), "resident_id", reason)


def test_resident_id_rejects_non_text() -> None:
    assert_rejected(lambda: normalise_resident_id(None), "resident_id", "identifier.resident_id.format")  # type: ignore[arg-type]


def test_resident_id_error_names_the_callers_field() -> None:
    error = assert_rejected(
        lambda: normalise_resident_id("110105194912310021", field="applicant.id_number"),
        "applicant.id_number",
        "identifier.resident_id.check_digit",
    )
    assert "身份证号校验位错误" in error.message
    assert "check character is wrong" in error.message


def test_resident_id_birth_date_and_area() -> None:
    assert resident_id_birth_date("11010519491231002x") == date(1949, 12, 31)
    assert resident_id_area("11010519491231002X") == "110105"


def test_resident_id_birth_date_rejects_invalid_id() -> None:
    assert_rejected(
        lambda: resident_id_birth_date("110105194912310021"),
        "resident_id",
        "identifier.resident_id.check_digit",
    )


# --- Unified social credit code -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("91350100M000100Y43", "91350100M000100Y43"),
        ("91350100m000100y43", "91350100M000100Y43"),
        (" 9135 0100 M000 100Y 43 ", "91350100M000100Y43"),
        ("91110000100000000R", "91110000100000000R"),
    ],
)
def test_credit_code_accepts_and_normalises(raw: str, expected: str) -> None:
    assert check_credit_code(raw) == CreditCodeCheck(expected, True, None)


def test_credit_code_check_mismatch_warns_instead_of_raising() -> None:
    result = check_credit_code("91350100m000100y44")
    assert result.value == "91350100M000100Y44"
    assert result.check_ok is False
    assert result.warning is not None
    assert "校验位" in result.warning
    assert "check character" in result.warning


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "identifier.credit_code.length"),
        ("91350100M000100Y4", "identifier.credit_code.length"),
        ("91350100M000100Y433", "identifier.credit_code.length"),
        ("91350100M000100I43", "identifier.credit_code.format"),
        ("91350100M000100O43", "identifier.credit_code.format"),
        ("91350100M000100Z43", "identifier.credit_code.format"),
        ("91350100M000100S43", "identifier.credit_code.format"),
        ("91350100M000100V43", "identifier.credit_code.format"),
        ("91350100M000100-43", "identifier.credit_code.format"),
    ],
)
def test_credit_code_rejects_bad_shape(raw: str, reason: str) -> None:
    assert_rejected(
        lambda: check_credit_code(raw, field="recycler.credit_code"), "recycler.credit_code", reason
    )


@pytest.mark.parametrize(("first17", "expected"), [("91350100M000100Y4", "3"), ("91110000100000000", "R")])
def test_credit_code_check_char(first17: str, expected: str) -> None:
    assert credit_code_check_char(first17) == expected


@pytest.mark.parametrize("bad", ["9135010", "91350100M000100I4"])
def test_credit_code_check_char_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError, match="17 characters"):
        credit_code_check_char(bad)


# --- VIN ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("LTA1278U35X132040", "LTA1278U35X132040"),
        ("1M8GDM9AXKP042788", "1M8GDM9AXKP042788"),
        ("1m8gdm9axkp042788", "1M8GDM9AXKP042788"),
        (" LTA1278U3 5X132040 ", "LTA1278U35X132040"),
        ("LFV2A21KX57100003", "LFV2A21KX57100003"),  # remainder 10 is written X
    ],
)
def test_vin_accepts_and_normalises(raw: str, expected: str) -> None:
    assert normalise_vin(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "identifier.vin.length"),
        ("LTA1278U35X13204", "identifier.vin.length"),
        ("LTA1278U35X1320400", "identifier.vin.length"),
        ("LTA1278U35X1320I0", "identifier.vin.format"),
        ("LTA1278U35XO32040", "identifier.vin.format"),
        ("LTA1278U35XQ32040", "identifier.vin.format"),
        ("LTA1278U35X13204-", "identifier.vin.format"),
        ("LTA1278U45X132040", "identifier.vin.check_digit"),
        ("LFV2A21K057100003", "identifier.vin.check_digit"),
    ],
)
def test_vin_rejects(raw: str, reason: str) -> None:
    assert_rejected(lambda: normalise_vin(raw, field="new_car.vin"), "new_car.vin", reason)


@pytest.mark.parametrize(
    ("template", "expected"),
    [("LTA1278U?5X132040", "3"), ("1M8GDM9A0KP042788", "X"), ("lfv2a21k_57100003", "X")],
)
def test_vin_check_digit_ignores_position_nine(template: str, expected: str) -> None:
    assert vin_check_digit(template) == expected


@pytest.mark.parametrize("bad", ["LTA1278U35X13204", "LTA1278U?5X1320I0"])
def test_vin_check_digit_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError, match="17 characters"):
        vin_check_digit(bad)


# --- Plates ---------------------------------------------------------------------------------------
def test_province_abbreviations_are_the_31_mainland_provinces() -> None:
    assert len(PROVINCE_ABBREVIATIONS) == 31
    assert len(set(PROVINCE_ABBREVIATIONS)) == 31
    assert "晋" in PROVINCE_ABBREVIATIONS
    assert "港" not in PROVINCE_ABBREVIATIONS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("京A12345", PlateCheck("京A12345", False)),
        ("晋J·A1B2C", PlateCheck("晋JA1B2C", False)),
        ("晋jab123", PlateCheck("晋JAB123", False)),
        (" 晋 J 12345 ", PlateCheck("晋J12345", False)),
        ("京AD80234", PlateCheck("京AD80234", True)),  # small NEV, pure electric
        ("粤BF12345", PlateCheck("粤BF12345", True)),  # small NEV, hybrid
        ("鲁A·DF1234", PlateCheck("鲁ADF1234", True)),
        ("京A12345D", PlateCheck("京A12345D", True)),  # large NEV
        ("沪a12345f", PlateCheck("沪A12345F", True)),
    ],
)
def test_plate_accepts_and_normalises(raw: str, expected: PlateCheck) -> None:
    assert check_plate(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "identifier.plate.province"),
        ("A123456", "identifier.plate.province"),
        ("港A12345", "identifier.plate.province"),
        ("京I12345", "identifier.plate.format"),
        ("京A1234O", "identifier.plate.format"),
        ("京A1234", "identifier.plate.format"),
        ("京A123456", "identifier.plate.format"),
        ("京AZ80234", "identifier.plate.format"),
        ("京AD8023A", "identifier.plate.format"),
        ("京A12345Z", "identifier.plate.format"),
        ("京A1234567", "identifier.plate.format"),
        ("京1D80234", "identifier.plate.format"),
    ],
)
def test_plate_rejects(raw: str, reason: str) -> None:
    assert_rejected(lambda: check_plate(raw), "plate", reason)


# --- Invoice numbers ------------------------------------------------------------------------------
def test_province_codes_are_the_31_mainland_regions() -> None:
    assert len(PROVINCE_CODES) == 31
    assert {"11", "14", "65"} <= PROVINCE_CODES
    assert not {"10", "16", "71", "81"} & PROVINCE_CODES


@pytest.mark.parametrize(
    ("number", "code", "expected", "key"),
    [
        ("24112000000000123456", None, InvoiceNumber("24112000000000123456", None), "24112000000000123456"),
        ("2414 2000 0000 0000 0001", "", InvoiceNumber("24142000000000000001", None), "24142000000000000001"),
        ("12345678", "1400212130", InvoiceNumber("12345678", "1400212130"), "1400212130-12345678"),
        (" 12345678", "140021213001 ", InvoiceNumber("12345678", "140021213001"), "140021213001-12345678"),
    ],
)
def test_invoice_number_accepts_both_kinds(
    number: str, code: str | None, expected: InvoiceNumber, key: str
) -> None:
    result = check_invoice_number(number, code)
    assert result == expected
    assert result.key == key
    assert result.fully_digital is (expected.code is None)


@pytest.mark.parametrize(
    ("number", "code", "field", "reason"),
    [
        ("24992000000000123456", None, "invoice_number", "identifier.invoice.region"),
        ("24102000000000123456", None, "invoice_number", "identifier.invoice.region"),
        ("2411200000000012345", None, "invoice_number", "identifier.invoice.format"),
        ("241120000000001234567", None, "invoice_number", "identifier.invoice.format"),
        ("1234567A", "1400212130", "invoice_number", "identifier.invoice.format"),
        ("", None, "invoice_number", "identifier.invoice.format"),
        ("12345678", None, "invoice_code", "identifier.invoice.code_required"),
        ("12345678", "  ", "invoice_code", "identifier.invoice.code_required"),
        ("12345678", "123", "invoice_code", "identifier.invoice.format"),
        ("12345678", "14002121301", "invoice_code", "identifier.invoice.format"),
        ("24112000000000123456", "1400212130", "invoice_code", "identifier.invoice.format"),
    ],
)
def test_invoice_number_rejects(number: str, code: str | None, field: str, reason: str) -> None:
    assert_rejected(lambda: check_invoice_number(number, code), field, reason)


def test_invoice_errors_use_the_callers_field_names() -> None:
    assert_rejected(
        lambda: check_invoice_number("12345678", None, field="inv.no", code_field="inv.code"),
        "inv.code",
        "identifier.invoice.code_required",
    )


# --- Luhn, IMEI, bank cards -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("490154203237518", True),
        ("79927398713", True),
        ("79927398710", False),
        ("0", True),
        ("", False),
        ("4111 1111 1111 1111", False),
        ("12a4", False),
        ("٤١١١١١١١١١١١١١١١", False),  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_luhn_ok(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("490154203237518", "490154203237518"),
        ("35-145120-840121-6", "351451208401216"),
        (" 490154 203237518", "490154203237518"),
    ],
)
def test_imei_accepts_and_normalises(raw: str, expected: str) -> None:
    assert normalise_imei(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("49015420323751", "identifier.imei.length"),
        ("4901542032375180", "identifier.imei.length"),
        ("49015420323751A", "identifier.imei.format"),
        ("", "identifier.imei.format"),
        ("490154203237519", "identifier.imei.check_digit"),
    ],
)
def test_imei_rejects(raw: str, reason: str) -> None:
    assert_rejected(lambda: normalise_imei(raw), "imei", reason)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("6222021234567890128", "6222021234567890128"),
        ("6222 0212 3456 7890 128", "6222021234567890128"),
        ("622202123452", "622202123452"),
        ("4111-1111-1111-1111", "4111111111111111"),
    ],
)
def test_bank_card_accepts_and_normalises(raw: str, expected: str) -> None:
    assert normalise_bank_card(raw) == expected
    assert check_bank_card(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("62220212345", "identifier.bank_card.length"),
        ("62220212345678901284", "identifier.bank_card.length"),
        ("6222O21234567890128", "identifier.bank_card.format"),
        ("", "identifier.bank_card.format"),
        ("6222021234567890127", "identifier.bank_card.check_digit"),
    ],
)
def test_bank_card_rejects(raw: str, reason: str) -> None:
    assert_rejected(lambda: normalise_bank_card(raw, field="payee.card"), "payee.card", reason)


# --- GTIN-13 --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("first12", "expected"), [("400638133393", "1"), ("690123456789", "2"), ("000000000000", "0")]
)
def test_gtin13_check_digit(first12: str, expected: str) -> None:
    assert gtin13_check_digit(first12) == expected


@pytest.mark.parametrize("bad", ["40063813339", "4006381333931", "40063813339A"])
def test_gtin13_check_digit_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError, match="12 ASCII digits"):
        gtin13_check_digit(bad)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4006381333931", "4006381333931"),
        ("6901234567892", "6901234567892"),
        (" 690 1234 567892", "6901234567892"),
    ],
)
def test_gtin13_accepts_and_normalises(raw: str, expected: str) -> None:
    assert normalise_gtin13(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("400638133393", "identifier.gtin.length"),
        ("40063813339310", "identifier.gtin.length"),
        ("400638133393A", "identifier.gtin.format"),
        ("4006381333932", "identifier.gtin.check_digit"),
    ],
)
def test_gtin13_rejects(raw: str, reason: str) -> None:
    assert_rejected(lambda: normalise_gtin13(raw), "gtin", reason)


# --- Mobile phone ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-138-1234-5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("19912345678", "19912345678"),
    ],
)
def test_phone_accepts_and_normalises(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12812345678",
        "10012345678",
        "1381234567",
        "138123456789",
        "1381234567a",
        "+1 138 1234 5678",
        "03512345678",
    ],
)
def test_phone_rejects(raw: str) -> None:
    assert_rejected(
        lambda: normalise_phone(raw, field="applicant.phone"), "applicant.phone", "identifier.phone.format"
    )
