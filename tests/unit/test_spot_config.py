"""The number of unanswered calls after which a spot-check call-back is "not reachable" is configuration."""

from __future__ import annotations

import pytest

from subsidy_app.config import ConfigError, load_settings


def test_a_call_back_is_tried_three_times_unless_configured() -> None:
    assert load_settings({}).spot_check_call_attempts == 3
    assert load_settings({"SPOT_CHECK_CALL_ATTEMPTS": "5"}).spot_check_call_attempts == 5


@pytest.mark.parametrize("raw", ["0", "-1", "two", "2.5"])
def test_a_call_attempt_count_that_is_not_a_whole_number_of_at_least_one_stops_the_start(raw: str) -> None:
    with pytest.raises(ConfigError, match="SPOT_CHECK_CALL_ATTEMPTS"):
        load_settings({"SPOT_CHECK_CALL_ATTEMPTS": raw})
