"""Purchases of scrap from a seller: lines and the evidence (contract, weighbridge, plate, photos, payment)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from reverse_invoice.domain import line_amount, to_fen
from reverse_invoice.models import Purchase, PurchaseLine
from reverse_invoice.recyclers import check_recycler_scope, get_profile
from reverse_invoice.sellers import get_seller, may_see_seller, require_consent
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import NotFound, ValidationFailed
from subsidy_app.core.identifiers import check_plate
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.documents import services as documents
from subsidy_app.documents.domain import DocumentKind
from subsidy_app.identity.domain import Principal

TAX_CODE = re.compile(r"\d{19}")  # 商品和服务税收分类编码: 19 digits
MAX_LINES = 100
QUANTITY_PLACES = 6


@dataclass(frozen=True)
class LineIn:
    """One purchase line as entered."""

    product_name: str
    tax_code: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    specification: str = ""
    amount: Decimal | None = None


@dataclass(frozen=True)
class Evidence:
    """What proves the purchase happened: contract, transport, photos and the payment to the seller's card."""

    contract_no: str
    weighbridge_ticket: str
    vehicle_plate: str
    photos: tuple[str, ...]
    payment_reference: str
    paid_amount: Decimal
    paid_at: dt.datetime


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _check_line(index: int, line: LineIn) -> Decimal:
    field = f"lines.{index}"
    if not 1 <= len(line.product_name.strip()) <= 100:
        raise ValidationFailed.field(f"{field}.product_name", "品名应为 1–100 个字符 / 1–100 characters")
    if not TAX_CODE.fullmatch(line.tax_code):
        raise ValidationFailed.field(f"{field}.tax_code", "税收分类编码应为 19 位数字 / 19 digits")
    if not 1 <= len(line.unit.strip()) <= 10:
        raise ValidationFailed.field(f"{field}.unit", "单位应为 1–10 个字符 / 1–10 characters")
    if line.quantity <= 0 or _places(line.quantity) > QUANTITY_PLACES:
        raise ValidationFailed.field(f"{field}.quantity", "数量须大于 0,最多 6 位小数 / > 0, at most 6 decimals")
    if line.unit_price < 0 or _places(line.unit_price) > QUANTITY_PLACES:
        raise ValidationFailed.field(f"{field}.unit_price", "单价不能为负,最多 6 位小数 / ≥ 0, at most 6 decimals")
    computed = line_amount(line.quantity, line.unit_price)
    if line.amount is not None and abs(to_fen(line.amount) - computed) > Decimal("0.01"):
        raise ValidationFailed.field(f"{field}.amount", f"金额应为数量×单价 {computed} / amount must be quantity × "
                                     f"unit price ({computed})", reason="purchase.amount_mismatch")
    amount = computed if line.amount is None else to_fen(line.amount)
    if amount <= 0:
        raise ValidationFailed.field(f"{field}.amount", "金额须大于 0 / amount must be positive")
    return amount


def _check_evidence(evidence: Evidence) -> str:
    for name in ("contract_no", "weighbridge_ticket", "payment_reference"):
        value = getattr(evidence, name).strip()
        if not 1 <= len(value) <= 60:
            raise ValidationFailed.field(name, "必填,最多 60 个字符 / required, at most 60 characters",
                                         reason="purchase.evidence_missing")
    if not evidence.photos or any(not 1 <= len(p) <= 300 for p in evidence.photos):
        raise ValidationFailed.field("photos", "至少一张现场照片 / at least one photo",
                                     reason="purchase.evidence_missing")
    if evidence.paid_amount <= 0:
        raise ValidationFailed.field("paid_amount", "付款金额须大于 0 / payment must be positive")
    return check_plate(evidence.vehicle_plate, field="vehicle_plate").value


