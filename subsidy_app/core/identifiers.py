"""Check and normalise personal and vehicle identifiers: resident ID, credit code, VIN, plate."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import ValidationFailed

# Whitespace users paste in: ASCII, no-break and the full-width ideographic space (U+3000).
_SPACES = re.compile(r"[\s\u00a0\u3000]+")


def invalid(field: str, zh: str, en: str, reason: str) -> ValidationFailed:
    """Build a field error whose message carries Chinese and English text."""
    return ValidationFailed.field(field, f"{zh} / {en}", reason=reason)


def compact(value: object, *, field: str, kind: str) -> str:
    """Return the value NFKC-folded (full-width to ASCII) with all whitespace removed."""
    if not isinstance(value, str):
        raise invalid(field, "必须是文本", "must be a string", f"identifier.{kind}.format")
    return _SPACES.sub("", unicodedata.normalize("NFKC", value))


# --- Resident ID (GB 11643-1999 公民身份号码) ------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# GB 11643 only requires a real date; a floor stops typos such as 1049 for 1949 from passing.
_EARLIEST_BIRTH_YEAR = 1900


def normalise_resident_id(value: str, *, field: str = "resident_id", today: date | None = None) -> str:
    """Validate an 18-character resident ID and return it with an upper-case check character."""
    text = compact(value, field=field, kind="resident_id").upper()
    if len(text) != 18:
        raise invalid(
            field, "身份证号应为18位", "ID number must be 18 characters", "identifier.resident_id.length"
        )
    if not _ID_SHAPE.fullmatch(text):
        raise invalid(
            field,
            "身份证号前17位应为数字，末位为数字或X",
            "ID number must be 17 digits followed by a digit or X",
            "identifier.resident_id.format",
        )
    _birth_date(text, field=field, today=today)
    expected = _ID_CHECK[sum(int(c) * w for c, w in zip(text[:17], _ID_WEIGHTS, strict=True)) % 11]
    if text[17] != expected:
        raise invalid(
            field,
            "身份证号校验位错误",
            "ID number check character is wrong",
            "identifier.resident_id.check_digit",
        )
    return text


def _birth_date(text: str, *, field: str, today: date | None) -> date:
    born: date | None
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        born = None
    limit = today or business_date()
    if born is None or born.year < _EARLIEST_BIRTH_YEAR or born > limit:
        raise invalid(
            field,
            "身份证号中的出生日期无效",
            "ID number birth date is not valid",
            "identifier.resident_id.birth_date",
        )
    return born


def resident_id_birth_date(value: str, *, field: str = "resident_id", today: date | None = None) -> date:
    """Return the birth date encoded in a valid resident ID."""
    return _birth_date(normalise_resident_id(value, field=field, today=today), field=field, today=today)


def resident_id_area(value: str, *, field: str = "resident_id", today: date | None = None) -> str:
    """Return the 6-digit administrative area code (GB/T 2260) at issue of a valid resident ID."""
    return normalise_resident_id(value, field=field, today=today)[:6]


# --- Unified social credit code (GB 32100-2015 统一社会信用代码) ---------------------------------
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # I, O, Z, S, V excluded by the standard
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31


@dataclass(frozen=True, slots=True)
class CreditCodeCheck:
    """Outcome of checking a credit code: the value, whether the check character matched, a warning."""

    value: str
    check_ok: bool
    warning: str | None


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a credit code."""
    if len(first17) != 17 or any(c not in CREDIT_CODE_ALPHABET for c in first17):
        raise ValueError("need 17 characters from the credit-code alphabet")
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(value: str, *, field: str = "credit_code") -> CreditCodeCheck:
    """Validate a credit code's shape; report a check-character mismatch as a warning only."""
    text = compact(value, field=field, kind="credit_code").upper()
    if len(text) != 18:
        raise invalid(
            field,
            "统一社会信用代码应为18位",
            "credit code must be 18 characters",
            "identifier.credit_code.length",
        )
    if any(c not in CREDIT_CODE_ALPHABET for c in text):
        raise invalid(
            field,
            "统一社会信用代码含有无效字符（不含I、O、Z、S、V）",
            "credit code has invalid characters (I, O, Z, S, V are not used)",
            "identifier.credit_code.format",
        )
    if credit_code_check_char(text[:17]) == text[17]:
        return CreditCodeCheck(text, True, None)
    # Some codes issued early in the 2015 roll-out fail the check, yet are real: warn, never reject.
    warning = (
        "统一社会信用代码校验位不符，请人工核对 / credit code check character does not match; verify by hand"
    )
    return CreditCodeCheck(text, False, warning)


