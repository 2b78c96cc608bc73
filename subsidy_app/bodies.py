"""Request bodies: every JSON body read by the app's one loader, every body held to its route's size limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import flask
import flask_smorest
from flask import current_app, request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

F = TypeVar("F", bound=Callable[..., Any])

# Settings fields holding the limits a route may declare; routes that declare none take the JSON limit.
JSON_LIMIT = "json_body_max_bytes"
TABLE_FILE_LIMIT = "upload_max_bytes"
DOCUMENTS_LIMIT = "document_upload_max_bytes"


class InvalidJson(BadRequest):
    """A body sent as JSON that the loader refuses: malformed, nested too deep, or a number past a double."""

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.data = {"message": "请求体不是有效的 JSON / the body is not valid JSON", "reason": "body.invalid_json",
                     "errors": {"json": [detail[:200]]}}


class BodyTooLarge(RequestEntityTooLarge):
    """A body past its route's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        size = _size(limit)
        self.data = {"message": f"请求体超过 {size} 的上限 / the request body is larger than the {size} limit",
                     "reason": "body.too_large", "errors": {"body": [f"at most {size}"]}}


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MiB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KiB"


class JsonRequest(flask.Request):
    """The request class: JSON the loader refuses answers 400 `body.invalid_json`, whoever asked for it."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """Refuse unreadable JSON by reason; a body not sent as JSON keeps Flask's 415."""
        if e is None:
            return super().on_json_loading_failed(e)
        raise InvalidJson(str(e)) from e


class BodyParser(FlaskParser):
    """webargs' parser, reading JSON through the request's loader instead of its own `json.loads`.

    The stdlib decoder's RecursionError (deep nesting) and ValueError (an integer past 4,300 digits) escaped
    webargs as 500s; the app's loader refuses both, and every JSON body now goes through it."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req) or not req.get_data(cache=True):
            return core.missing  # no JSON body: the schema names its required fields
        return req.get_json()


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]  # flask-smorest ships no types
    """flask-smorest blueprint whose arguments are parsed by BodyParser; every API package uses it."""

    ARGUMENTS_PARSER = BodyParser()


def body_limit(setting: str) -> Callable[[F], F]:
    """Declare which Settings field limits the decorated view's body (uploads; others take the JSON limit)."""

    def mark(func: F) -> F:
        func.__body_limit__ = setting  # type: ignore[attr-defined]
        return func

    return mark


def route_limit(app: flask.Flask, endpoint: str, method: str) -> int:
    """Return the body limit, in bytes, of an endpoint's method."""
    view = app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class is not None else view
    setting = getattr(handler, "__body_limit__", JSON_LIMIT)
    limit: int = getattr(app.extensions["subsidy"].settings, setting)
    return limit


def limit_body() -> None:
    """Before anything reads the body (CSRF reads forms): refuse a declared length past the route's limit at once,
    and cut a streamed body there."""
    if request.endpoint is None:
        return  # 404 and 405 read no body
    limit = route_limit(current_app, request.endpoint, request.method)
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)


def install(app: flask.Flask) -> None:
    """Use the JSON-refusing request class and check body limits before every other hook."""
    app.request_class = JsonRequest
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body)
