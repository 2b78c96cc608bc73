"""What an application holds besides money: its quota unit and, for scrap-renewal, the scrap certificate."""

from __future__ import annotations

from recycling import certificates
from subsidy_app.applications.models import Application
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import budget, quotas


def prepare_batch(uow: UnitOfWork, *, apps: list[Application]) -> None:
    """Before approving many applications: look up their reservations and lock their holds and certificates at once."""
    references = [a.number for a in apps]
    budget.preload_reservations(uow, references)
    quotas.lock_holds(uow, references)
    certificates.lock_many(uow, certificate_ids=[a.certificate_id for a in apps if a.certificate_id is not None])


def consume(uow: UnitOfWork, *, app: Application, actor: str) -> None:
    """On approval: confirm the quota unit and mark the certificate used."""
    quotas.confirm_quota(uow, reference=app.number, actor=actor)
    if app.certificate_id is not None:
        certificates.consume_certificate(uow, certificate_id=app.certificate_id, application_ref=app.number)


def release(uow: UnitOfWork, *, app: Application, actor: str, consumed: bool) -> None:
    """On rejection or withdrawal: give the quota unit back, and the certificate if approval had used it."""
    quotas.release_quota(uow, reference=app.number, actor=actor)
    if consumed and app.certificate_id is not None:
        certificates.release_certificate(uow, certificate_id=app.certificate_id, application_ref=app.number)
