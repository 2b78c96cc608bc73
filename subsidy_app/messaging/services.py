"""SMS use cases: the local gateway (an outbox table), queueing texts as jobs, notifying persons."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from subsidy_app.core.identifiers_trade import normalise_phone
from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.core.personal_data import mask_phone
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.messaging.domain import SmsGateway, check_sms_text, mask_secret
from subsidy_app.messaging.models import SmsMessage

SEND_JOB = "messaging.send_sms"


class LocalSmsGateway:
    """Gateway that "sends" by writing to the sms_message outbox, which staff (and the demo) can read.

    A provider adapter (e.g. a cloud SMS API) is out of scope: it would implement SmsGateway.send,
    pass `request_id` as the provider's idempotency key, and be installed with set_gateway_factory().
    """

    def __init__(self, uow: UnitOfWork, *, request_id: str | None = None, shows_codes: bool = True) -> None:
        self._uow = uow
        self._request_id = request_id
        self._shows_codes = shows_codes

    def send(self, phone: str, text: str, *, purpose: str, masked: str | None = None) -> str:
        """Record the message in the outbox (its code masked unless codes are shown); a request id once."""
        value = normalise_phone(phone)
        session = self._uow.session
        if self._request_id is not None:
            existing = session.scalar(select(SmsMessage.id).where(SmsMessage.request_id == self._request_id))
            if existing is not None:
                return f"local-{existing}"
        cipher = self._uow.cipher
        row = SmsMessage(request_id=self._request_id, phone_hash=cipher.match_hash(value),
                         phone_enc=cipher.encrypt(value), phone_masked=mask_phone(value), purpose=purpose,
                         text=check_sms_text(text if self._shows_codes or masked is None else masked))
        session.add(row)
        self._uow.flush()
        return f"local-{row.id}"


GatewayFactory = Callable[[UnitOfWork, str | None], SmsGateway]


# Whether the local outbox keeps one-time codes readable: the developer's only way to see them, but in
# production anyone who may read the outbox could then sign in as the resident. Set from the settings at start.
_local_outbox = {"shows_codes": True}


def _local_factory(uow: UnitOfWork, request_id: str | None) -> SmsGateway:
    return LocalSmsGateway(uow, request_id=request_id, shows_codes=_local_outbox["shows_codes"])


_factory: list[GatewayFactory] = [_local_factory]


def show_codes_in_local_outbox(shows: bool) -> None:
    """Choose whether the local outbox records one-time codes in clear (development) or masked (production)."""
    _local_outbox["shows_codes"] = shows


def set_gateway_factory(factory: GatewayFactory | None) -> None:
    """Install the gateway jobs send through (None restores the local outbox gateway)."""
    _factory[0] = factory or _local_factory


def gateway(uow: UnitOfWork, *, request_id: str | None = None) -> SmsGateway:
    """Return the configured gateway for this unit of work."""
    return _factory[0](uow, request_id)


def _sealed(uow: UnitOfWork, value: str) -> str:
    return base64.b64encode(uow.cipher.encrypt(value)).decode("ascii")


def queue_sms(uow: UnitOfWork, *, phone: str, text: str, purpose: str, secret: str | None = None) -> OutboxMessage:
    """Queue a text as a job in this transaction: sent once, only if the transaction commits.

    `secret` is a one-time code the text carries: the job payload holds the text with it masked, and the
    whole text only encrypted.
    """
    value = normalise_phone(phone)
    body = check_sms_text(text)
    # The outbox payload is JSON kept after the job runs: carry the phone encrypted, never in clear.
    if secret is None:
        return uow.enqueue(SEND_JOB, phone_enc=_sealed(uow, value), text=body, purpose=purpose)
    return uow.enqueue(SEND_JOB, phone_enc=_sealed(uow, value), text=mask_secret(body, secret),
                       text_enc=_sealed(uow, body), purpose=purpose)


def send_queued(uow: UnitOfWork, *, phone_enc: str, text: str, purpose: str, text_enc: str | None = None) -> str:
    """Send a queued text through the gateway (the job body); the outbox id makes resends harmless."""
    phone = uow.cipher.decrypt(base64.b64decode(phone_enc))
    message_id = uow.context.get("outbox_message_id")
    request_id = f"outbox-{message_id}" if message_id is not None else None
    if text_enc is None:
        return gateway(uow, request_id=request_id).send(phone, text, purpose=purpose)
    whole = uow.cipher.decrypt(base64.b64decode(text_enc))
    return gateway(uow, request_id=request_id).send(phone, whole, purpose=purpose, masked=text)


def notify_person(uow: UnitOfWork, *, person_id: int, text: str, purpose: str) -> int | None:
    """Queue an SMS to a person's phone; return the job id, or None when they gave no phone."""
    phone = persons.person_phone(uow, person_id=person_id)
    if phone is None:
        return None
    message = queue_sms(uow, phone=phone, text=text, purpose=purpose)
    uow.flush()
    return message.id


@dataclass(frozen=True)
class SmsView:
    """An outbox message as staff see it (phone masked)."""

    id: int
    phone: str
    purpose: str
    text: str
    created_at: dt.datetime


def list_outbox(uow: UnitOfWork, *, limit: int = 50, phone: str | None = None) -> list[SmsView]:
    """List the local outbox, newest first, optionally for one phone."""
    stmt = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    if phone:
        stmt = stmt.where(SmsMessage.phone_hash == uow.cipher.match_hash(normalise_phone(phone)))
    return [SmsView(r.id, r.phone_masked, r.purpose, r.text, r.created_at) for r in uow.session.scalars(stmt)]
