"""Resident identity: a one-time code to the phone entered, then the person found or registered by ID number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from subsidy_app.core.errors import FieldErrors
from subsidy_app.core.identifiers import normalise_resident_id
from subsidy_app.core.identifiers_trade import normalise_phone
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons

PURPOSE = "verify_identity"  # messaging's OtpPurpose.VERIFY_IDENTITY: the code proves who applies or buys


class OneTimeCodes(Protocol):
    """Issues and checks one-time codes by SMS (`subsidy_app.messaging.codes` is the one implementation).

    Passed in rather than imported: messaging already builds on identity (it looks up a person's phone to
    notify them), so identity importing messaging would make the two packages depend on each other.
    """

    def request_code(self, uow: UnitOfWork, *, phone: str, purpose: str) -> None:
        """Issue a code for the phone and queue its SMS; refuse too many or too soon (429)."""

    def verify_code(self, uow: UnitOfWork, *, phone: str, purpose: str, code: str) -> object:
        """Use up the code if right; else raise otp.wrong / otp.expired (422, field `code`) or otp.locked (409)."""


@dataclass(frozen=True)
class Resident:
    """A verified resident: the person and the keyed hash of the phone they proved (for fraud signals)."""

    person_id: int
    phone_hash: str


def check_identity(*, name: str, id_number: str, phone: str, code: str | None = None,
                   phone_field: str = "phone") -> str:
    """Check the form of every identity field at once (each refusal names its field) and return the phone's digits.

    Only the form is judged here: whether the ID number is known is looked at after the code (see verify).
    """
    errors = FieldErrors()
    errors.value(lambda: persons.clean_name(name), "")
    errors.value(lambda: normalise_resident_id(id_number, field="id_number"), "")
    value = errors.value(lambda: normalise_phone(phone, field=phone_field), "")
    if code is not None and not code.strip():
        errors.add("code", "请输入短信验证码 / enter the code sent by SMS", reason="otp.wrong")
    errors.raise_any()
    return value


def send_code(uow: UnitOfWork, *, codes: OneTimeCodes, phone: str, name: str | None = None,
              id_number: str | None = None) -> None:
    """Send a one-time code to the phone entered; a bad number is refused naming `phone` (with the name and ID
    number when given, so a form learns of all its bad fields at once)."""
    if name is None or id_number is None:
        value = normalise_phone(phone, field="phone")
    else:
        value = check_identity(name=name, id_number=id_number, phone=phone)
    codes.request_code(uow, phone=value, purpose=PURPOSE)


def verify(
    uow: UnitOfWork, *, codes: OneTimeCodes, actor: str, name: str, id_number: str, phone: str, code: str,
    phone_field: str = "phone",
) -> Resident:
    """Check the code sent to the phone, then find or register the person (same ID number, same person)."""
    value = check_identity(name=name, id_number=id_number, phone=phone, code=code, phone_field=phone_field)
    # The code is checked (a failed try counted durably) before the person is looked at, so a wrong code
    # tells nothing about whether the ID number is known; it raises rather than returning False.
    codes.verify_code(uow, phone=value, purpose=PURPOSE, code=code)
    person_id = persons.register_person(uow, actor=actor, name=name, id_number=id_number, phone=value)
    return Resident(person_id, uow.cipher.match_hash(value))
