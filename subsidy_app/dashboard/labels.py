"""Chinese names of programmes, categories and weeks as the dashboard shows them."""

from __future__ import annotations

import datetime as dt

from subsidy_app.appliances.domain import CATEGORY_ZH
from subsidy_app.appliances.settlement import CATEGORY as STATEMENT_CATEGORY
from subsidy_app.oversight.complaint_domain import CATEGORY_LABELS_ZH as COMPLAINT_CATEGORY_LABELS_ZH
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH

CATEGORY_LABELS_ZH = {**CATEGORY_ZH, "passenger_car": "乘用车", STATEMENT_CATEGORY: "经销商结算单"}


def programme_label(programme: str) -> str:
    """The programme's Chinese name (its code when it has none)."""
    return PROGRAMME_LABELS_ZH.get(programme, programme)


def category_label(category: str) -> str:
    """The category's Chinese name (its code when it has none)."""
    return CATEGORY_LABELS_ZH.get(category, category)


def complaint_category_label(category: str) -> str:
    """A complaint category's Chinese name (its code when it has none)."""
    return {c.value: label for c, label in COMPLAINT_CATEGORY_LABELS_ZH.items()}.get(category, category)


def week_label(monday: dt.date) -> str:
    """An ISO week as the review-time panel names it: its ISO number and the Monday it starts on."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}({monday:%m-%d}起)"
