"""Serve stored documents inline with their sniffed type, never as HTML."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response

from subsidy_app.access import access, current_principal, raise_not_in_scope
from subsidy_app.documents import services
from subsidy_app.documents.domain import EXTENSIONS
from subsidy_app.http import runtime
from subsidy_app.identity.domain import Role

bp = Blueprint("documents", __name__)
STAFF_READERS = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER, Role.ADMIN)


@bp.route("/documents/<int:document_id>")
@access(*STAFF_READERS, resident=True)
def serve(document_id: int) -> Response:
    """Send a document to bureau staff who may see its owner (e.g. the application's county) or to its resident."""
    with runtime().unit_of_work() as tx:
        if not services.may_see_document(tx, document_id=document_id, principal=current_principal()):
            raise_not_in_scope()
        doc = services.load_document(tx, document_id=document_id)
    response = Response(doc.data, mimetype=doc.ref.content_type)
    response.headers["Content-Disposition"] = (
        f"inline; filename=\"document{EXTENSIONS[doc.ref.content_type]}\"; filename*=UTF-8''{quote(doc.ref.filename)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response
