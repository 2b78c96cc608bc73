"""Issuing and revoking scrap certificates, their QR verification and their staff and public views."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from recycling.domain import CATEGORIES, Domain, IntakeSource, QualificationKind
from recycling.intake import IntakeDraft, live_intake_for_certificate, record_intake, reverse_intake
from recycling.models import ScrapCertificate, Site
from recycling.paging import PAGE_SIZE, Page, offset, within
from recycling.site_kinds import SiteKind
from recycling.sites import licence_for, recycler
from recycling.visibility import may_see_certificate
from subsidy_app.audit import services as audit
from subsidy_app.core import constraints
from subsidy_app.core.clock import business_date, day_start
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.identifiers import check_credit_code, check_plate, normalise_resident_id, normalise_vin
from subsidy_app.core.identifiers_trade import normalise_phone
from subsidy_app.core.personal_data import mask_middle, mask_name, mask_phone, mask_resident_id
from subsidy_app.core.qr import read_printed, sign_printed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import Principal
from subsidy_app.identity.organisations import ids_in_counties, organisation_name

QR_PURPOSE = "scrap-certificate"
# Fuel type codes of the certificate form (DOMAIN §3); codes 5–7 and Z follow GA 24.9 *(unconfirmed)*.
FUEL_TYPES = {"1": "汽油", "2": "柴油", "3": "液化石油气", "4": "天然气", "5": "双燃料", "6": "甲醇", "7": "乙醇",
              "8": "混合动力", "9": "纯电动", "A": "氢燃料", "Z": "其他"}
STATE_LABELS = {"issued": "有效（未使用）", "used": "已用于补贴申请", "revoked": "已作废"}


@dataclass(frozen=True)
class CertificateDraft:
    """The fields of a scrap certificate (DOMAIN §3)."""

    number: str
    owner_name: str
    owner_id_number: str
    handover_date: dt.date
    first_registration_date: dt.date
    plate: str
    vehicle_type: str
    use_type: str
    make_model: str
    vin: str
    curb_weight_kg: Decimal
    fuel_type: str
    engine_number: str
    owner_kind: str = "person"
    phone: str | None = None
    address: str | None = None
    battery_code: str | None = None
    site_id: int | None = None


@dataclass(frozen=True)
class CertificateView:
    """A certificate as staff see it (personal data masked)."""

    id: int
    number: str
    dismantler_org_id: int
    state: str
    owner_name: str
    owner_id_number: str
    phone: str | None
    handover_date: dt.date
    first_registration_date: dt.date
    plate: str
    vehicle_type: str
    use_type: str
    make_model: str
    vin: str
    curb_weight_kg: Decimal
    fuel_type: str
    engine_number: str
    battery_code: str | None
    licence_valid_on_issue: bool
    used_by_ref: str | None
    revoked_reason: str | None
    issued_at: dt.datetime


@dataclass(frozen=True)
class PublicCertificate:
    """What the public verification page may show: genuine, state, masked details, nothing more."""

    number: str
    dismantler_name: str
    state: str
    state_label: str
    handover_date: dt.date
    vin_masked: str
    owner_name_masked: str
    owner_id_masked: str


def _owner_id(draft: CertificateDraft) -> str:
    if draft.owner_kind == "person":
        return normalise_resident_id(draft.owner_id_number, field="owner_id_number")
    if draft.owner_kind == "organisation":
        return check_credit_code(draft.owner_id_number, field="owner_id_number").value
    raise ValidationFailed.field("owner_kind", "车主类型应为 person 或 organisation / owner_kind must be person or "
                                               "organisation")


def _check(draft: CertificateDraft, today: dt.date) -> None:
    if not draft.number.strip() or len(draft.number.strip()) > 60:
        raise ValidationFailed.field("number", "证明编号应为 1–60 个字符 / number must be 1–60 characters")
    if len(" ".join(draft.owner_name.split())) < 2:
        raise ValidationFailed.field("owner_name", "车主姓名/名称不能为空 / owner name is required")
    if draft.handover_date > today:
        raise ValidationFailed.field("handover_date", "交车日期不能晚于今天 / hand-over date is in the future")
    if draft.first_registration_date > draft.handover_date:
        raise ValidationFailed.field("first_registration_date", "初次登记日期晚于交车日期 / first registration "
                                                                "after hand-over")
    if draft.vehicle_type not in CATEGORIES or CATEGORIES[draft.vehicle_type][0] != Domain.VEHICLES:
        raise ValidationFailed.field("vehicle_type", "车辆类型应为 vehicle.* 品类 / vehicle_type must be a vehicle "
                                                     "category")
    if len(draft.use_type) != 1 or not draft.use_type.isalpha() or not draft.use_type.isupper():
        raise ValidationFailed.field("use_type", "使用性质应为一个大写字母（A 非营运…）/ use_type is one letter")
    if draft.fuel_type not in FUEL_TYPES:
        raise ValidationFailed.field("fuel_type", "燃料种类代码无效 / unknown fuel type code")
    if draft.curb_weight_kg <= 0:
        raise ValidationFailed.field("curb_weight_kg", "整备质量应大于零 / curb weight must be positive")
    if not draft.engine_number.strip() or not draft.make_model.strip():
        raise ValidationFailed.field("engine_number", "发动机号和品牌型号不能为空 / engine number and model required")
    if draft.fuel_type == "9" and not (draft.battery_code or "").strip():
        raise ValidationFailed.field("battery_code", "纯电动车须填写动力蓄电池编码 / an electric vehicle needs its "
                                                     "traction-battery code")


def _site_for(uow: UnitOfWork, org_id: int, site_id: int | None) -> Site:
    stmt = select(Site).where(Site.organisation_id == org_id, Site.active.is_(True))
    if site_id is not None:
        stmt = stmt.where(Site.id == site_id)
    else:  # the first site that takes vehicles in (a renewable-resource point does not)
        stmt = stmt.where(Site.kind != SiteKind.RENEWABLE.value).order_by(Site.id)
    site = uow.session.scalar(stmt)
    if site is None:
        raise ValidationFailed.field("site_id", "请先登记本企业的拆解场地 / register the dismantling site first",
                                     reason="site.not_found")
    return site


def _refuse_clash(uow: UnitOfWork, *, dismantler_org_id: int, number: str, vin: str) -> None:
    """Refuse a number this dismantler already issued, or a VIN with a live certificate (naming its number)."""
    if uow.session.scalar(select(ScrapCertificate.id).where(ScrapCertificate.dismantler_org_id == dismantler_org_id,
                                                            ScrapCertificate.number == number)) is not None:
        raise Conflict("证明编号已使用 / this certificate number was already issued", reason="certificate.duplicate")
    live = uow.session.scalar(select(ScrapCertificate.number).where(ScrapCertificate.vin == vin,
                                                                    ScrapCertificate.state != "revoked"))
    if live is not None:
        raise Conflict(f"该车辆已出具回收证明(编号 {live}),作废后才能重开 / this VIN already has live certificate "
                       f"{live}; revoke it before issuing another", reason="certificate.vin_already_certified",
                       errors={"vin": [f"已有回收证明 {live} / live certificate {live}"]})


def issue_certificate(uow: UnitOfWork, *, actor: str, dismantler_org_id: int, draft: CertificateDraft,
                      today: dt.date | None = None) -> int:
    """Issue a certificate (licence valid today, VIN and owner ID checked) and record the vehicle as recovered."""
    day = today or business_date()
    recycler(uow, dismantler_org_id)
    licence, valid = licence_for(uow, organisation_id=dismantler_org_id, kind=QualificationKind.DISMANTLING, on=day)
    if licence is None or not valid:
        raise Conflict("拆解资质不存在或已过期，不能出具回收证明 / no valid dismantling licence: can't issue",
                       reason="certificate.licence_invalid")
    _check(draft, day)
    vin = normalise_vin(draft.vin, field="vin")
    plate = check_plate(draft.plate, field="plate").value
    owner_id = _owner_id(draft)
    phone = normalise_phone(draft.phone, field="phone") if draft.phone else None
    number = draft.number.strip()
    _refuse_clash(uow, dismantler_org_id=dismantler_org_id, number=number, vin=vin)
    site = _site_for(uow, dismantler_org_id, draft.site_id)
    cipher = uow.cipher
    name = " ".join(draft.owner_name.split())
    row = ScrapCertificate(
        dismantler_org_id=dismantler_org_id, qualification_id=licence.id, licence_valid_on_issue=valid,
        number=number, verify_key=secrets.token_urlsafe(18)[:24], state="issued", owner_kind=draft.owner_kind,
        owner_name_enc=cipher.encrypt(name), owner_name_masked=mask_name(name)[:100],
        owner_id_hash=cipher.match_hash(owner_id), owner_id_enc=cipher.encrypt(owner_id),
        owner_id_masked=mask_resident_id(owner_id), phone_enc=cipher.encrypt(phone) if phone else None,
        phone_masked=mask_phone(phone) if phone else None,
        address_enc=cipher.encrypt(draft.address.strip()) if draft.address else None,
        handover_date=draft.handover_date, first_registration_date=draft.first_registration_date, plate=plate,
        vehicle_type=draft.vehicle_type, use_type=draft.use_type, make_model=draft.make_model.strip()[:100],
        vin=vin, curb_weight_kg=draft.curb_weight_kg, fuel_type=draft.fuel_type,
        engine_number=draft.engine_number.strip()[:40], battery_code=(draft.battery_code or "").strip() or None,
        site_id=site.id, issued_by=actor)
    # The unique indexes decide a race the check above can't see; the savepoint keeps the transaction usable
    # to name the winner's certificate.
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
            uow.session.flush()
    except IntegrityError as exc:
        _refuse_clash(uow, dismantler_org_id=dismantler_org_id, number=number, vin=vin)
        raise constraints.error_for(exc) from None
    audit.record(uow, actor=actor, action="certificate.issued", entity_type="scrap_certificate", entity_id=row.id,
                 after={"number": number, "vin": vin, "owner": row.owner_id_masked, "licence": licence.number})
    source = IntakeSource.RESIDENT if draft.owner_kind == "person" else IntakeSource.INSTITUTION
    record_intake(uow, actor=actor, acting_org_id=dismantler_org_id, draft=IntakeDraft(
        site_id=site.id, source=source.value, category=draft.vehicle_type, units=1, weight_kg=draft.curb_weight_kg,
        occurred_on=draft.handover_date, certificate_id=row.id, note=f"回收证明 {number}"))
    return row.id


def revoke_certificate(uow: UnitOfWork, *, actor: str, dismantler_org_id: int | None, certificate_id: int,
                       reason: str) -> None:
    """Revoke an unused certificate with a reason; its vehicle intake is reversed."""
    if not reason.strip():
        raise ValidationFailed.field("reason", "作废须说明原因 / a revocation needs a reason")
    row = uow.session.get(ScrapCertificate, certificate_id)
    if row is None or (dismantler_org_id is not None and row.dismantler_org_id != dismantler_org_id):
        raise NotFound("回收证明不存在 / scrap certificate not found", reason="certificate.not_found")
    result = uow.session.execute(
        update(ScrapCertificate).where(ScrapCertificate.id == certificate_id, ScrapCertificate.state == "issued")
        .values(state="revoked", revoked_reason=reason.strip()[:200], revoked_at=utcnow()))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise Conflict("回收证明已使用或已作废，不能作废 / only an unused certificate can be revoked",
                       reason="certificate.not_revocable")
    audit.record(uow, actor=actor, action="certificate.revoked", entity_type="scrap_certificate",
                 entity_id=certificate_id, after={"reason": reason.strip()})
    intake = live_intake_for_certificate(uow, certificate_id)
    if intake is not None:
        reverse_intake(uow, actor=actor, acting_org_id=None, intake_id=intake.id, reason=f"回收证明作废：{reason}")


def certificate_view(uow: UnitOfWork, *, certificate_id: int, principal: Principal | None) -> CertificateView:
    """Show a certificate to staff who may see its dismantler (personal data masked)."""
    row = uow.session.get(ScrapCertificate, certificate_id)
    if row is None or not may_see_certificate(uow, principal, row):
        raise NotFound("回收证明不存在 / scrap certificate not found", reason="certificate.not_found")
    return _view(row)


def _view(row: ScrapCertificate) -> CertificateView:
    return CertificateView(
        row.id, row.number, row.dismantler_org_id, row.state, row.owner_name_masked, row.owner_id_masked,
        row.phone_masked, row.handover_date, row.first_registration_date, row.plate, row.vehicle_type, row.use_type,
        row.make_model, row.vin, row.curb_weight_kg, row.fuel_type, row.engine_number, row.battery_code,
        row.licence_valid_on_issue, row.used_by_ref, row.revoked_reason, row.issued_at)


def _scoped(stmt: Select[ScrapCertificate], principal: Principal | None) -> Select[ScrapCertificate]:
    """Narrow a query of certificates to the caller's own recycler, or their counties' recyclers."""
    if principal is not None and principal.organisation_kind is not None \
            and principal.organisation_kind.value in ("recycler", "dealer"):
        return stmt.where(ScrapCertificate.dismantler_org_id == principal.organisation_id)
    if principal is not None and not principal.all_counties:
        return stmt.where(ScrapCertificate.dismantler_org_id.in_(ids_in_counties(principal.counties)))
    return stmt


def list_certificates(uow: UnitOfWork, *, principal: Principal | None, state: str | None = None,
                      limit: int = 200) -> list[CertificateView]:
    """List certificates the caller may see, newest first."""
    stmt = _scoped(select(ScrapCertificate), principal).order_by(ScrapCertificate.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(ScrapCertificate.state == state)
    return [_view(r) for r in uow.session.scalars(stmt)]


@dataclass(frozen=True)
class CertificateFilter:
    """What the certificate list is narrowed to: a state, Beijing issue days (inclusive), a number or VIN part."""

    state: str | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    search: str = ""


def certificate_page(uow: UnitOfWork, *, principal: Principal | None, number: int,
                     where: CertificateFilter | None = None) -> Page[CertificateView]:
    """One page of the certificates the caller may see, newest first, with their count."""
    where = where or CertificateFilter()
    if where.state is not None and where.state not in STATE_LABELS:
        raise ValidationFailed.field("state", "未知状态 / unknown state")
    if where.issued_from and where.issued_to and where.issued_to < where.issued_from:
        raise ValidationFailed.field("issued_to", "截止日期早于起始日期 / the end is before the start")
    stmt = _scoped(select(ScrapCertificate), principal)
    if where.state:
        stmt = stmt.where(ScrapCertificate.state == where.state)
    if where.issued_from:
        stmt = stmt.where(ScrapCertificate.issued_at >= day_start(where.issued_from))
    if where.issued_to:  # the whole last day: up to the next Beijing midnight
        stmt = stmt.where(ScrapCertificate.issued_at < day_start(where.issued_to + dt.timedelta(days=1)))
    text = where.search.strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(ScrapCertificate.number.ilike(pattern, escape="\\"),
                              ScrapCertificate.vin.ilike(pattern, escape="\\")))
    total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    number = within(number, total)
    rows = uow.session.scalars(stmt.order_by(ScrapCertificate.id.desc()).offset(offset(number)).limit(PAGE_SIZE))
    return Page([_view(r) for r in rows], total, number)


def verification_token(uow: UnitOfWork, *, certificate_id: int, secret_key: str) -> str:
    """Sign the lasting code a certificate's QR carries (its random key, never its id); revoking it shows there."""
    row = uow.session.get(ScrapCertificate, certificate_id)
    if row is None:
        raise NotFound("回收证明不存在 / scrap certificate not found", reason="certificate.not_found")
    return sign_printed(secret_key, QR_PURPOSE, {"k": row.verify_key})


def verify_public(uow: UnitOfWork, *, token: str, secret_key: str) -> PublicCertificate:
    """Check a certificate's printed code (of any age) and return what the public may see of it, state included."""
    payload = read_printed(secret_key, QR_PURPOSE, token, formerly_expiring=True)
    row = uow.session.scalar(select(ScrapCertificate).where(ScrapCertificate.verify_key == str(payload.get("k"))))
    if row is None:
        raise NotFound("查无此回收证明 / no such certificate", reason="certificate.not_found")
    name = organisation_name(uow, row.dismantler_org_id) or ""
    return PublicCertificate(row.number, name, row.state, STATE_LABELS[row.state], row.handover_date,
                             mask_middle(row.vin, 4, 4), row.owner_name_masked, row.owner_id_masked)
