"""The staff menu: every page a staff role works in, listed once, shown to the roles the page admits.

A page is added here with the endpoint that serves it and the roles its @access declares; the layout shows each
signed-in person only the entries their roles open (tests/api/test_menu.py holds the two in agreement).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from subsidy_app.identity.domain import Principal, Role

DEALER = frozenset({Role.DEALER_CLERK})
RECYCLER = frozenset({Role.RECYCLER_CLERK})
REVIEWERS = frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN})
FINANCE = frozenset({Role.FINANCE_OFFICER})
BUREAU = frozenset({Role.BUREAU_LEADER, Role.ADMIN, Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER})
ADMIN = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Entry:
    """One menu entry: its group, label, endpoint (with fixed arguments) and the roles that see it."""

    group: str
    label: str
    endpoint: str
    roles: frozenset[Role]
    args: tuple[tuple[str, str], ...] = ()
    key: str = ""  # the link's element id, for tests and for people who point at it


# Groups in the order the menu shows them.
GROUPS = ("经销商", "回收企业", "审核", "财务", "统计与监管", "系统管理")

MENU: list[Entry] = [
    Entry("经销商", "登记新车销售", "dealer_pages.sale_form", DEALER, key="link-new-sale"),
    Entry("经销商", "销售记录与申请进度", "dealer_pages.sale_list", DEALER, key="link-sales"),
    Entry("经销商", "家电收银台", "appliance_dealer_pages.till", DEALER, key="link-till"),
    Entry("经销商", "家电今日销售", "appliance_dealer_pages.sales", DEALER, key="link-appliance-sales"),
    Entry("经销商", "家电退货记录", "appliance_dealer_pages.returns", DEALER, key="link-appliance-returns"),
    Entry("经销商", "家电批量上传", "appliance_dealer_books.uploads", DEALER, key="link-appliance-uploads"),
    Entry("经销商", "家电结算单", "appliance_dealer_books.statements", DEALER, key="link-statements"),
    Entry("经销商", "家电门店与海报", "appliance_dealer_pages.stores", DEALER, key="link-stores"),
    Entry("回收企业", "登记回收记录", "recycling_views.intake_form", RECYCLER, key="link-intake"),
    Entry("回收企业", "开具报废机动车回收证明", "recycling_views.certificate_form", RECYCLER, key="link-certificate"),
    Entry("回收企业", "反向开票", "reverse_invoice_views.invoice_list", RECYCLER, key="link-invoices"),
    Entry("审核", "补贴申请审核(待初审)", "review_pages.queue",
          frozenset({Role.AUDITOR, Role.ADMIN}), (("state", "pending_review"),), key="link-review"),
    Entry("审核", "补贴申请复核(待复核)", "review_pages.queue",
          frozenset({Role.SENIOR_AUDITOR}), (("state", "pending_second_review"),), key="link-second-review"),
    Entry("财务", "补贴发放批次", "finance_pages.batches", FINANCE, key="link-batches"),
    Entry("统计与监管", "统计看板", "dashboard_pages.dashboard", BUREAU, key="link-dashboard"),
    Entry("系统管理", "短信发件箱", "messaging_views.outbox", ADMIN, key="link-sms"),
]


def menu_for(principal: Principal, url_for: Callable[..., str]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The groups of entries a principal's roles open, each entry as (label, url, element id)."""
    shown = []
    for group in GROUPS:
        entries = [(e.label, url_for(e.endpoint, **dict(e.args)), e.key) for e in MENU
                   if e.group == group and principal.roles & e.roles]
        if entries:
            shown.append((group, entries))
    return shown
