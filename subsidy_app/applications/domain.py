"""Application states and the one transition table every state change goes through (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """Where a subsidy application stands."""

    SUBMITTED = "submitted"
    CHECKING = "checking"
    PENDING_REVIEW = "pending_review"
    PENDING_SECOND_REVIEW = "pending_second_review"
    RETURNED = "returned"
    RESUBMITTED = "resubmitted"
    AWAITING_FUNDS = "awaiting_funds"
    APPROVED = "approved"
    IN_PAYMENT = "in_payment"
    PAID = "paid"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"


STATE_LABELS_ZH: dict[State, str] = {
    State.SUBMITTED: "已提交",
    State.CHECKING: "自动核验中",
    State.PENDING_REVIEW: "待审核",
    State.PENDING_SECOND_REVIEW: "待复核",
    State.RETURNED: "已退回待补正",
    State.RESUBMITTED: "已补正重新提交",
    State.AWAITING_FUNDS: "审核通过,等待资金",
    State.APPROVED: "审核通过,待发放",
    State.IN_PAYMENT: "发放中",
    State.PAID: "已发放",
    State.REJECTED: "未通过",
    State.WITHDRAWN: "已撤回",
    State.REVOKED: "已撤销",
}


class Action(StrEnum):
    """What can happen to an application."""

    START_CHECKS = "start_checks"
    CHECKS_DONE = "checks_done"
    RETURN = "return"
    RESUBMIT = "resubmit"
    APPROVE = "approve"  # first review
    APPROVE_SECOND = "approve_second"  # second review by a different senior auditor
    FUNDED = "funded"  # the budget queue reached it
    REJECT = "reject"
    WITHDRAW = "withdraw"
    ADD_TO_BATCH = "add_to_batch"
    PAYMENT_CONFIRMED = "payment_confirmed"
    PAYMENT_FAILED = "payment_failed"
    REVOKE = "revoke"
    REOPEN = "reopen"  # a resident's appeal (申诉) against a refusal: back to a second review by someone else


# What a resident may see of the reviewers' work, decided here once for every resident page: the reason of a
# decision they must act on or may contest (return, rejection, revocation, a bank's refusal, their own
# withdrawal). An approving reviewer's note is internal, and so is every fraud signal (it names a store's
# conduct, not anything the resident did or can correct).
REASONS_SHOWN_TO_RESIDENT = frozenset({Action.RETURN, Action.REJECT, Action.REVOKE, Action.PAYMENT_FAILED,
                                       Action.WITHDRAW})
STAFF_ONLY_CHECKS = ("fraud.",)
# Why a batch approval left an application out (review.batch_approve), as the reviewer's page says it.
BATCH_SKIP_LABELS_ZH = {"not_found": "申请不存在或不在您的管辖范围",
                        "not_pending_review": "已不在待审核状态(可能已被他人处理)",
                        "needs_second_review": "有未通过或人工确认的核验,须逐件审核并经复核"}


def resident_sees_reason(action: str) -> bool:
    """Whether the resident is shown the reason recorded with this action."""
    return action in REASONS_SHOWN_TO_RESIDENT


def resident_sees_check(code: str) -> bool:
    """Whether the resident is shown this check's result (fraud signals are for the bureau only)."""
    return not code.startswith(STAFF_ONLY_CHECKS)

# (from state, action) -> to state. Approval's final state (approved or awaiting funds) is decided by the budget,
# so APPROVE and APPROVE_SECOND list both targets and the service picks one.
TRANSITIONS: dict[tuple[State, Action], frozenset[State]] = {
    (State.SUBMITTED, Action.START_CHECKS): frozenset({State.CHECKING}),
    (State.RESUBMITTED, Action.START_CHECKS): frozenset({State.CHECKING}),
    (State.CHECKING, Action.CHECKS_DONE): frozenset({State.PENDING_REVIEW}),
    (State.PENDING_REVIEW, Action.RETURN): frozenset({State.RETURNED}),
    (State.PENDING_SECOND_REVIEW, Action.RETURN): frozenset({State.RETURNED}),
    (State.RETURNED, Action.RESUBMIT): frozenset({State.RESUBMITTED}),
    (State.PENDING_REVIEW, Action.APPROVE): frozenset(
        {State.PENDING_SECOND_REVIEW, State.APPROVED, State.AWAITING_FUNDS}),
    (State.PENDING_SECOND_REVIEW, Action.APPROVE_SECOND): frozenset({State.APPROVED, State.AWAITING_FUNDS}),
    (State.AWAITING_FUNDS, Action.FUNDED): frozenset({State.APPROVED}),
    (State.PENDING_REVIEW, Action.REJECT): frozenset({State.REJECTED}),
    (State.PENDING_SECOND_REVIEW, Action.REJECT): frozenset({State.REJECTED}),
    (State.AWAITING_FUNDS, Action.REJECT): frozenset({State.REJECTED}),
    (State.SUBMITTED, Action.WITHDRAW): frozenset({State.WITHDRAWN}),
    (State.PENDING_REVIEW, Action.WITHDRAW): frozenset({State.WITHDRAWN}),
    (State.PENDING_SECOND_REVIEW, Action.WITHDRAW): frozenset({State.WITHDRAWN}),
    (State.RETURNED, Action.WITHDRAW): frozenset({State.WITHDRAWN}),
    (State.AWAITING_FUNDS, Action.WITHDRAW): frozenset({State.WITHDRAWN}),
    (State.APPROVED, Action.ADD_TO_BATCH): frozenset({State.IN_PAYMENT}),
    (State.IN_PAYMENT, Action.PAYMENT_CONFIRMED): frozenset({State.PAID}),
    (State.IN_PAYMENT, Action.PAYMENT_FAILED): frozenset({State.APPROVED}),
    (State.APPROVED, Action.REVOKE): frozenset({State.REVOKED}),
    (State.IN_PAYMENT, Action.REVOKE): frozenset({State.REVOKED}),
    (State.PAID, Action.REVOKE): frozenset({State.REVOKED}),
    (State.REJECTED, Action.REOPEN): frozenset({State.PENDING_SECOND_REVIEW}),
}

