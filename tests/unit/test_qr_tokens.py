"""Signed tokens: expiring ones always carry an age limit; lasting (printed) ones never read as expiring ones."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.qr import read_printed, read_token, sign_printed, sign_token

KEY = "k" * 40


def _reason(call) -> str:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return str(caught.value.reason)


def test_a_printed_code_reads_back_and_never_as_an_expiring_token_of_any_purpose() -> None:
    code = sign_printed(KEY, "poster", {"c": "abc"})
    assert read_printed(KEY, "poster", code) == {"c": "abc"}
    for purpose in ("poster", "sale"):
        assert _reason(lambda p=purpose: read_token(KEY, p, code)) == "qr.invalid"
    assert _reason(lambda: read_printed(KEY, "another", code)) == "qr.invalid"


def test_an_expiring_token_is_read_as_printed_only_where_its_purpose_was_printed_before() -> None:
    old = sign_token(KEY, "poster", {"c": "abc"}, max_age_days=30)
    assert _reason(lambda: read_printed(KEY, "poster", old)) == "qr.invalid"
    assert read_printed(KEY, "poster", old, formerly_expiring=True) == {"c": "abc"}


def test_an_expiring_token_without_an_age_limit_is_refused() -> None:
    # Signed with the key but no `_d`: it must not be read as lasting.
    bare = URLSafeTimedSerializer(KEY, salt="lvliang.qr.sale").dumps({"c": "abc"})
    assert _reason(lambda: read_token(KEY, "sale", bare)) == "qr.invalid"
    assert read_token(KEY, "sale", bare, max_age_seconds=60) == {"c": "abc"}  # the caller's own limit applies
    with pytest.raises(ValueError):
        sign_token(KEY, "sale", {"c": "abc"}, max_age_days=0)
