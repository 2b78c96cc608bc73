"""SMS outbox and one-time codes on a real database: sent once after commit, hashed, limited, counted."""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import subsidy_app.messaging.tasks  # noqa: F401  (registers the send job)
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, RateLimited, ValidationFailed
from subsidy_app.core.jobs import run_outbox_message
from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.messaging import codes, services
from subsidy_app.messaging.models import OneTimeCode, SmsMessage

PHONE = "13912345678"
PURPOSE = "verify_identity"


def _latest_code(uow: UnitOfWork, phone: str = PHONE) -> str:
    message = services.list_outbox(uow, phone=phone, limit=1)[0]
    match = re.search(r"\d{6}", message.text)
    assert match
    return match.group()


def test_requested_code_arrives_in_the_outbox_after_commit_and_verifies_once(uow: UnitOfWork) -> None:
    codes.request_code(uow, phone=PHONE, purpose=PURPOSE)
    assert services.list_outbox(uow, phone=PHONE) == []  # nothing is sent before the commit
    uow.commit()
    outbox = services.list_outbox(uow, phone=PHONE)
    assert len(outbox) == 1 and outbox[0].phone == "139****5678"
    code = _latest_code(uow)
    assert code not in str(uow.session.scalars(select(OneTimeCode.code_hash)).all())
    assert codes.verify_code(uow, phone=PHONE, purpose=PURPOSE, code=code) is True
    with pytest.raises(ValidationFailed) as again:
        codes.verify_code(uow, phone=PHONE, purpose=PURPOSE, code=code)
    assert again.value.reason == "otp.expired"


def test_code_for_one_purpose_does_not_pass_for_another(uow: UnitOfWork) -> None:
    codes.request_code(uow, phone=PHONE, purpose=PURPOSE)
    uow.commit()
    with pytest.raises(ValidationFailed):
        codes.verify_code(uow, phone=PHONE, purpose="resident_login", code=_latest_code(uow))


def test_five_wrong_tries_lock_the_code_even_for_the_right_one(uow: UnitOfWork) -> None:
    codes.request_code(uow, phone=PHONE, purpose=PURPOSE)
    uow.commit()
    right = _latest_code(uow)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(ValidationFailed) as exc:
            codes.verify_code(uow, phone=PHONE, purpose=PURPOSE, code=wrong)
        assert exc.value.reason == "otp.wrong" and f"{left}" in exc.value.message
    with pytest.raises(Conflict) as locked:
        codes.verify_code(uow, phone=PHONE, purpose=PURPOSE, code=right)
    assert locked.value.reason == "otp.locked"


def test_failed_attempts_still_count_when_the_callers_transaction_rolls_back(uow: UnitOfWork) -> None:
    codes.request_code(uow, phone=PHONE, purpose=PURPOSE)
    uow.commit()
    wrong = "000000" if _latest_code(uow) != "000000" else "111111"
    uow.commit()
    with pytest.raises(ValidationFailed):
        codes.verify_code(uow, phone=PHONE, purpose=PURPOSE, code=wrong)
    services.queue_sms(uow, phone=PHONE, text="不会发出", purpose="test")  # the caller's own work, then a rollback
    uow.rollback()
    assert uow.session.scalar(select(OneTimeCode.attempts)) == 1
    assert [m.text for m in services.list_outbox(uow, phone=PHONE)] != ["不会发出"]


def test_code_expires_after_five_minutes(uow: UnitOfWork) -> None:
    start = utcnow()
    codes.request_code(uow, phone=PHONE, purpose=PURPOSE, now=start)
    uow.commit()
    with pytest.raises(ValidationFailed) as exc:
        codes.verify_code(uow, phone=PHONE, purpose=PURPOSE, code=_latest_code(uow),
                          now=start + dt.timedelta(minutes=5))
    assert exc.value.reason == "otp.expired"


def test_requests_are_limited_per_minute_and_per_day(uow: UnitOfWork) -> None:
    start = utcnow() - dt.timedelta(hours=12)
    codes.request_code(uow, phone=PHONE, purpose=PURPOSE, now=start)
    with pytest.raises(RateLimited) as soon:
        codes.request_code(uow, phone=PHONE, purpose="resident_login", now=start + dt.timedelta(seconds=30))
    assert soon.value.reason == "otp.too_soon"
    for n in range(1, 10):
        codes.request_code(uow, phone=PHONE, purpose=PURPOSE, now=start + dt.timedelta(minutes=2 * n))
    with pytest.raises(RateLimited) as many:
        codes.request_code(uow, phone=PHONE, purpose=PURPOSE, now=start + dt.timedelta(hours=2))
    assert many.value.reason == "otp.too_many"
    codes.request_code(uow, phone=PHONE, purpose=PURPOSE, now=start + dt.timedelta(hours=25))


def test_a_newer_code_replaces_the_older_one(uow: UnitOfWork) -> None:
    start = utcnow() - dt.timedelta(minutes=2)
    codes.request_code(uow, phone=PHONE, purpose=PURPOSE, now=start)
    uow.commit()
    first = _latest_code(uow)
    codes.request_code(uow, phone=PHONE, purpose=PURPOSE, now=start + dt.timedelta(seconds=61))
    uow.commit()
    second = _latest_code(uow)
    if first != second:
        with pytest.raises(ValidationFailed):
            codes.verify_code(uow, phone=PHONE, purpose=PURPOSE, code=first)
    assert codes.verify_code(uow, phone=PHONE, purpose=PURPOSE, code=second)


def test_notify_person_texts_their_phone_and_skips_people_without_one(uow: UnitOfWork) -> None:
    with_phone = persons.register_person(uow, actor="t", name="张三", id_number="11010519491231002X",
                                         phone="13800001111")
    without = persons.register_person(uow, actor="t", name="李四", id_number="141102199001010018")
    assert services.notify_person(uow, person_id=with_phone, text="您的申请已受理。", purpose="application") is not None
    assert services.notify_person(uow, person_id=without, text="您的申请已受理。", purpose="application") is None
    uow.commit()
    sent = services.list_outbox(uow, phone="13800001111")
    assert [(m.text, m.phone) for m in sent] == [("您的申请已受理。", "138****1111")]
    payloads = str(uow.session.scalars(select(OutboxMessage.payload)).all())
    assert "13800001111" not in payloads


def test_a_redelivered_send_job_sends_once(uow: UnitOfWork, session_factory: sessionmaker[Session]) -> None:
    message = services.queue_sms(uow, phone=PHONE, text="测试短信", purpose="test")
    uow.commit()
    uow.session.execute(OutboxMessage.__table__.update().values(done_at=None))
    outcome = run_outbox_message(session_factory, uow.dispatcher, message.id, uow.cipher)
    assert outcome.status == "done"
    assert uow.session.scalar(select(func.count()).select_from(SmsMessage)) == 1


def test_parallel_code_requests_for_one_phone_send_one_code(
    postgres: None, committed: sessionmaker[Session], committed_uow: UnitOfWork
) -> None:
    def request(_n: int) -> str:
        with UnitOfWork(committed, committed_uow.dispatcher, committed_uow.cipher) as tx:
            try:
                codes.request_code(tx, phone=PHONE, purpose=PURPOSE)
                tx.commit()
            except RateLimited as exc:
                return exc.reason
            return "ok"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(request, range(6)))
    assert outcomes.count("ok") == 1 and outcomes.count("otp.too_soon") == 5
    assert committed_uow.session.scalar(select(func.count()).select_from(OneTimeCode)) == 1
