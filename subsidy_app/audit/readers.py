"""Who may read the audit trail: events carry no county, so only a city-level staff member reads them."""

from __future__ import annotations

from subsidy_app.core.errors import Forbidden
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import Principal


def require_city_reader(principal: Principal) -> None:
    """Refuse anyone whose scope is less than the whole city (a county admin or senior auditor, included)."""
    if not visibility.sees_every_county(principal):
        raise Forbidden("审计日志记录全市各区县的操作,仅市级管理员可查看 / the audit trail spans every county: "
                        "city-level admins only", reason="audit.city_only")
