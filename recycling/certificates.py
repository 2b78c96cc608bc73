"""Scrap certificates as the subsidy side sees them: facts, lookup, consume and release (atomic)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update

from recycling.models import ScrapCertificate
from subsidy_app.audit import services as audit
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork

SUBSIDY_ACTOR = "system:applications"


@dataclass(frozen=True)
class CertificateFacts:
    """What a subsidy check needs to know about a scrap certificate (no clear personal data)."""

    id: int
    number: str
    dismantler_org_id: int
    licence_valid_on_issue: bool
    state: str  # issued | used | revoked
    owner_kind: str  # person | organisation
    owner_id_hash: str  # keyed hash, comparable with identity's person id_number_hash
    vin: str
    plate: str
    first_registration_date: dt.date
    fuel_type: str
    vehicle_type: str
    handover_date: dt.date
    used_by_ref: str | None


def _get(uow: UnitOfWork, certificate_id: int) -> ScrapCertificate:
    row = uow.session.get(ScrapCertificate, certificate_id)
    if row is None:
        raise NotFound("回收证明不存在 / scrap certificate not found", reason="certificate.not_found")
    return row


def certificate_facts(uow: UnitOfWork, *, certificate_id: int) -> CertificateFacts:
    """Return a certificate's facts for eligibility checks."""
    row = _get(uow, certificate_id)
    return CertificateFacts(row.id, row.number, row.dismantler_org_id, row.licence_valid_on_issue, row.state,
                            row.owner_kind, row.owner_id_hash, row.vin, row.plate, row.first_registration_date,
                            row.fuel_type, row.vehicle_type, row.handover_date, row.used_by_ref)


def find_certificate(uow: UnitOfWork, *, dismantler_org_id: int | None, number: str) -> int | None:
    """Return the id of the certificate with this number (from this dismantler, when given)."""
    stmt = select(ScrapCertificate.id).where(ScrapCertificate.number == number.strip())
    if dismantler_org_id is not None:
        stmt = stmt.where(ScrapCertificate.dismantler_org_id == dismantler_org_id)
    ids = list(uow.session.scalars(stmt.limit(2)))
    if len(ids) > 1:
        # Numbers are unique per dismantler only: without the dismantler the answer would be a guess.
        raise Conflict("多家拆解企业使用该编号，请指明拆解企业 / several dismantlers use this number, name one",
                       reason="certificate.ambiguous")
    return ids[0] if ids else None


def _ref(application_ref: str) -> str:
    ref = application_ref.strip()
    if not ref or len(ref) > 80:
        raise ValidationFailed.field("application_ref", "申请编号应为 1–80 个字符 / application_ref must be 1–80 "
                                                        "characters")
    return ref


def consume_certificate(uow: UnitOfWork, *, certificate_id: int, application_ref: str,
                        actor: str = SUBSIDY_ACTOR) -> None:
    """Mark a certificate used by an application: issued → used, or Conflict if it is not issued.

    One conditional UPDATE decides: under concurrency PostgreSQL re-checks `state = 'issued'` on the
    newest row version after the first writer commits, so exactly one caller gets the row.
    """
    ref = _ref(application_ref)
    locked: dict[int, ScrapCertificate] = uow.tx_cache.get(_LOCKED_CERTIFICATES, {})
    if certificate_id in locked:
        _use_locked(uow, locked[certificate_id], ref, actor)
        return
    table = ScrapCertificate.__table__
    # ORM-enabled UPDATE: it autoflushes first and refreshes a copy already loaded in this session.
    result = uow.session.execute(
        update(ScrapCertificate).where(table.c.id == certificate_id, table.c.state == "issued")
        .values(state="used", used_by_ref=ref, used_at=utcnow())
        # "fetch" refreshes only the matched row; the default evaluates every object in the session (a batch
        # approval holds thousands).
        .execution_options(synchronize_session="fetch"))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        state = uow.session.scalar(select(table.c.state).where(table.c.id == certificate_id))
        if state is None:
            raise NotFound("回收证明不存在 / scrap certificate not found", reason="certificate.not_found")
        if state == "revoked":
            raise Conflict("回收证明已作废 / the certificate was revoked", reason="certificate.revoked")
        raise Conflict("回收证明已被其他申请使用 / the certificate is already used", reason="certificate.already_used")
    audit.record(uow, actor=actor, action="certificate.used", entity_type="scrap_certificate",
                 entity_id=certificate_id, after={"application": ref})


