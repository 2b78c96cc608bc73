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
BUDGET_READERS = frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER, Role.ADMIN, Role.BUREAU_LEADER})


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
GROUPS = ("经销商", "回收企业", "审核", "财务", "统计与监管", "监管", "系统管理")

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
    Entry("回收企业", "回收网点与资质", "recycling_portal.site_list", RECYCLER, key="link-sites"),
    Entry("回收企业", "回收证明列表", "recycling_portal.certificate_list", RECYCLER, key="link-certificates"),
    Entry("回收企业", "回收记录", "recycling_portal.intake_list", RECYCLER, key="link-intakes"),
    Entry("回收企业", "导入回收记录文件", "recycling_portal.import_form", RECYCLER, key="link-intake-import"),
    Entry("回收企业", "网点间调运", "recycling_portal.transfer_list", RECYCLER, key="link-transfers"),
    Entry("回收企业", "网点库存", "recycling_portal.stock_page", RECYCLER, key="link-stock"),
    Entry("回收企业", "反向开票", "reverse_invoice_views.invoice_list", RECYCLER | REVIEWERS | FINANCE,
          key="link-invoices"),
    Entry("回收企业", "登记售卖人", "reverse_invoice_pages.seller_form", RECYCLER, key="link-ri-new-seller"),
    Entry("回收企业", "售卖人", "reverse_invoice_pages.seller_list", RECYCLER | REVIEWERS | FINANCE,
          key="link-ri-sellers"),
    Entry("回收企业", "收购记录", "reverse_invoice_pages.purchase_list", RECYCLER, key="link-ri-purchases"),
    Entry("回收企业", "代办税费月度申报", "reverse_invoice_filing_pages.filing_list", RECYCLER | REVIEWERS | FINANCE,
          key="link-ri-filings"),
    Entry("审核", "补贴申请审核(待初审)", "review_pages.queue",
          frozenset({Role.AUDITOR, Role.ADMIN}), (("state", "pending_review"),), key="link-review"),
    Entry("审核", "补贴申请复核(待复核)", "review_pages.queue",
          frozenset({Role.SENIOR_AUDITOR}), (("state", "pending_second_review"),), key="link-second-review"),
    Entry("审核", "分派给我的申请", "review_pages.queue", frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR}),
          (("state", "all"), ("assigned", "me")), key="link-assigned-to-me"),
    Entry("审核", "门店与经销商参与", "appliance_bureau_pages.participations", REVIEWERS, key="link-participations"),
    Entry("审核", "商品目录导入", "appliance_bureau_pages.catalogue_form", REVIEWERS, key="link-catalogue"),
    Entry("审核", "经销商结算单", "appliance_bureau_pages.statements", REVIEWERS, key="link-statements"),
    Entry("监管", "审核超期", "oversight_review_pages.overdue", REVIEWERS, key="link-review-deadlines"),
    Entry("财务", "补贴发放批次", "finance_pages.batches", FINANCE, key="link-batches"),
    Entry("财务", "资金池", "budget_pages.pools", BUDGET_READERS, key="link-pools"),
    Entry("统计与监管", "统计看板", "dashboard_pages.dashboard", BUREAU, key="link-dashboard"),
    Entry("系统管理", "短信发件箱", "messaging_views.outbox", ADMIN, key="link-sms"),
    Entry("统计与监管", "补贴规则版本", "rule_pages.version_list", BUREAU, key="link-rules"),
    Entry("统计与监管", "规则版本比较", "rule_pages.version_diff", BUREAU, key="link-rule-diff"),
    Entry("统计与监管", "回收目标与进度", "recovery_pages.overview", BUREAU, key="link-recovery"),
    Entry("统计与监管", "旬报与月报", "recovery_pages.report_list", BUREAU, key="link-reports"),
    Entry("监管", "抽查核验计划", "spot_pages.plans", REVIEWERS, key="link-spot-checks"),
    Entry("监管", "我的抽查任务", "spot_pages.my_tasks", frozenset({Role.AUDITOR}), key="link-spot-tasks"),
    Entry("监管", "投诉与申诉", "complaint_pages.case_list", REVIEWERS, key="link-cases"),
    Entry("监管", "登记电话投诉", "complaint_pages.phone_form", REVIEWERS, key="link-phone-complaint"),
    Entry("系统管理", "账号与角色", "account_pages.account_list", ADMIN, key="link-accounts"),
    Entry("系统管理", "新建账号", "account_pages.account_new", ADMIN, key="link-new-account"),
    Entry("系统管理", "审计日志", "audit_pages.trail", ADMIN, key="link-audit"),
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


def trail_for(principal: Principal, url_for: Callable[..., str], path: str) -> list[tuple[str, str]]:
    """The breadcrumbs of a page: 工作台, the menu group and the entry whose address the page's path starts with
    (the longest such), each as (label, url); empty when no entry of the principal's covers the page."""
    best: tuple[int, str, str, str] | None = None
    for group, entries in menu_for(principal, url_for):
        for label, url, _key in entries:
            base = url.split("?", 1)[0]
            if (path == base or path.startswith(base.rstrip("/") + "/")) and (best is None or len(base) > best[0]):
                best = (len(base), group, label, url)
    if best is None:
        return []
    _length, group, label, url = best
    return [("工作台", url_for("identity_views.workbench")), (group, ""), (label, url)]
