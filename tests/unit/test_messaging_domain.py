"""One-time code policy and SMS text rules, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from subsidy_app.core.errors import Conflict, RateLimited, ValidationFailed
from subsidy_app.messaging.domain import (
    CodeVerdict,
    OtpPurpose,
    check_request_allowed,
    check_sms_text,
    judge_code,
    mask_secret,
    new_code,
    otp_text,
    verdict_error,
)

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def test_codes_are_six_digits_and_the_text_carries_them() -> None:
    codes = {new_code() for _ in range(50)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 40
    text = otp_text("012345", OtpPurpose.VERIFY_IDENTITY)
    assert "012345" in text and "5分钟" in text


def test_second_request_within_60_seconds_is_too_soon_and_the_eleventh_a_day_too_many() -> None:
    with pytest.raises(RateLimited) as soon:
        check_request_allowed(now=NOW, last_sent_at=NOW - dt.timedelta(seconds=59), sent_last_day=1)
    assert soon.value.reason == "otp.too_soon"
    check_request_allowed(now=NOW, last_sent_at=NOW - dt.timedelta(seconds=60), sent_last_day=9)
    with pytest.raises(RateLimited) as many:
        check_request_allowed(now=NOW, last_sent_at=NOW - dt.timedelta(hours=1), sent_last_day=10)
    assert many.value.reason == "otp.too_many"


@pytest.mark.parametrize(
    ("expires_in", "attempts", "matches", "verdict"),
    [
        (dt.timedelta(minutes=1), 0, True, CodeVerdict.OK),
        (dt.timedelta(minutes=1), 4, False, CodeVerdict.WRONG),
        (dt.timedelta(minutes=1), 5, True, CodeVerdict.LOCKED),
        (dt.timedelta(0), 0, True, CodeVerdict.EXPIRED),
        (None, 0, False, CodeVerdict.EXPIRED),
    ],
)
def test_judge_code(expires_in: dt.timedelta | None, attempts: int, matches: bool, verdict: CodeVerdict) -> None:
    expires_at = NOW + expires_in if expires_in is not None else None
    assert judge_code(now=NOW, expires_at=expires_at, attempts=attempts, matches=matches) is verdict


def test_verdict_errors_carry_stable_reasons() -> None:
    wrong = verdict_error(CodeVerdict.WRONG, 3)
    assert isinstance(wrong, ValidationFailed) and wrong.reason == "otp.wrong" and "code" in wrong.errors
    assert verdict_error(CodeVerdict.EXPIRED, 0).reason == "otp.expired"
    locked = verdict_error(CodeVerdict.LOCKED, 0)
    assert isinstance(locked, Conflict) and locked.reason == "otp.locked"


def test_sms_text_must_not_carry_id_or_card_numbers() -> None:
    assert check_sms_text("  您的申请已受理。 ") == "您的申请已受理。"
    for text in ("身份证 11010519491231002X 已核验", "款项已打入 6222021234567890123", ""):
        with pytest.raises(ValidationFailed):
            check_sms_text(text)


def test_a_code_is_masked_where_the_text_carries_it_and_a_text_without_it_is_refused() -> None:
    text = otp_text("048213", OtpPurpose.RESIDENT_LOGIN)
    assert mask_secret(text, "048213") == otp_text("******", OtpPurpose.RESIDENT_LOGIN)
    with pytest.raises(ValueError, match="secret"):
        mask_secret(text, "999999")
