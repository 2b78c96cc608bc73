"""The one authorisation mechanism: every view declares who may call it; undeclared views are refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.wrappers import Response

from subsidy_app.core.errors import Forbidden, NotAuthenticated
from subsidy_app.identity import services as identity
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import ANONYMOUS, Principal, Role

F = TypeVar("F", bound=Callable[..., Any])
csrf = CSRFProtect()

STAFF_ROLES = frozenset(Role)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class AccessRule:
    """Who may call a view: anyone, a verified resident, or staff holding one of the roles."""

    roles: frozenset[Role]
    public: bool = False
    resident: bool = False
    csrf: bool = False


def access(*roles: Role, public: bool = False, resident: bool = False, csrf: bool = False) -> Callable[[F], F]:
    """Declare who may call the decorated view (or MethodView method); csrf=True for HTML forms."""
    if not roles and not public and not resident:
        raise ValueError("declare at least one role, public=True or resident=True")
    rule = AccessRule(frozenset(roles), public, resident, csrf)

    def mark(func: F) -> F:
        func.__access__ = rule  # type: ignore[attr-defined]
        return func

    return mark


def declared_rule(view_func: Callable[..., Any], method: str) -> AccessRule | None:
    """Return the rule a view declares for an HTTP method, if any."""
    view_class = getattr(view_func, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        rule = getattr(handler, "__access__", None)
        return rule if rule is not None else getattr(view_class, "__access__", None)
    return getattr(view_func, "__access__", None)


def current_principal() -> Principal:
    """Return who is calling (ANONYMOUS when nobody is logged in)."""
    principal: Principal = g.get("principal", ANONYMOUS)
    return principal


def _resolve_principal() -> Principal:
    runtime = current_app.extensions["subsidy"]
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret:
            raise NotAuthenticated("Authorization 头格式应为 Bearer <token> / expected a Bearer token",
                                   reason="auth.bad_header")
        with runtime.unit_of_work() as uow:
            principal = identity.principal_for_token(uow, secret=secret.strip())
        if principal is None:
            raise NotAuthenticated("令牌无效或已撤销 / token invalid or revoked", reason="auth.invalid_token")
        return principal
    account_id = session.get("account_id")
    if account_id is not None:
        with runtime.unit_of_work() as uow:
            principal = identity.load_principal(uow, account_id=int(account_id))
        if principal is None:
            session.clear()
            return ANONYMOUS
        return principal
    person_id = session.get("resident_person_id")
    if person_id is not None:
        return Principal(kind="resident", person_id=int(person_id))
    return ANONYMOUS


def enforce() -> Response | None:
    """Before each request: resolve the caller and check the view's declared rule."""
    if request.endpoint is None:
        return None  # 404 and 405 are answered by Flask
    view_func = current_app.view_functions[request.endpoint]
    rule = declared_rule(view_func, request.method)
    if rule is None:
        raise Forbidden("该接口未声明访问权限 / this endpoint declares no access rule", reason="auth.undeclared")
    principal = _resolve_principal()
    g.principal = principal
    # Cookie-borne identities and HTML forms need CSRF; bearer tokens and anonymous JSON calls don't.
    if request.method in UNSAFE and principal.via == "session" and (principal.kind != "anonymous" or rule.csrf):
        try:
            csrf.protect()
        except CSRFError as exc:
            raise Forbidden("CSRF 校验失败,请刷新页面重试 / CSRF check failed, reload the page",
                            reason="auth.csrf") from exc
    if rule.public:
        return None
    if rule.resident and principal.kind == "resident":
        return None
    if principal.kind == "anonymous":
        raise NotAuthenticated("请先登录 / please log in", reason="auth.required")
    if principal.kind != "staff" or not principal.has_any(rule.roles):
        raise Forbidden("无权访问 / your role does not allow this", reason="auth.forbidden")
    if principal.must_change_password and principal.via == "session" and request.endpoint not in OPEN_TO_TEMPORARY:
        return _choose_password_first()
    return None


# What a session with an admin-set (temporary) password may do: replace it, or leave.
OPEN_TO_TEMPORARY = frozenset({"identity_views.password", "identity_views.logout"})


def _choose_password_first() -> Response:
    """Send a page request to the password change; refuse anything else until a password of one's own is chosen."""
    if request.method == "GET" and not request.path.startswith("/api/"):
        return redirect(url_for("identity_views.password", next=request.full_path.rstrip("?")))
    raise Forbidden("请先修改管理员设置的临时密码 / choose your own password first (the current one is temporary)",
                    reason="auth.password_change_required")


def require_county(principal: Principal, county_code: str) -> None:
    """Refuse a caller whose scope does not include a county (as 404, to hide what exists)."""
    if principal.kind == "staff" and not principal.covers_county(county_code):
        raise_not_in_scope()


def raise_not_in_scope() -> NoReturn:
    """Answer as if the entity did not exist, so scopes don't leak existence."""
    raise visibility.not_in_scope()


def init_app(app: Flask) -> None:
    """Install CSRF (checked by `enforce` for session callers) and the access check."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.before_request(enforce)


__all__ = ["AccessRule", "access", "current_principal", "declared_rule", "init_app"]
