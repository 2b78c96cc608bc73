"""The buyer's identity at the till: an ID number with a one-time code, or a signed confirmation from the phone."""

from __future__ import annotations

from dataclasses import dataclass

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.qr import read_token, sign_token
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import residents
from subsidy_app.messaging import codes

CONFIRM_PURPOSE = "appliance-buyer"
CONFIRM_SECONDS = 30 * 60  # the resident confirms at the counter; the till uses it within half an hour


@dataclass(frozen=True)
class Buyer:
    """A verified buyer: the person and the keyed hash of their phone (for fraud signals)."""

    person_id: int
    phone_hash: str | None


def send_code(uow: UnitOfWork, *, phone: str) -> None:
    """Send the buyer at the till a one-time code (the identity step of the resident pages)."""
    residents.send_code(uow, codes=codes, phone=phone)


def verify_by_code(uow: UnitOfWork, *, actor: str, name: str, id_number: str, phone: str, code: str) -> Buyer:
    """Check the one-time code sent to the buyer's phone, then find or register the person."""
    resident = residents.verify(uow, codes=codes, actor=actor, name=name, id_number=id_number, phone=phone,
                                code=code, phone_field="buyer_phone")
    return Buyer(resident.person_id, resident.phone_hash)


def confirmation_token(secret_key: str, *, person_id: int, store_id: int, phone_hash: str | None) -> str:
    """Sign what the resident's phone shows the clerk after confirming identity at a store."""
    return sign_token(secret_key, CONFIRM_PURPOSE, {"p": person_id, "s": store_id, "h": phone_hash}, max_age_days=1)


def from_confirmation(secret_key: str, *, token: str, store_id: int) -> Buyer:
    """Read a resident's confirmation; it is valid only at the store it was given for, for half an hour."""
    payload = read_token(secret_key, CONFIRM_PURPOSE, token, max_age_seconds=CONFIRM_SECONDS)
    if payload.get("s") != store_id or not isinstance(payload.get("p"), int):
        raise ValidationFailed.field("buyer_token", "确认码不属于本门店 / the confirmation is for another store",
                                     reason="buyer.wrong_store")
    phone_hash = payload.get("h")
    return Buyer(int(payload["p"]), str(phone_hash) if phone_hash else None)


def resolve(uow: UnitOfWork, *, secret_key: str, actor: str, store_id: int, token: str | None, name: str | None,
            id_number: str | None, phone: str | None, code: str | None) -> Buyer | None:
    """Return the till's buyer: from the phone's confirmation, else by ID number and code; None when neither."""
    if token:
        return from_confirmation(secret_key, token=token, store_id=store_id)
    if id_number:
        missing = [f for f, v in (("buyer_name", name), ("buyer_phone", phone), ("buyer_code", code)) if not v]
        if missing:
            raise ValidationFailed.field(missing[0], "按身份证核验须同时提供姓名、手机号和验证码 / name, phone and "
                                                     "code are needed with the ID number", reason="buyer.incomplete")
        assert name and phone and code
        return verify_by_code(uow, actor=actor, name=name, id_number=id_number, phone=phone, code=code)
    return None