def record_purchase(
    uow: UnitOfWork, *, principal: Principal, recycler_id: int, seller_id: int, purchased_on: dt.date,
    lines: list[LineIn], evidence: Evidence, intake_ref: str | None = None,
) -> int:
    """Record a purchase from a consenting seller, paid to the seller's own card; return its id."""
    profile = get_profile(uow, recycler_id)
    check_recycler_scope(principal, recycler_id=recycler_id, county_code=profile.county_code, write=True)
    seller = get_seller(uow, seller_id)
    require_consent(uow, seller_id=seller_id, recycler_id=recycler_id)
    if purchased_on > business_date():
        raise ValidationFailed.field("purchased_on", "收购日期不能晚于今天 / cannot be in the future")
    if not 1 <= len(lines) <= MAX_LINES:
        raise ValidationFailed.field("lines", f"应有 1–{MAX_LINES} 行 / 1–{MAX_LINES} lines")
    amounts = [_check_line(i, line) for i, line in enumerate(lines)]
    plate = _check_evidence(evidence)
    ref = intake_ref.strip() if intake_ref else None
    purchase = Purchase(
        recycler_id=recycler_id, seller_id=seller_id, purchased_on=purchased_on, amount=sum(amounts, Decimal("0")),
        contract_no=evidence.contract_no.strip(), weighbridge_ticket=evidence.weighbridge_ticket.strip(),
        vehicle_plate=plate, photos=list(evidence.photos), paid_card_id=seller.bank_card_id,
        payment_reference=evidence.payment_reference.strip(), paid_amount=to_fen(evidence.paid_amount),
        paid_at=evidence.paid_at, intake_ref=ref or None, created_by=principal.actor,
    )
    uow.session.add(purchase)
    uow.flush()
    uow.session.add_all(
        PurchaseLine(purchase_id=purchase.id, line_no=i + 1, product_name=line.product_name.strip(),
                     tax_code=line.tax_code, specification=line.specification.strip(), unit=line.unit.strip(),
                     quantity=line.quantity, unit_price=line.unit_price, amount=amount)
        for i, (line, amount) in enumerate(zip(lines, amounts, strict=True)))
    audit.record(uow, actor=principal.actor, action="reverse_invoice.purchase_recorded", entity_type="ri_purchase",
                 entity_id=purchase.id, after={"recycler_id": recycler_id, "seller_id": seller_id,
                                                "amount": str(purchase.amount), "intake_ref": purchase.intake_ref})
    return purchase.id


def get_purchase(uow: UnitOfWork, purchase_id: int, *, principal: Principal | None = None,
                 lock: bool = False) -> Purchase:
    """Return a purchase within the caller's scope."""
    purchase = uow.session.get(Purchase, purchase_id, with_for_update=lock or None, populate_existing=lock)
    if purchase is None:
        raise NotFound("收购记录不存在 / purchase not found", reason="purchase.not_found")
    if principal is not None:
        profile = get_profile(uow, purchase.recycler_id)
        check_recycler_scope(principal, recycler_id=purchase.recycler_id, county_code=profile.county_code)
    return purchase


def purchase_lines(uow: UnitOfWork, purchase_id: int) -> list[PurchaseLine]:
    """Return a purchase's lines in order."""
    return list(uow.session.scalars(select(PurchaseLine).where(PurchaseLine.purchase_id == purchase_id)
                                    .order_by(PurchaseLine.line_no)))


@dataclass(frozen=True)
class Upload:
    """A file the clerk attached as evidence: a site photo or the weighbridge slip."""

    kind: str  # "photo" or "weighbridge"
    filename: str
    data: bytes


@dataclass(frozen=True)
class EvidenceFile:
    """A stored evidence file of a purchase."""

    document_id: int
    label: str
    filename: str


@dataclass(frozen=True)
class PurchaseDetail:
    """A purchase with its lines and evidence, for its page."""

    purchase: Purchase
    lines: tuple[PurchaseLine, ...]
    files: tuple[EvidenceFile, ...]
    other_photos: tuple[str, ...]  # references the bookkeeping API recorded (not stored here)


EVIDENCE_PREFIX = "document:"
_UPLOAD_KINDS = {"photo": (DocumentKind.PHOTO, "现场照片"), "weighbridge": (DocumentKind.OTHER, "磅单")}