_LOCKED_CERTIFICATES = "certificates.locked"


def lock_many(uow: UnitOfWork, *, certificate_ids: list[int]) -> None:
    """Lock many certificates (in id order) for this transaction, so consuming each needs no statement of its own.

    Holding the row lock decides a race exactly as the conditional UPDATE does: nobody else can use a
    certificate between our reading it as issued and our commit.
    """
    rows = uow.session.scalars(select(ScrapCertificate).where(ScrapCertificate.id.in_(set(certificate_ids)))
                               .order_by(ScrapCertificate.id).with_for_update()
                               .execution_options(populate_existing=True))
    uow.tx_cache.setdefault(_LOCKED_CERTIFICATES, {}).update({c.id: c for c in rows})


def _use_locked(uow: UnitOfWork, certificate: ScrapCertificate, ref: str, actor: str) -> None:
    if certificate.state == "revoked":
        raise Conflict("回收证明已作废 / the certificate was revoked", reason="certificate.revoked")
    if certificate.state != "issued":
        raise Conflict("回收证明已被其他申请使用 / the certificate is already used", reason="certificate.already_used")
    certificate.state, certificate.used_by_ref, certificate.used_at = "used", ref, utcnow()
    audit.record(uow, actor=actor, action="certificate.used", entity_type="scrap_certificate",
                 entity_id=certificate.id, after={"application": ref})


def release_certificate(uow: UnitOfWork, *, certificate_id: int, application_ref: str,
                        actor: str = SUBSIDY_ACTOR) -> None:
    """Give a certificate back when its application is rejected or withdrawn: used → issued (idempotent)."""
    ref = _ref(application_ref)
    table = ScrapCertificate.__table__
    result = uow.session.execute(
        update(ScrapCertificate).where(table.c.id == certificate_id, table.c.state == "used",
                                       table.c.used_by_ref == ref)
        .values(state="issued", used_by_ref=None, used_at=None))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        row = uow.session.execute(select(table.c.state, table.c.used_by_ref).where(table.c.id == certificate_id)
                                  ).first()
        if row is None:
            raise NotFound("回收证明不存在 / scrap certificate not found", reason="certificate.not_found")
        if row.state == "issued":
            return  # already released: a retried rejection is harmless
        raise Conflict("回收证明未被该申请使用 / the certificate is not used by this application",
                       reason="certificate.not_used_by")
    audit.record(uow, actor=actor, action="certificate.released", entity_type="scrap_certificate",
                 entity_id=certificate_id, after={"application": ref})


def preload(uow: UnitOfWork, *, certificate_ids: list[int]) -> list[object]:
    """Load many certificates into the session at once; the caller keeps the result referenced while it works."""
    if not certificate_ids:
        return []
    return list(uow.session.scalars(select(ScrapCertificate).where(ScrapCertificate.id.in_(set(certificate_ids)))))


@dataclass(frozen=True)
class LiveCertificate:
    """One of several live certificates for one VIN (issued before the database refused a second)."""

    vin: str
    id: int
    number: str
    dismantler_org_id: int
    state: str
    issued_at: dt.datetime


def live_duplicates(uow: UnitOfWork) -> list[LiveCertificate]:
    """Every live (issued or used) certificate whose VIN has another live one, oldest first per VIN."""
    twice = (select(ScrapCertificate.vin).where(ScrapCertificate.state != "revoked")
             .group_by(ScrapCertificate.vin).having(func.count() > 1))
    rows = uow.session.scalars(select(ScrapCertificate).where(
        ScrapCertificate.state != "revoked", ScrapCertificate.vin.in_(twice))
        .order_by(ScrapCertificate.vin, ScrapCertificate.issued_at, ScrapCertificate.id))
    return [LiveCertificate(r.vin, r.id, r.number, r.dismantler_org_id, r.state, r.issued_at) for r in rows]