# --- VIN (ISO 3779 / GB 16735: the position-9 check digit is mandatory in China) ----------------
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    """Return the check digit for a 17-character VIN whose position 9 may hold any placeholder."""
    text = vin.upper()
    chars = text[:8] + text[9:]
    if len(text) != 17 or any(c not in _VIN_VALUES for c in chars):
        raise ValueError("need 17 characters, no I, O or Q, outside position 9")
    # Position 9 has weight 0, so its placeholder never affects the sum.
    total = sum(_VIN_VALUES.get(c, 0) * w for c, w in zip(text, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalise_vin(value: str, *, field: str = "vin") -> str:
    """Validate a 17-character VIN including its check digit and return it upper-cased."""
    text = compact(value, field=field, kind="vin").upper()
    if len(text) != 17:
        raise invalid(field, "车辆识别代号应为17位", "VIN must be 17 characters", "identifier.vin.length")
    if any(c not in _VIN_VALUES for c in text):
        raise invalid(
            field,
            "车辆识别代号只能含数字和字母（不含I、O、Q）",
            "VIN may only hold digits and letters other than I, O, Q",
            "identifier.vin.format",
        )
    if text[8] != vin_check_digit(text):
        raise invalid(
            field, "车辆识别代号校验位错误", "VIN check digit is wrong", "identifier.vin.check_digit"
        )
    return text


# --- Number plates (GA 36-2018) ------------------------------------------------------------------
PROVINCE_ABBREVIATIONS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_ALNUM = "[A-HJ-NP-Z0-9]"  # GA 36-2018 leaves out I and O: they read as 1 and 0
_NEV_KIND = "[DABCEFGHJK]"  # D pure electric, F non-pure-electric (hybrid, fuel cell), the rest reserved
_ORDINARY_PLATE = re.compile(f"[A-HJ-NP-Z]{_ALNUM}{{5}}")
_NEV_SMALL_PLATE = re.compile(f"[A-HJ-NP-Z]{_NEV_KIND}{_ALNUM}[0-9]{{4}}")
_NEV_LARGE_PLATE = re.compile(f"[A-HJ-NP-Z][0-9]{{5}}{_NEV_KIND}")
_PLATE_SEPARATORS = re.compile("[·•・.\\-]")


@dataclass(frozen=True, slots=True)
class PlateCheck:
    """A normalised plate number and whether it is a new-energy (green, 8-character) plate."""

    value: str
    is_nev: bool


def check_plate(value: str, *, field: str = "plate") -> PlateCheck:
    """Validate an ordinary 7-character or new-energy 8-character plate and return it normalised."""
    text = _PLATE_SEPARATORS.sub("", compact(value, field=field, kind="plate")).upper()
    if not text or text[0] not in PROVINCE_ABBREVIATIONS:
        raise invalid(
            field,
            "号牌应以省份简称开头",
            "plate must start with a province abbreviation",
            "identifier.plate.province",
        )
    rest = text[1:]
    if len(text) == 7 and _ORDINARY_PLATE.fullmatch(rest):
        return PlateCheck(text, False)
    if len(text) == 8 and (_NEV_SMALL_PLATE.fullmatch(rest) or _NEV_LARGE_PLATE.fullmatch(rest)):
        return PlateCheck(text, True)
    raise invalid(
        field,
        "号牌格式无效（普通号牌7位，新能源号牌8位）",
        "plate is not valid (7 characters, or 8 for new-energy plates)",
        "identifier.plate.format",
    )