def record_purchase_with_uploads(
    uow: UnitOfWork, *, principal: Principal, recycler_id: int, seller_id: int, purchased_on: dt.date,
    lines: list[LineIn], evidence: Evidence, uploads: list[Upload],
) -> int:
    """Store the uploaded photos and weighbridge slip, then record the purchase naming them; return its id."""
    if not may_see_seller(uow, principal, seller_id):  # another recycler's seller: not even their existence
        raise NotFound("售卖人不存在 / seller not found", reason="seller.not_found")
    if not any(u.kind == "photo" for u in uploads):
        raise ValidationFailed.field("photos", "至少上传一张现场照片 / upload at least one photo",
                                     reason="purchase.evidence_missing")
    refs = []
    for upload in uploads:
        kind, _label = _UPLOAD_KINDS[upload.kind]
        try:
            stored = documents.store_document(uow, actor=principal.actor, kind=kind.value, filename=upload.filename,
                                              data=upload.data, owner_ref=f"ri_recycler:{recycler_id}")
        except ValidationFailed as exc:  # the document service names its field "file": name the form's
            field = "photos" if upload.kind == "photo" else "weighbridge_slip"
            raise ValidationFailed.field(field, "; ".join(m for ms in exc.errors.values() for m in ms) or exc.message,
                                         reason=exc.reason) from None
        refs.append(f"{EVIDENCE_PREFIX}{stored.id}")
    return record_purchase(uow, principal=principal, recycler_id=recycler_id, seller_id=seller_id,
                           purchased_on=purchased_on, lines=lines,
                           evidence=dataclasses.replace(evidence, photos=tuple(refs)))


def _stored_here(uow: UnitOfWork, purchase: Purchase, document_id: int) -> bool:
    """Tell whether a document was uploaded as this recycler's evidence (the API takes any text as a photo
    reference, so "document:<id>" alone must never open someone else's scan)."""
    try:
        return documents.document_owner(uow, document_id) == f"ri_recycler:{purchase.recycler_id}"
    except NotFound:
        return False


def purchase_detail(uow: UnitOfWork, *, principal: Principal, purchase_id: int) -> PurchaseDetail:
    """Return a purchase in the caller's scope with its lines and evidence files."""
    purchase = get_purchase(uow, purchase_id, principal=principal)
    files, others = [], []
    for ref in purchase.photos:
        key = str(ref).removeprefix(EVIDENCE_PREFIX)
        if str(ref).startswith(EVIDENCE_PREFIX) and key.isdigit() and _stored_here(uow, purchase, int(key)):
            doc = documents.get_document(uow, document_id=int(key))
            label = "磅单" if doc.kind == DocumentKind.OTHER.value else "现场照片"
            files.append(EvidenceFile(doc.id, label, doc.filename))
        else:
            others.append(str(ref))
    return PurchaseDetail(purchase, tuple(purchase_lines(uow, purchase_id)), tuple(files), tuple(others))


def evidence_file(uow: UnitOfWork, *, principal: Principal, purchase_id: int, document_id: int
                  ) -> documents.DocumentContent:
    """Return one evidence file of a purchase in the caller's scope."""
    purchase = get_purchase(uow, purchase_id, principal=principal)
    if f"{EVIDENCE_PREFIX}{document_id}" not in purchase.photos or not _stored_here(uow, purchase, document_id):
        raise NotFound("材料不存在 / document not found", reason="document.not_found")
    return documents.load_document(uow, document_id=document_id)


def list_purchases(uow: UnitOfWork, *, principal: Principal, recycler_id: int, state: str | None = None,
                   seller_id: int | None = None, offset: int = 0, limit: int = 50) -> tuple[list[Purchase], int]:
    """List a recycler's purchases, newest first, one page, with the total count."""
    profile = get_profile(uow, recycler_id)
    check_recycler_scope(principal, recycler_id=recycler_id, county_code=profile.county_code)
    where = [Purchase.recycler_id == recycler_id]
    if state is not None:
        where.append(Purchase.state == state)
    if seller_id is not None:
        where.append(Purchase.seller_id == seller_id)
    total = int(uow.session.scalar(select(func.count()).select_from(Purchase).where(*where)) or 0)
    rows = uow.session.scalars(select(Purchase).where(*where).order_by(Purchase.id.desc()).offset(offset)
                               .limit(limit))
    return list(rows), total
