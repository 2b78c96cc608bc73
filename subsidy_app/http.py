"""Flask glue: the runtime container, the API object, uow() for views and the one error envelope."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import InvalidOperation
from http import HTTPStatus
from typing import Any

import marshmallow as ma
import orjson
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from subsidy_app import api_docs, bodies, error_pages, idempotency
from subsidy_app.access import current_principal
from subsidy_app.bodies import Blueprint
from subsidy_app.core import constraints
from subsidy_app.core.errors import DomainError, ValidationFailed
from subsidy_app.core.limits import MAX_ID
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.runtime import Runtime

log = logging.getLogger(__name__)
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# A dead or paused Redis costs a request at most this long before the limiter counts in memory instead; without
# a timeout a paused one would hold every rate-limited request.
LIMIT_STORE_TIMEOUT_SECONDS = 0.5


def rate_limit_config(storage_uri: str) -> dict[str, Any]:
    """Flask-Limiter's settings: the store, and per-process memory while that store is unreachable."""
    redis = storage_uri.startswith(("redis://", "rediss://", "redis+unix://"))
    timeouts = {"socket_connect_timeout": LIMIT_STORE_TIMEOUT_SECONDS, "socket_timeout": LIMIT_STORE_TIMEOUT_SECONDS}
    return {
        "RATELIMIT_STORAGE_URI": storage_uri,
        "RATELIMIT_STORAGE_OPTIONS": timeouts if redis else {},
        # Redis away: each route's own limits count in this process's memory (logged once by Flask-Limiter);
        # it pings the store again after 1 s, doubling to 32 s, and goes back to it once it answers.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
    }


def load_json(schema: ma.Schema) -> dict[str, Any]:
    """Validate the request's JSON body with a schema; 400 for unreadable JSON, 422 naming each bad field."""
    body = request.get_json() if request.is_json else None  # unreadable JSON: 400 body.invalid_json
    if not isinstance(body, dict):
        raise ValidationFailed("请求体应为 JSON 对象 / the body must be a JSON object", reason="request.malformed",
                               errors={"json": ["expected a JSON object"]})
    try:
        loaded: dict[str, Any] = schema.load(body)
    except ma.ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationFailed("输入有误 / invalid input", errors=errors) from None
    return loaded


def answer(schema: ma.Schema, data: Any, status: int = 200) -> Response:
    """Build a view's JSON answer before its commit, so the request's Idempotency-Key stores it with the writes."""
    response = jsonify(schema.dump(data))
    response.status_code = status
    idempotency.answer_with_writes(response)
    return response


def runtime() -> Runtime:
    """Return the current app's runtime."""
    value: Runtime = current_app.extensions["subsidy"]
    return value


@contextmanager
def uow() -> Iterator[UnitOfWork]:
    """Open a unit of work for a view; the request's Idempotency-Key commits with its writes."""
    with runtime().unit_of_work() as unit:
        idempotency.attach(unit)
        try:
            yield unit
        except IntegrityError as exc:
            # A constraint refused the write (usually a lost race): say which rule, as its package registered it.
            log.info("integrity error in view: %s", exc.orig)
            raise constraints.error_for(exc) from None


class ErrorEnvelope(ma.Schema):
    """The one error shape every endpoint answers with."""

    code = ma.fields.Integer(metadata={"description": "HTTP status code"})
    status = ma.fields.String(metadata={"description": "HTTP status name"})
    message = ma.fields.String(metadata={"description": "Human message (Chinese / English)"})
    reason = ma.fields.String(metadata={"description": "Stable machine reason, e.g. quota.exhausted"})
    errors = ma.fields.Dict(metadata={"description": "Per-field messages"})


def envelope(code: int, message: str, reason: str, errors: dict[str, Any] | None = None) -> ResponseReturnValue:
    """Build the error response: the envelope for programs, a page for a person in a browser."""
    if error_pages.wants_page():
        return error_pages.error_page(code, message, reason)
    body = {"code": code, "status": HTTPStatus(code).phrase, "message": message, "reason": reason,
            "errors": errors or {}}
    return jsonify(body), code


