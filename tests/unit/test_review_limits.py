"""A rule version's review time limit: read and validated from the file, counted in days or working days."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from subsidy_app.applications.queue_queries import DEFAULT_REVIEW_LIMIT, Deadlines
from subsidy_app.rules.domain import ReviewLimit
from subsidy_app.rules.ruleset import RuleFileInvalid, load_rules_dir, parse_rule_mapping
from tests.unit.test_rules_files import raw, variant


def test_every_shipped_version_states_its_review_limit_as_unconfirmed_data() -> None:
    for version in load_rules_dir():
        assert version.review is not None, version.code
        assert (version.review.days, version.review.working_days) == (15, False)
        assert version.review.meta.unconfirmed and version.review.meta.source
        assert "review" in version.unconfirmed_fields
        assert version.to_dict()["review"]["days"] == 15


def test_the_review_limit_is_part_of_the_content_hash_but_absent_keeps_the_old_hash() -> None:
    fifteen = variant("car_scrap-2025")
    twenty = variant("car_scrap-2025", review={"days": 20, "source": "本市通知"})
    assert twenty.review == ReviewLimit(20, False, twenty.review.meta) and fifteen.content_hash != twenty.content_hash
    data = raw("car_scrap-2025")
    del data["review"]
    data["unconfirmed_fields"] = []
    silent = parse_rule_mapping(data, name="silent.yaml")
    assert silent.review is None and "review" not in silent.to_dict()


@pytest.mark.parametrize(("review", "field", "problem"), [
    ({"days": 0, "source": "x"}, "review.days", "≥ 1"),
    ({"days": "15", "source": "x"}, "review.days", "integer"),
    ({"days": 400, "source": "x"}, "review.days", "at most 366"),
    ({"days": 15, "working_days": "yes", "source": "x"}, "review.working_days", "true or false"),
    ({"days": 15}, "review.source", "is required"),
    ({"days": 15, "hours": 2, "source": "x"}, "review.hours", "unknown field"),
    ({"source": "x"}, "review.days", "is required"),
    ("15", "review", "mapping"),
])
def test_a_bad_review_limit_is_refused_naming_the_field(review: Any, field: str, problem: str) -> None:
    with pytest.raises(RuleFileInvalid) as caught:
        variant("appliance-2026", review=review)
    assert caught.value.field_path == field and problem in caught.value.problem
    assert field in str(caught.value)


def test_working_day_limits_count_on_the_configured_calendar_as_complaint_deadlines_do() -> None:
    from subsidy_app.config import load_settings
    from subsidy_app.core.working_days import WorkingCalendar

    settings = load_settings({"PUBLIC_HOLIDAYS": "2026-12-04", "MAKEUP_WORKDAYS": "2026-12-05"})
    calendar = WorkingCalendar.of(settings.public_holidays, settings.makeup_workdays)
    monday, working = date(2026, 12, 7), ReviewLimit(2, working_days=True)
    # Thursday's application: Friday is a holiday, Saturday a make-up working day, then Monday.
    assert working.age(date(2026, 12, 3), monday, calendar) == 2
    assert working.age(date(2026, 12, 3), monday) == 2  # Friday and Monday on the plain Monday-Friday calendar
    assert working.age(date(2026, 12, 4), monday, WorkingCalendar.of(holidays=[date(2026, 12, 7)])) == 0
    deadlines = Deadlines(by_version={"v": working}, calendar=calendar)
    assert deadlines.limit_for("appliance", "v").age(date(2026, 12, 2), monday, deadlines.calendar) == 3


def test_working_days_skip_weekends_and_calendar_days_do_not() -> None:
    monday = date(2026, 12, 7)
    working, calendar = ReviewLimit(2, working_days=True), ReviewLimit(2)
    assert working.age(date(2026, 12, 3), monday) == 2  # Thursday: Friday and Monday
    assert working.age(date(2026, 12, 2), monday) == 3
    assert working.late_before(monday) == date(2026, 12, 3)  # submitted Wednesday or earlier: late
    assert calendar.age(date(2026, 12, 3), monday) == 4 and calendar.late_before(monday) == date(2026, 12, 5)
    assert (working.label_zh(), calendar.label_zh()) == ("2 个工作日", "2 天")


def test_operator_overrides_win_over_the_rule_version_which_wins_over_the_default() -> None:
    stated = {"car_scrap-2025": ReviewLimit(20), "appliance-2026": ReviewLimit(5, working_days=True)}
    rule_data = Deadlines(by_version=stated)
    assert rule_data.limit_for("car_scrap", "car_scrap-2025") == ReviewLimit(20)
    assert rule_data.limit_for("appliance", "appliance-2026") == ReviewLimit(5, working_days=True)
    assert rule_data.limit_for("appliance", None) == DEFAULT_REVIEW_LIMIT == ReviewLimit(15)
    every = Deadlines(default_days=30, by_version=stated)
    assert every.limit_for("car_scrap", "car_scrap-2025") == ReviewLimit(30)
    per_programme = Deadlines(default_days=30, by_programme={"car_scrap": 2}, by_version=stated)
    assert per_programme.limit_for("car_scrap", "car_scrap-2025") == ReviewLimit(2)
    assert per_programme.limit_for("appliance", "appliance-2026") == ReviewLimit(30)
