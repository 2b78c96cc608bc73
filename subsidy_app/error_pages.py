"""Errors on pages are pages: a Chinese page with a way back, the login page for a logged-out visitor.

JSON is for `/api/` (and for callers that send or ask for JSON); a person in a browser never sees an envelope."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import declared_rule

TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "页面不存在", 405: "不支持该操作", 409: "无法办理",
          413: "内容过大", 415: "不支持的内容类型", 422: "输入有误", 429: "请求过于频繁", 500: "服务器暂时出错"}

# What a person can do about the commonest refusals, shown when the refusal itself only repeats the title.
HELP = {403: "您的账号没有办理此项业务的权限。如需办理,请联系本单位的系统管理员开通相应角色。",
        404: "您要找的页面或记录不存在,或不在您的管辖范围内。请检查链接,或从工作台重新进入。"}


def wants_page() -> bool:
    """Whether the caller is a person in a browser rather than a program (API paths and JSON callers are not)."""
    if request.path.startswith("/api/") or request.is_json or request.authorization is not None:
        return False  # an API path, a JSON body or a bearer token: a program is calling
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best != "application/json"


def error_page(code: int, message: str, reason: str) -> ResponseReturnValue:
    """The page for an error: the login page (and back) for a logged-out visitor, else a Chinese error page."""
    if code == 401 and request.method == "GET" and not _for_residents():
        return redirect(url_for("identity_views.login", next=request.full_path.rstrip("?")))
    if code == 401:  # a resident's page: they verify their identity on the page they scanned, not at a login
        message = "请先扫描二维码并验证身份后再办理 / please scan the code and verify your identity first"
    chinese = message.split(" / ", 1)[0]  # messages are "中文 / English": the page is for Chinese readers
    title = TITLES.get(code, "出错了")
    if code in HELP and (chinese == title or len(chinese) < 8):  # a bare "无权访问" or "不存在" says nothing new
        chinese = HELP[code]
    return render_template("error.html", code=code, title=title, message=chinese, reason=reason), code


def _for_residents() -> bool:
    """Whether the page asked for is a resident's (their identity step), not a staff page (the login)."""
    view = current_app.view_functions.get(request.endpoint or "")
    rule = declared_rule(view, request.method) if view is not None else None
    return rule is not None and rule.resident


def safe_next(target: str | None) -> str | None:
    """A `next` address to return to after login, only if it is a path on this site (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
