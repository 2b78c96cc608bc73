"""The audit trail page for city-level admins: filter by actor, entity and dates; verify the chain in the background."""

from __future__ import annotations

import datetime as dt
from functools import partial

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.audit import readers, services
from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.errors import DomainError, FieldErrors, ValidationFailed
from subsidy_app.core.limits import MAX_ID
from subsidy_app.core.text import checked_text
from subsidy_app.form_errors import for_staff
from subsidy_app.http import uow
from subsidy_app.identity.domain import Role

bp = Blueprint("audit_pages", __name__, template_folder="templates")
PAGE_SIZE = 50
LABELS = {"actor": "操作人", "entity_type": "对象类型", "entity_id": "对象编号", "day_from": "起始日期",
          "day_to": "截止日期"}
# The kinds of object the trail names most, in words (others are shown as stored).
ENTITY_LABELS = {
    "account": "账号", "organisation": "机构", "api_token": "接口令牌", "application": "补贴申请",
    "payment_batch": "发放批次", "rule_version": "规则版本", "budget_pool": "资金池", "recovery_report": "旬报月报",
    "recovery_baseline": "回收基数", "recovery_target": "回收目标", "certificate": "回收证明", "audit": "审计链",
    "person": "个人", "intake": "回收记录",
}

# The actions a reader looks for most, in words (the stored code is shown beneath; others as stored).
ACTION_LABELS = {
    "account.created": "创建账号", "account.disabled": "停用账号", "account.enabled": "启用账号",
    "account.password_reset": "重置密码", "account.scope_changed": "修改管辖区县", "account.login": "登录",
    "account.login_failed": "登录失败", "account.locked": "账号锁定", "organisation.registered": "登记机构",
    "api_token.issued": "签发接口令牌", "api_token.revoked": "吊销接口令牌", "rules.published": "发布规则版本",
    "recycling.report_made": "生成旬报月报", "recycling.baselines_loaded": "载入回收基数",
    "recycling.targets_loaded": "载入回收目标", "audit.checkpoint_requested": "请求验证审计链",
}


def _city_admin() -> None:
    """Refuse a county admin: events carry no county, so only a city-level admin may read the whole trail."""
    readers.require_city_reader(current_principal())


def _day(name: str) -> dt.date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.field(name, "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD") from None


def _filter() -> services.EventFilter:
    read = FieldErrors()
    text = {name: read.value(partial(checked_text, request.args.get(name), field=name, max_length=60), "")
            for name in ("actor", "entity_type", "entity_id")}
    day_from, day_to = read.value(partial(_day, "day_from"), None), read.value(partial(_day, "day_to"), None)
    if day_from and day_to and day_from > day_to:
        read.add("day_to", "截止日期不能早于起始日期 / the end date is before the start date")
    read.raise_any()
    return services.EventFilter(day_from=day_from, day_to=day_to, **text)


def _page() -> int:
    text = request.args.get("page", "1")
    return min(int(text), MAX_ID // PAGE_SIZE) if text.isdigit() and int(text) > 0 else 1


@bp.route("/admin/audit")
@access(Role.ADMIN)
def trail() -> ResponseReturnValue:
    """List the audit events, newest first, 50 a page, filtered by actor, entity and Beijing dates."""
    _city_admin()
    page, error, total = _page(), None, 0
    events: list[AuditEvent] = []
    try:
        where = _filter()
        with uow() as tx:
            total, events = services.search_events(tx.session, where=where, offset=(page - 1) * PAGE_SIZE,
                                                   limit=PAGE_SIZE)
    except DomainError as exc:
        error = for_staff(exc, labels=LABELS)
    return render_template("audit/trail.html", events=events, total=total, page=page, page_size=PAGE_SIZE,
                           error=error, labels=LABELS, entity_labels=ENTITY_LABELS,
                           action_labels=ACTION_LABELS), 422 if error else 200


@bp.route("/admin/audit/verify", methods=["POST"])
@access(Role.ADMIN)
def verify() -> ResponseReturnValue:
    """Start the chain verification job and go to the page that shows its progress and result."""
    _city_admin()
    with uow() as tx:
        job_id = services.request_checkpoint(tx, requested_by=current_principal().actor)
        tx.commit()
    return redirect(url_for("audit_pages.verification", job_id=job_id))


@bp.route("/admin/audit/verify/<int:job_id>")
@access(Role.ADMIN)
def verification(job_id: int) -> ResponseReturnValue:
    """Show a verification's progress, then whether the chain held and how far it was checked."""
    _city_admin()
    with uow() as tx:
        checkpoint = services.checkpoint_of_job(tx.session, message_id=job_id)
    return render_template("audit/verification.html", job_id=job_id, checkpoint=checkpoint)
