"""Complaints and appeals API (/api/v1/oversight/cases): phone filing, list, one case, assign, answer, close."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from subsidy_app.access import access, current_principal
from subsidy_app.bodies import Blueprint
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import Role
from subsidy_app.oversight import complaint_queries as queries
from subsidy_app.oversight import complaint_schemas as s
from subsidy_app.oversight import complaint_services as cases

blp = Blueprint("oversight_cases", __name__, url_prefix="/api/v1/oversight",
                description="投诉与申诉 / complaints and appeals")
HANDLERS = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)


def terms() -> cases.Terms:
    """The configured deadline, working calendar and appeal window."""
    return cases.terms_from(runtime().settings)


@blp.route("/cases")
class Cases(MethodView):
    """Complaints and appeals in the caller's counties."""

    @access(*HANDLERS)
    @blp.arguments(s.CaseQuery, location="query")
    @blp.response(200, s.CasePageOut)
    def get(self, query: dict[str, Any]) -> Any:
        """List cases, newest first, filtered by state, kind, category, county, overdue and assignee."""
        page, size = query.pop("page"), query.pop("page_size")
        with uow() as tx:
            rows, total = queries.list_cases(tx, principal=current_principal(), chosen=queries.CaseFilter(**query),
                                             limit=size, offset=(page - 1) * size)
        return {"items": rows, "total": total, "page": page, "page_size": size}

    @access(*HANDLERS)
    @blp.arguments(s.PhoneCaseIn)
    @blp.response(201, s.CaseOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Record a phone complaint (naming the application by its number, or the county)."""
        principal = current_principal()
        with uow() as tx:
            filed = cases.file_by_phone(tx, principal=principal, terms=terms(), **data)
            tx.commit()
            return queries.case_detail(tx, principal=principal, case_id=filed.case_id)


@blp.route("/cases/<int:case_id>")
class CaseItem(MethodView):
    """One case."""

    @access(*HANDLERS)
    @blp.response(200, s.CaseOut)
    def get(self, case_id: int) -> Any:
        """Show a case with the resident's text and its history."""
        with uow() as tx:
            return queries.case_detail(tx, principal=current_principal(), case_id=case_id)


@blp.route("/cases/<int:case_id>/assign")
class Assign(MethodView):
    """Giving a case to a reviewer."""

    @access(*HANDLERS)
    @blp.arguments(s.AssignIn)
    @blp.response(200, s.CaseOut)
    def post(self, data: dict[str, Any], case_id: int) -> Any:
        """Take the case, or give it to a reviewer of its county (senior auditors and admins)."""
        principal = current_principal()
        with uow() as tx:
            cases.assign(tx, principal=principal, case_id=case_id, assignee_id=data["assignee_id"])
            tx.commit()
            return queries.case_detail(tx, principal=principal, case_id=case_id)


@blp.route("/cases/<int:case_id>/answer")
class Answer(MethodView):
    """Answering a case."""

    @access(*HANDLERS)
    @blp.arguments(s.AnswerIn)
    @blp.response(200, s.CaseOut)
    def post(self, data: dict[str, Any], case_id: int) -> Any:
        """Answer the resident (an appeal is answered by its second review instead)."""
        principal = current_principal()
        with uow() as tx:
            cases.answer(tx, principal=principal, case_id=case_id, reply=data["reply"])
            tx.commit()
            return queries.case_detail(tx, principal=principal, case_id=case_id)


@blp.route("/cases/<int:case_id>/close")
class Close(MethodView):
    """Closing an answered case."""

    @access(*HANDLERS)
    @blp.response(200, s.CaseOut)
    def post(self, case_id: int) -> Any:
        """Close the case."""
        principal = current_principal()
        with uow() as tx:
            cases.close(tx, principal=principal, case_id=case_id)
            tx.commit()
            return queries.case_detail(tx, principal=principal, case_id=case_id)
