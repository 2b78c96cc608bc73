"""Complaint deadlines in working days (weekends, holidays, make-up working days) and the case state table."""

from __future__ import annotations

import datetime as dt

import pytest

from subsidy_app.oversight.complaint_domain import (
    CaseAction,
    CaseRefused,
    CaseState,
    WorkingCalendar,
    appeal_open_until,
    plan,
)

FRIDAY = dt.date(2026, 3, 6)


def test_weekends_do_not_count() -> None:
    calendar = WorkingCalendar()
    assert calendar.add_working_days(FRIDAY, 1) == dt.date(2026, 3, 9)  # Monday
    assert calendar.add_working_days(FRIDAY, 15) == dt.date(2026, 3, 27)  # three whole weeks
    assert calendar.add_working_days(dt.date(2026, 3, 7), 1) == dt.date(2026, 3, 9)  # filed on a Saturday


def test_holidays_do_not_count_and_make_up_working_days_do() -> None:
    calendar = WorkingCalendar.of(holidays=[dt.date(2026, 3, 9), dt.date(2026, 3, 10)],
                                  workdays=[dt.date(2026, 3, 7)])
    assert not calendar.is_working(dt.date(2026, 3, 9)) and calendar.is_working(dt.date(2026, 3, 7))
    assert calendar.add_working_days(FRIDAY, 1) == dt.date(2026, 3, 7)  # the Saturday worked in lieu
    assert calendar.add_working_days(FRIDAY, 2) == dt.date(2026, 3, 11)  # Monday and Tuesday are holidays


def test_a_zero_day_deadline_is_the_filing_day() -> None:
    assert WorkingCalendar().add_working_days(FRIDAY, 0) == FRIDAY


def test_the_appeal_window_counts_calendar_days_from_the_refusal() -> None:
    assert appeal_open_until(dt.date(2026, 1, 31), 60) == dt.date(2026, 4, 1)


@pytest.mark.parametrize(("state", "action", "to"), [
    (CaseState.OPEN, CaseAction.ASSIGN, CaseState.IN_PROGRESS),
    (CaseState.IN_PROGRESS, CaseAction.ANSWER, CaseState.ANSWERED),
    (CaseState.ANSWERED, CaseAction.CLOSE, CaseState.CLOSED),
    (CaseState.OPEN, CaseAction.WITHDRAW, CaseState.WITHDRAWN),
    (CaseState.IN_PROGRESS, CaseAction.DECIDE, CaseState.CLOSED),
])
def test_the_case_table_allows(state: CaseState, action: CaseAction, to: CaseState) -> None:
    assert plan(state, action) is to


@pytest.mark.parametrize(("state", "action"), [
    (CaseState.OPEN, CaseAction.CLOSE), (CaseState.CLOSED, CaseAction.ANSWER),
    (CaseState.WITHDRAWN, CaseAction.ASSIGN), (CaseState.ANSWERED, CaseAction.WITHDRAW),
])
def test_the_case_table_refuses_in_chinese_and_english(state: CaseState, action: CaseAction) -> None:
    with pytest.raises(CaseRefused) as refused:
        plan(state, action)
    assert " / cannot " in refused.value.why