def _flatten(messages: Any) -> dict[str, Any]:
    """Turn webargs' {location: {field: [...]}} into {field: [...]}."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if location in ("json", "form", "query", "files", "headers", "view_args") and isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


_DEFAULT_MESSAGES = {
    400: ("请求格式错误 / malformed request", "request.malformed"),
    401: ("请先登录 / please log in", "auth.required"),
    403: ("无权访问 / forbidden", "auth.forbidden"),
    404: ("不存在 / not found", "not_found"),
    405: ("不支持该方法 / method not allowed", "method_not_allowed"),
    409: ("冲突 / conflict", "conflict"),
    413: ("请求体过大 / the request body is too large", "body.too_large"),
    415: ("不支持的内容类型 / unsupported media type", "request.media_type"),
    422: ("输入有误 / invalid input", "validation.failed"),
    429: ("请求过于频繁,请稍后再试 / too many requests, try later", "rate_limited"),
}


class Api(SmorestApi):
    """flask-smorest API answering every HTTP error with the envelope."""

    ERROR_SCHEMA = ErrorEnvelope

    def register_blueprint(self, blp: SmorestBlueprint, *, parameters: Any = None, **options: Any) -> None:
        """Register an API blueprint; only bodies.Blueprint, so no body is parsed by webargs' own JSON loader."""
        if not isinstance(blp, Blueprint):
            raise TypeError(f"{blp.name}: use subsidy_app.bodies.Blueprint, which parses JSON with the app's loader")
        super().register_blueprint(blp, parameters=parameters, **options)

    def handle_http_exception(self, error: HTTPException) -> ResponseReturnValue:
        """Render an HTTP error raised by Flask, webargs or abort() as the envelope."""
        return handle_http_error(error)


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    """Render an HTTP error as the envelope."""
    code = error.code or 500
    message, reason = _DEFAULT_MESSAGES.get(code, (error.description or HTTPStatus(code).phrase, "http.error"))
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or _flatten(data.get("messages", {}))
    if code == 429:
        return envelope(code, message, reason)
    return envelope(code, data.get("message", message), data.get("reason", reason), errors)


def handle_domain_error(error: DomainError) -> ResponseReturnValue:
    """Render a domain error as the envelope."""
    message = error.message if not error.message_en else f"{error.message} / {error.message_en}"
    return envelope(error.status, message, error.reason, error.errors)


class RecordIdConverter(IntegerConverter):
    """`<int:…>` in every route: an id past the database's bigint is no record (404), not a database error (500)."""

    def __init__(self, url_map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits, min, max, signed)


def handle_data_error(error: DataError | OverflowError | InvalidOperation) -> ResponseReturnValue:
    """A value the database can't hold (a number past a column's range, text past its length): the client's 422.

    Schemas bound the fields clients usually send; this keeps any they don't from becoming a 500. SQLite's driver
    raises OverflowError for an integer past 64 bits where PostgreSQL raises a DataError."""
    log.warning("value refused by the database on %s %s: %s", request.method, request.path,
                getattr(error, "orig", error))
    return envelope(422, "输入的数值超出范围或文本过长 / a value is out of range or too long", "input.out_of_range")


def handle_integrity_error(error: IntegrityError) -> ResponseReturnValue:
    """A constraint refused a write outside uow() (a page's own transaction): the same specific reason."""
    log.info("integrity error on %s %s: %s", request.method, request.path, error.orig)
    return handle_domain_error(constraints.error_for(error))


def handle_unexpected(error: Exception) -> ResponseReturnValue:
    """Log an unexpected error and answer 500 without internals."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return envelope(500, "服务器内部错误,请稍后重试 / internal error, please retry later", "server.error")


def schema_name(schema: Any) -> str:
    """Name OpenAPI components by package and class, so two packages' `EventOut` never collide."""
    cls = schema if isinstance(schema, type) else type(schema)
    parts = cls.__module__.split(".")
    package = parts[-2] if len(parts) > 1 else parts[0]
    return f"{package}.{cls.__name__.removesuffix('Schema')}"


class OrjsonProvider(DefaultJSONProvider):
    """Serialise responses with orjson: several times faster than the stdlib on every API answer."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Encode like Flask's provider (dates, decimals, dataclasses) but with orjson."""
        return orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Decode JSON; a ValueError (request.get_json's 400) for anything unreadable, however deep or long."""
        try:
            return orjson.loads(s)  # refuses nesting past 1,024 levels and numbers past a double by itself
        except RecursionError as exc:  # so that no decoder's recursion limit can become a 500
            raise ValueError("nested too deep") from exc

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """Build a JSON response from the arguments jsonify() takes."""
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS)
        return Response(body, mimetype="application/json")


def init_app(app: Flask) -> Api:
    """Create the API object and install error handlers."""
    app.json = OrjsonProvider(app)
    bodies.install(app)
    app.config.setdefault("API_TITLE", "吕梁市以旧换新与回收交易平台 API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", api_docs.ASSETS_URL)  # served by the platform, not a CDN
    api = Api(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
                                "components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"},
        "session": {"type": "apiKey", "in": "cookie", "name": "session"},
    }}})
    app.url_map.converters["int"] = RecordIdConverter  # before any route is added
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(DataError, handle_data_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(OverflowError, handle_data_error)
    app.register_error_handler(InvalidOperation, handle_data_error)  # Decimal arithmetic on an absurd figure
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
    limiter.init_app(app)
    # No default limits: the decorated public endpoints check their own limits when called, so the global
    # per-request pass only costs time on every other request.
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks[:] = [h for h in hooks if getattr(h, "__func__", None) is not Limiter._check_request_limit]
    idempotency.init_app(app)
    return api


def check_idempotent_replay() -> ResponseReturnValue | None:
    """Before a view runs (after access checks): answer a replayed Idempotency-Key from storage."""
    if request.endpoint is None:
        return None
    return idempotency.check_replay(current_principal().actor if current_principal().kind != "anonymous"
                                    else f"anon:{get_remote_address()}")
