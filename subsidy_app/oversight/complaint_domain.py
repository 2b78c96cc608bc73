"""Complaints (投诉) and appeals (申诉): kinds, categories, the case's states and transitions, working-day deadlines."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from subsidy_app.core.working_days import WorkingCalendar as WorkingCalendar  # the calendar deadlines count in


class CaseKind(StrEnum):
    """A complaint about anything, or an appeal against a refusal (which may reopen the application)."""

    COMPLAINT = "complaint"
    APPEAL = "appeal"


KIND_LABELS_ZH = {CaseKind.COMPLAINT: "投诉", CaseKind.APPEAL: "申诉"}
NUMBER_PREFIX = {CaseKind.COMPLAINT: "TS", CaseKind.APPEAL: "SS"}


class Category(StrEnum):
    """What the resident complains about."""

    REFUSED_WRONGLY = "refused_wrongly"
    PAID_LATE = "paid_late"
    WRONG_AMOUNT = "wrong_amount"
    DEALER_MISCONDUCT = "dealer_misconduct"
    PRIVACY = "privacy"
    OTHER = "other"


CATEGORY_LABELS_ZH = {
    Category.REFUSED_WRONGLY: "错误不予通过", Category.PAID_LATE: "发放延迟", Category.WRONG_AMOUNT: "金额有误",
    Category.DEALER_MISCONDUCT: "经销商违规", Category.PRIVACY: "个人信息", Category.OTHER: "其他",
}


class Channel(StrEnum):
    """Where the case came in."""

    STATUS_PAGE = "status_page"
    PHONE = "phone"


CHANNEL_LABELS_ZH = {Channel.STATUS_PAGE: "状态页", Channel.PHONE: "电话"}


class CaseState(StrEnum):
    """Where a case stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


CASE_STATE_LABELS_ZH = {
    CaseState.OPEN: "已受理", CaseState.IN_PROGRESS: "处理中", CaseState.ANSWERED: "已答复",
    CaseState.CLOSED: "已办结", CaseState.WITHDRAWN: "已撤回",
}
LIVE_STATES = frozenset({CaseState.OPEN, CaseState.IN_PROGRESS})  # still owed an answer: can become overdue
SHUT_STATES = frozenset({CaseState.CLOSED, CaseState.WITHDRAWN})


class CaseAction(StrEnum):
    """What can happen to a case."""

    FILE = "file"
    ASSIGN = "assign"
    ANSWER = "answer"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    DECIDE = "decide"  # the appeal's second review decided: answered and closed with its outcome


ACTION_LABELS_ZH = {
    CaseAction.FILE: "受理", CaseAction.ASSIGN: "分派", CaseAction.ANSWER: "答复", CaseAction.CLOSE: "办结",
    CaseAction.WITHDRAW: "撤回", CaseAction.DECIDE: "复审结论",
}

# (from state, action) -> to state; ASSIGN keeps an in-progress case where it is.
TRANSITIONS: dict[tuple[CaseState, CaseAction], CaseState] = {
    (CaseState.OPEN, CaseAction.ASSIGN): CaseState.IN_PROGRESS,
    (CaseState.IN_PROGRESS, CaseAction.ASSIGN): CaseState.IN_PROGRESS,
    (CaseState.OPEN, CaseAction.ANSWER): CaseState.ANSWERED,
    (CaseState.IN_PROGRESS, CaseAction.ANSWER): CaseState.ANSWERED,
    (CaseState.ANSWERED, CaseAction.CLOSE): CaseState.CLOSED,
    (CaseState.OPEN, CaseAction.WITHDRAW): CaseState.WITHDRAWN,
    (CaseState.IN_PROGRESS, CaseAction.WITHDRAW): CaseState.WITHDRAWN,
    (CaseState.OPEN, CaseAction.DECIDE): CaseState.CLOSED,
    (CaseState.IN_PROGRESS, CaseAction.DECIDE): CaseState.CLOSED,
    (CaseState.ANSWERED, CaseAction.DECIDE): CaseState.CLOSED,
}


class Outcome(StrEnum):
    """How an appeal ended."""

    UPHELD = "upheld"  # the second review approved the application
    DISMISSED = "dismissed"  # the second review refused it again
    NOT_REOPENED = "not_reopened"  # what it named was taken by another live application meanwhile


OUTCOME_LABELS_ZH = {Outcome.UPHELD: "申诉成立,申请已通过复审", Outcome.DISMISSED: "申诉不成立,维持不予通过",
                     Outcome.NOT_REOPENED: "申请无法恢复复审"}
TEXT_MAX = 500  # the resident's text and a reply, in characters


class CaseRefused(Exception):
    """The action is not allowed from the case's state."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def plan(state: CaseState, action: CaseAction) -> CaseState:
    """Return the state an action leads to, or raise CaseRefused."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        raise CaseRefused(f"{CASE_STATE_LABELS_ZH[state]}的案件不能{ACTION_LABELS_ZH[action]} / "
                          f"cannot {action.value} a case that is {state.value}")
    return target


def appeal_open_until(refused_on: dt.date, window_days: int) -> dt.date:
    """The last Beijing date on which a refusal may be appealed."""
    return refused_on + dt.timedelta(days=window_days)
