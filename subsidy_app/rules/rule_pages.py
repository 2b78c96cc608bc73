"""Bureau pages for rule versions: the list, one version's clauses with their sources and flags, two versions' diff."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from subsidy_app.access import access
from subsidy_app.core.errors import DomainError, FieldErrors
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import uow
from subsidy_app.identity.domain import Role
from subsidy_app.rules import services
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH

bp = Blueprint("rule_pages", __name__, template_folder="templates")
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER, Role.ADMIN, Role.BUREAU_LEADER)
PAGE_SIZE = 50
LABELS = {"from_": "原版本", "to": "新版本"}
CLAUSE_LABELS = {
    "applicant.individual": "申请人须为个人", "applicant.same_person": "旧车与新车须为同一人",
    "old_vehicle.first_registration": "旧车初次登记日期上限", "old_vehicle.owner_since": "旧车登记在申请人名下的截止日",
    "old_vehicle.nev_requires_new_nev": "报废新能源车只能换购新能源车", "new_vehicle.type": "新车类型",
    "new_vehicle.displacement": "燃油车排量上限", "new_vehicle.nev_catalogue": "新能源车须在免征购置税目录内",
    "energy_grade.allowed": "允许的能效等级", "price.unit_ceiling": "单件价格上限",
}
# The top-level parts of a version, for the diff's "where" column.
SECTION_LABELS = {
    "title": "标题", "effective_from": "生效日期", "effective_to": "截止日期", "apply_by": "申请截止日",
    "unconfirmed_fields": "待确认项", "source": "依据", "categories": "品类", "price_basis": "计价基础",
    "conditions": "资格条款", "amount": "补贴金额", "rounding": "取整", "limits": "次数限制", "exclusions": "互斥规则",
    "documents": "所需材料", "code": "版本代码", "series": "系列", "version": "版本号", "programme": "补贴项目",
}
META_KEYS = frozenset({"clause", "source", "unconfirmed", "local", "note"})


@bp.route("/rules")
@access(*BUREAU)
def version_list() -> ResponseReturnValue:
    """List the published rule versions, newest first, 50 a page, with the two to compare."""
    text = request.args.get("page", "1")
    page = min(int(text), 10_000) if text.isdigit() and int(text) > 0 else 1
    with uow() as tx:
        versions = services.versions_with_state(services.version_cache(), tx)
    shown = versions[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    return render_template("rules/versions.html", versions=shown, every=versions, total=len(versions), page=page,
                           page_size=PAGE_SIZE, programmes=PROGRAMME_LABELS_ZH)


@bp.route("/rules/versions/<code>")
@access(*BUREAU)
def version_page(code: str) -> ResponseReturnValue:
    """Show one version: its window, categories, clauses, amount and limits, each with its source and flags."""
    with uow() as tx:
        version, current = services.version_with_state(services.version_cache(), tx, code=code[:80])
    return render_template("rules/version.html", version=version, content=version.to_dict(), current=current,
                           programmes=PROGRAMME_LABELS_ZH, clause_labels=CLAUSE_LABELS, meta_keys=META_KEYS)


@bp.route("/rules/diff")
@access(*BUREAU)
def version_diff() -> ResponseReturnValue:
    """Compare two chosen versions field by field."""
    code_a, code_b = request.args.get("from_", "")[:80], request.args.get("to", "")[:80]
    error: PageError | None = None
    changes = None
    try:
        with uow() as tx:
            versions = services.versions_with_state(services.version_cache(), tx)
            if code_a or code_b:
                read = FieldErrors()
                for field, code in (("from_", code_a), ("to", code_b)):
                    if code not in {v.code for v, _current in versions}:
                        read.add(field, "请选择一个已发布的版本 / choose a published version")
                read.raise_any()
                changes = services.diff(services.version_cache(), tx, code_a=code_a, code_b=code_b)
    except DomainError as exc:
        error = for_staff(exc, labels=LABELS)
    return render_template("rules/diff.html", versions=versions, code_a=code_a, code_b=code_b, changes=changes,
                           error=error, labels=LABELS, sections=SECTION_LABELS,
                           programmes=PROGRAMME_LABELS_ZH), 422 if error else 200
