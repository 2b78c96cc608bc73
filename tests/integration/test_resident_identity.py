"""Resident identity as a service: a one-time code to the phone entered, then the person found or registered."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update

import subsidy_app.messaging.tasks  # noqa: F401  (registers the send job)
from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import RateLimited, ValidationFailed
from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import residents
from subsidy_app.identity.models import Person
from subsidy_app.messaging import codes, services
from subsidy_app.messaging.models import OneTimeCode
from tests.car_fixtures import resident_id

NAME, PHONE = "周八", "13912347777"
ID_NUMBER = resident_id("14110219850505005")


def _sent_code(uow: UnitOfWork, phone: str = PHONE) -> str:
    found = re.search(r"\d{6}", services.list_outbox(uow, phone=phone, limit=1)[0].text)
    assert found is not None
    return found.group(0)


def _send(uow: UnitOfWork, phone: str = PHONE) -> str:
    residents.send_code(uow, codes=codes, phone=phone)
    uow.commit()
    return _sent_code(uow, "".join(ch for ch in phone if ch.isdigit())[-11:])


def _verify(uow: UnitOfWork, code: str, *, name: str = NAME, id_number: str = ID_NUMBER,
            phone: str = PHONE, **kw: str) -> residents.Resident:
    return residents.verify(uow, codes=codes, actor="resident", name=name, id_number=id_number, phone=phone,
                            code=code, **kw)


def _persons(uow: UnitOfWork) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(Person)) or 0)


def test_send_code_texts_the_normalised_phone_and_keeps_the_code_out_of_the_job_payload(uow: UnitOfWork) -> None:
    residents.send_code(uow, codes=codes, phone="+86 139-1234-7777")
    uow.commit()
    [sms] = services.list_outbox(uow, phone=PHONE)
    code = _sent_code(uow)
    assert sms.phone == "139****7777" and "身份核验验证码" in sms.text
    payload = str(uow.session.scalars(select(OutboxMessage.payload)).all())
    assert code not in payload and PHONE not in payload  # the job payload masks the code, seals the phone
    assert uow.session.scalar(select(OneTimeCode.purpose)) == residents.PURPOSE


def test_a_bad_phone_is_refused_naming_phone_and_sends_nothing(uow: UnitOfWork) -> None:
    with pytest.raises(ValidationFailed) as refused:
        residents.send_code(uow, codes=codes, phone="1234")
    assert "phone" in refused.value.errors
    assert uow.session.scalar(select(func.count()).select_from(OneTimeCode)) == 0


def test_a_second_code_within_a_minute_is_refused_too_soon(uow: UnitOfWork) -> None:
    _send(uow)
    with pytest.raises(RateLimited) as soon:
        residents.send_code(uow, codes=codes, phone=PHONE)
    assert soon.value.reason == "otp.too_soon" and soon.value.status == 429


def test_the_right_code_registers_the_person_and_is_used_up(uow: UnitOfWork) -> None:
    code = _send(uow)
    resident = _verify(uow, code)
    uow.commit()
    person = uow.session.get(Person, resident.person_id)
    assert person is not None and person.id_number_masked.startswith("1411") and person.phone_masked == "139****7777"
    assert resident.phone_hash == uow.cipher.match_hash(PHONE) == person.phone_hash
    assert uow.session.scalar(select(AuditEvent.action).where(
        AuditEvent.entity_type == "person", AuditEvent.entity_id == str(resident.person_id))) == "person.registered"
    with pytest.raises(ValidationFailed) as again:
        _verify(uow, code)
    assert again.value.reason == "otp.expired"  # used up: a replayed code is no proof


def test_a_wrong_code_is_422_on_the_code_field_and_registers_nobody(uow: UnitOfWork) -> None:
    code = _send(uow)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ValidationFailed) as refused:
        _verify(uow, wrong)
    assert refused.value.reason == "otp.wrong" and "code" in refused.value.errors
    assert "4" in refused.value.message and "wrong code" in refused.value.message  # tries left, in zh and en
    assert _persons(uow) == 0
    assert _verify(uow, code).person_id  # the right code still passes after one wrong try


def test_an_expired_code_is_refused_and_registers_nobody(uow: UnitOfWork) -> None:
    code = _send(uow)
    uow.session.execute(update(OneTimeCode).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    uow.commit()
    with pytest.raises(ValidationFailed) as refused:
        _verify(uow, code)
    assert refused.value.reason == "otp.expired" and "code" in refused.value.errors
    assert "expired" in refused.value.message and "过期" in refused.value.message
    assert _persons(uow) == 0


def test_verifying_again_finds_the_same_person(uow: UnitOfWork) -> None:
    first = _verify(uow, _send(uow))
    uow.commit()
    uow.session.execute(update(OneTimeCode).values(created_at=utcnow() - dt.timedelta(minutes=2)))
    second = _verify(uow, _send(uow))  # another visit, another code, the same ID number
    assert second == first and _persons(uow) == 1


def test_a_known_id_number_with_another_name_is_refused(uow: UnitOfWork) -> None:
    _verify(uow, _send(uow))
    uow.commit()
    uow.session.execute(update(OneTimeCode).values(created_at=utcnow() - dt.timedelta(minutes=2)))
    with pytest.raises(ValidationFailed) as refused:
        _verify(uow, _send(uow), name="王五")
    assert refused.value.reason == "person.name_mismatch" and "name" in refused.value.errors


def test_the_till_names_its_own_phone_field(uow: UnitOfWork) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _verify(uow, "123456", phone="12", phone_field="buyer_phone")
    assert "buyer_phone" in refused.value.errors
