"""An appeal reopens a refusal (REJECTED → PENDING_SECOND_REVIEW); its decision refuses the refuser and the first
reviewer, through the one transition table."""

from __future__ import annotations

import pytest

from subsidy_app.applications.domain import Action, State, TransitionRefused, plan_transition


def test_an_appeal_reopens_a_refusal_for_a_second_review_with_a_reason() -> None:
    step = plan_transition(State.REJECTED, Action.REOPEN, reason="申诉 SS2026000001")
    assert step.to_state is State.PENDING_SECOND_REVIEW
    with pytest.raises(TransitionRefused):
        plan_transition(State.REJECTED, Action.REOPEN, reason=" ")
    with pytest.raises(TransitionRefused):
        plan_transition(State.APPROVED, Action.REOPEN, reason="申诉")


@pytest.mark.parametrize("action", [Action.APPROVE_SECOND, Action.REJECT])
@pytest.mark.parametrize("reviewer", [7, 8])  # 7 refused it, 8 first reviewed it
def test_neither_the_refuser_nor_the_first_reviewer_decides_a_reopened_application(action: Action,
                                                                                   reviewer: int) -> None:
    with pytest.raises(TransitionRefused) as refused:
        plan_transition(State.PENDING_SECOND_REVIEW, action, target=None if action is Action.REJECT else
                        State.APPROVED, reason="复审", first_reviewer=8, reviewer=reviewer, refused_by=7)
    assert "未参与原审核" in refused.value.why or "另一名复核员" in refused.value.why


def test_another_senior_auditor_decides_it() -> None:
    step = plan_transition(State.PENDING_SECOND_REVIEW, Action.APPROVE_SECOND, target=State.APPROVED,
                           first_reviewer=8, reviewer=9, refused_by=7)
    assert step.to_state is State.APPROVED