# States in which an application holds its certificate, new VIN, quota and (once approved) budget.
ACTIVE_STATES = frozenset(State) - {State.REJECTED, State.WITHDRAWN, State.REVOKED}
FINAL_STATES = frozenset({State.PAID, State.REJECTED, State.WITHDRAWN, State.REVOKED})
NEEDS_REASON = frozenset({Action.RETURN, Action.REJECT, Action.REVOKE, Action.REOPEN})
# Decisions on a reopened (appealed) application: neither the reviewer who refused it nor its first reviewer.
APPEAL_DECISIONS = frozenset({Action.APPROVE_SECOND, Action.REJECT})


class TransitionRefused(Exception):
    """The action is not allowed from the current state (or lacks what it needs)."""

    def __init__(self, state: State, action: Action, why: str) -> None:
        super().__init__(why)
        self.state = state
        self.action = action
        self.why = why


@dataclass(frozen=True)
class Step:
    """A checked transition: where it goes from and to."""

    action: Action
    from_state: State
    to_state: State


def plan_transition(state: State, action: Action, *, target: State | None = None, reason: str | None = None,
                    first_reviewer: int | None = None, reviewer: int | None = None,
                    refused_by: int | None = None) -> Step:
    """Check an action against the table and the review rules; return the step or raise TransitionRefused."""
    targets = TRANSITIONS.get((state, action))
    if not targets:
        raise TransitionRefused(state, action, f"{STATE_LABELS_ZH[state]}状态下不能{ACTION_LABELS_ZH[action]} / "
                                               f"cannot {action.value} an application that is {state.value}")
    if action in NEEDS_REASON and not (reason and reason.strip()):
        raise TransitionRefused(state, action, "请填写原因 / a reason is required")
    if action is Action.APPROVE_SECOND and reviewer is not None and reviewer == first_reviewer:
        raise TransitionRefused(state, action, "复核须由另一名复核员完成 / the second review needs a different person")
    if (action in APPEAL_DECISIONS and refused_by is not None and reviewer is not None
            and reviewer in (refused_by, first_reviewer)):
        raise TransitionRefused(state, action, "申诉复审须由未参与原审核的复核员完成 / an appeal is decided by a "
                                               "reviewer who took no part in the refusal")
    if target is None:
        if len(targets) != 1:
            raise TransitionRefused(state, action, f"{action.value} needs an explicit target")
        (target,) = targets
    if target not in targets:
        raise TransitionRefused(state, action, f"{action.value} cannot lead to {target.value}")
    return Step(action, state, target)


ACTION_LABELS_ZH: dict[Action, str] = {
    Action.START_CHECKS: "开始核验",
    Action.CHECKS_DONE: "完成核验",
    Action.RETURN: "退回补正",
    Action.RESUBMIT: "重新提交",
    Action.APPROVE: "初审通过",
    Action.APPROVE_SECOND: "复核通过",
    Action.FUNDED: "资金到位",
    Action.REJECT: "不予通过",
    Action.WITHDRAW: "撤回",
    Action.ADD_TO_BATCH: "纳入发放批次",
    Action.PAYMENT_CONFIRMED: "确认到账",
    Action.PAYMENT_FAILED: "发放失败",
    Action.REVOKE: "撤销",
    Action.REOPEN: "申诉复审",
}


@dataclass(frozen=True)
class CheckResult:
    """One automatic check: a stable code, passed or not, and why in Chinese and English."""

    code: str
    passed: bool
    explanation_zh: str
    explanation_en: str


def needs_second_review(checks: list[CheckResult], overridden: bool) -> bool:
    """Any failed or overridden check means a second review by a different senior auditor."""
    return overridden or any(not c.passed for c in checks)
