"""Flask glue for Idempotency-Key: replay the first response, refuse a reused key with another body."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

from flask import Flask, Response, current_app, flash, g, request
from sqlalchemy import bindparam, select, update

from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.idempotency import IdempotencyRecord
from subsidy_app.core.uow import UnitOfWork

HEADER = "Idempotency-Key"
FORM_FIELD = "form_key"  # the hidden field every state-changing page form carries (see new_form_key)
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A key committed without its answer this long ago belongs to a request that died after its writes committed
# (gunicorn kills a worker after 30 s): no answer is coming, so a replay must not be told to wait for one.
ANSWER_LOST_AFTER = dt.timedelta(seconds=60)


@dataclass
class PendingKey:
    """The key of the request being handled, and whether it was stored with its writes."""

    scope: str
    key: str
    request_hash: str
    stored: bool = False
    answer: Response | None = None  # set by answer_with_writes: stored in the writes' transaction


# Built once: every state-changing call runs both (building them cost more than running them).
_FIND = select(IdempotencyRecord).where(IdempotencyRecord.scope == bindparam("scope"),
                                        IdempotencyRecord.key == bindparam("key"))
_REMEMBER = (update(IdempotencyRecord)
             .where(IdempotencyRecord.scope == bindparam("for_scope"), IdempotencyRecord.key == bindparam("for_key"))
             .values(status_code=bindparam("answer_status"), response_body=bindparam("answer_body"),
                     content_type=bindparam("answer_type")))


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.query_string.decode()}\n".encode())
    if request.mimetype in FORM_TYPES:  # parsed forms leave no raw body to hash: hash what was parsed
        digest.update(json.dumps(sorted(request.form.items(multi=True)), ensure_ascii=False).encode())
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            digest.update(f"{name}={upload.filename}:".encode())
            digest.update(hashlib.sha256(upload.stream.read()).digest())
            upload.stream.seek(0)
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def new_form_key() -> str:
    """A one-time key for a rendered form: submitted twice, the second is answered with the first's result."""
    return secrets.token_urlsafe(18)


def _key() -> str | None:
    """The API client's Idempotency-Key, or the one-time key of a submitted page form."""
    key = request.headers.get(HEADER)
    if key is None and request.mimetype in FORM_TYPES and request.form.get(FORM_FIELD):
        # The same page sent again with other values (back, edit, send) is a new submission, not a reused key.
        key = f"form:{request.form[FORM_FIELD][:40]}:{_request_hash()[:32]}"
    return key


def check_replay(scope: str) -> Response | None:
    """Before a state-changing view: return the stored response for a replayed key, or note the key."""
    key = _key()
    if request.method not in UNSAFE or not key:
        return None
    if len(key) > 120 or not key.isprintable():
        raise ValidationFailed.field(HEADER, "幂等键过长或含非法字符 / key too long or not printable")
    request_hash = _request_hash()
    session_factory = current_app.extensions["subsidy"].session_factory
    with session_factory() as session:
        record = session.scalar(_FIND, {"scope": scope, "key": key})
        if record is None:
            g.idempotency = PendingKey(scope, key, request_hash)
            return None
        if record.request_hash != request_hash:
            raise ValidationFailed(
                "同一幂等键用于不同的请求 / Idempotency-Key reused with a different request",
                reason="idempotency.key_reused", errors={HEADER: ["used before with a different request"]},
            )
        if record.status_code is None and utcnow() - record.created_at > ANSWER_LOST_AFTER:
            raise Conflict("该请求已处理,但应答未能保存,请查询处理结果 / the request was applied but its answer was "
                           "lost: look the result up", reason="idempotency.answer_lost")
        if record.status_code is None:
            raise Conflict("相同请求正在处理 / the first request with this key is still in progress",
                           reason="idempotency.in_progress")
        if 300 <= record.status_code < 400:  # a page form's answer: go where the first submission went
            flash("该表单已提交过,未重复办理;以下是首次提交的结果。", "ok")
            response = Response("", status=record.status_code, headers={"Location": record.response_body or "/"})
            response.headers["Idempotent-Replayed"] = "true"
            return response
        response = Response(record.response_body or "", status=record.status_code,
                            content_type=record.content_type or "application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response


def attach(uow: UnitOfWork) -> None:
    """Store the request's key in the same transaction as its writes, so both commit or neither."""
    pending: PendingKey | None = g.get("idempotency")
    if pending is None or pending.stored:
        return

    def store(tx: UnitOfWork) -> None:
        answer = pending.answer
        tx.session.add(IdempotencyRecord(
            scope=pending.scope, key=pending.key, request_hash=pending.request_hash,
            status_code=None if answer is None else answer.status_code,
            response_body=None if answer is None else _stored_body(answer),
            content_type=None if answer is None else answer.content_type))
        pending.stored = True

    uow.before_commit("idempotency.store", store)


def answer_with_writes(response: Response) -> None:
    """Store the view's answer in the transaction that commits its writes (call before committing).

    A replay then finds the answer even if the process dies right after the commit, and the request saves the
    second transaction remember_response would open."""
    pending: PendingKey | None = g.get("idempotency")
    if pending is not None:
        pending.answer = response


def _stored_body(response: Response) -> str:
    if 300 <= response.status_code < 400:
        return response.location or "/"  # a redirect is replayed by where it points
    body = response.get_data(as_text=True)
    secret_fields: set[str] = g.get("idempotency_secret_fields", set())
    if secret_fields and response.is_json:
        # Secrets (a new API token) are shown once and never stored, not even for a replay.
        data = json.loads(body)
        body = json.dumps({k: ("(已隐藏 / shown once)" if k in secret_fields else v) for k, v in data.items()},
                          ensure_ascii=False)
    return body


def remember_response(response: Response) -> Response:
    """After the view: save the response beside the key committed with the request's writes."""
    pending: PendingKey | None = g.get("idempotency")
    if pending is None or not pending.stored or response.direct_passthrough:
        return response
    if pending.answer is not None:  # stored with the writes (or rolled back with them)
        return response
    body = _stored_body(response)
    session_factory = current_app.extensions["subsidy"].session_factory
    with session_factory() as session, session.begin():
        session.execute(_REMEMBER, {"for_scope": pending.scope, "for_key": pending.key,
                                    "answer_status": response.status_code, "answer_body": body,
                                    "answer_type": response.content_type})
    return response


def keep_secret(*fields: str) -> None:
    """Never store these response fields with the idempotency record."""
    g.idempotency_secret_fields = set(fields)


def init_app(app: Flask) -> None:
    """Install the after-request hook."""
    app.after_request(remember_response)
