"""Swagger UI's own files, served by the platform: the bureau's offices can't reach a CDN."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from subsidy_app.access import access

ASSETS_URL = "/api/docs/assets/"  # what OPENAPI_SWAGGER_UI_URL points the docs page at
bp = Blueprint("api_docs_assets", __name__)


@bp.get(f"{ASSETS_URL}<path:filename>")
@access(public=True)
def asset(filename: str) -> Response:
    """One file of the packaged Swagger UI (swagger-ui-bundle from PyPI), cached for a day."""
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
