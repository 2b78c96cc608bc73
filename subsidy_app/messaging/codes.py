"""One-time codes: request (rate-limited, sent by SMS job) and verify (attempts counted durably)."""

from __future__ import annotations

import datetime as dt
import hmac

from sqlalchemy import func, select, text, update

from subsidy_app.core.db import is_postgres, utcnow
from subsidy_app.core.identifiers_trade import normalise_phone
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.messaging.domain import (
    DEFAULT_POLICY,
    CodeVerdict,
    OtpPolicy,
    check_request_allowed,
    judge_code,
    new_code,
    otp_text,
    parse_purpose,
    verdict_error,
)
from subsidy_app.messaging.models import OneTimeCode
from subsidy_app.messaging.services import queue_sms


def _code_hash(uow: UnitOfWork, phone: str, purpose: str, code: str) -> str:
    return uow.cipher.match_hash(f"otp:{purpose}:{phone}:{code}")


def request_code(
    uow: UnitOfWork, *, phone: str, purpose: str, now: dt.datetime | None = None, policy: OtpPolicy = DEFAULT_POLICY
) -> None:
    """Issue a code for phone and purpose and queue its SMS; refuse otp.too_soon / otp.too_many (429)."""
    value = normalise_phone(phone)
    kind = parse_purpose(purpose)
    moment = now or utcnow()
    digest = uow.cipher.match_hash(value)
    session = uow.session
    if is_postgres(session):
        # Serialise requests for one phone, so two parallel requests cannot both pass the limits.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"otp:{digest}"})
    last_sent, sent_last_day = session.execute(
        select(func.max(OneTimeCode.created_at), func.count())
        .where(OneTimeCode.phone_hash == digest, OneTimeCode.created_at > moment - dt.timedelta(days=1))
    ).one()
    check_request_allowed(now=moment, last_sent_at=last_sent, sent_last_day=sent_last_day, policy=policy)
    session.execute(update(OneTimeCode).where(OneTimeCode.phone_hash == digest, OneTimeCode.purpose == kind.value,
                                              OneTimeCode.closed_at.is_(None)).values(closed_at=moment))
    code = new_code(policy)
    session.add(OneTimeCode(phone_hash=digest, purpose=kind.value, code_hash=_code_hash(uow, value, kind, code),
                            created_at=moment, expires_at=moment + policy.ttl, attempts=0))
    queue_sms(uow, phone=value, text=otp_text(code, kind, policy), purpose=f"otp:{kind.value}", secret=code)


def verify_code(
    uow: UnitOfWork, *, phone: str, purpose: str, code: str, now: dt.datetime | None = None,
    policy: OtpPolicy = DEFAULT_POLICY,
) -> bool:
    """Return True and use up the code if right; else raise otp.wrong / otp.expired (422) or otp.locked (409).

    The check runs in its own committed transaction, so a failed attempt still counts when the caller's
    transaction rolls back, and a used code stays used.
    """
    value = normalise_phone(phone)
    kind = parse_purpose(purpose)
    moment = now or utcnow()
    digest = uow.cipher.match_hash(value)
    submitted = _code_hash(uow, value, kind, "".join(str(code).split()))
    with uow.session_factory() as session, session.begin():
        row = session.scalar(
            select(OneTimeCode)
            .where(OneTimeCode.phone_hash == digest, OneTimeCode.purpose == kind.value,
                   OneTimeCode.closed_at.is_(None))
            .order_by(OneTimeCode.id.desc()).limit(1).with_for_update()
        )
        verdict = judge_code(now=moment, expires_at=row.expires_at if row else None,
                             attempts=row.attempts if row else 0,
                             matches=row is not None and hmac.compare_digest(row.code_hash, submitted),
                             policy=policy)
        attempts_left = 0
        if row is not None and verdict is CodeVerdict.OK:
            row.closed_at = moment
        elif row is not None and verdict is CodeVerdict.WRONG:
            row.attempts += 1
            attempts_left = policy.max_attempts - row.attempts
    if verdict is not CodeVerdict.OK:
        raise verdict_error(verdict, attempts_left)
    return True
