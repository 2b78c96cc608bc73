"""Bulk sales files: every row validated and evaluated through the till's path; a re-upload changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from subsidy_app.appliances import selling
from subsidy_app.appliances.buyer import Buyer
from subsidy_app.appliances.domain import RowError, SaleMode, parse_money
from subsidy_app.appliances.models import BulkUpload, Store
from subsidy_app.appliances.tables import header_index, iter_rows
from subsidy_app.audit import services as audit
from subsidy_app.core.errors import DomainError, NotFound
from subsidy_app.core.jobs import set_progress
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.identity.domain import OrgKind, Principal
from subsidy_app.rules.ruleset import RuleVersion

JOB = "appliances.process_bulk"
SYNC_ROWS = 2000  # larger files run as a job the dealer polls
# Rows per transaction: the county's budget pool is never locked for long, and each transaction stays under
# PostgreSQL's 64 cached subtransactions (one savepoint per row), past which every snapshot check slows down.
CHUNK = 50
COLUMNS: dict[str, tuple[str, ...]] = {
    "gtin": ("商品条码",), "serial_number": ("序列号", "IMEI", "序列号/IMEI"), "price": ("成交价", "价格"),
    "invoice_number": ("发票号码",), "sold_on": ("销售日期",), "buyer_name": ("购买人姓名",),
    "buyer_id_number": ("购买人身份证号",), "buyer_phone": ("购买人手机号",),
}
OPTIONAL = {"invoice_code": ("发票代码",), "delivery_address": ("送货地址",)}
# Which column a refusal points at, by its reason.
REASON_FIELD = {"device.already_subsidised": "serial_number", "invoice.already_subsidised": "invoice_number",
                "quota.exhausted": "buyer_id_number", "product.not_in_catalogue": "gtin", "rules.no_version": "sold_on",
                "rule.price.unit_ceiling": "price", "rule.energy_grade.allowed": "gtin",
                "dealer.not_approved": "gtin", "person.name_mismatch": "buyer_name"}


@dataclass(frozen=True)
class UploadRef:
    """An upload: done with its report, or running as a job."""

    upload_id: int
    already_uploaded: bool
    state: str
    job_id: int | None
    report: dict[str, Any] | None


def upload(uow: UnitOfWork, *, principal: Principal, versions: tuple[RuleVersion, ...], store_id: int,
           filename: str, data: bytes) -> UploadRef:
    """Accept a day's sales file; small files are processed now, large ones by a job."""
    store = uow.session.get(Store, store_id)
    if store is None or principal.organisation_kind is not OrgKind.DEALER or \
            store.dealer_org_id != principal.organisation_id:
        raise NotFound("门店不存在 / store not found", reason="store.not_found")
    digest = hashlib.sha256(data).hexdigest()
    seen = uow.session.scalar(select(BulkUpload).where(BulkUpload.dealer_org_id == store.dealer_org_id,
                                                       BulkUpload.sha256 == digest))
    if seen is not None:
        return UploadRef(seen.id, True, seen.state, seen.job_id, seen.report)
    rows = sum(1 for _ in iter_rows(filename, data)) - 1
    row = BulkUpload(dealer_org_id=store.dealer_org_id, store_id=store.id, sha256=digest, filename=filename[:200],
                     content=data, state="queued", report=None, created_by=principal.actor)
    uow.session.add(row)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="appliance_bulk.uploaded", entity_type="appliance_bulk_upload",
                 entity_id=row.id, after={"file": filename, "rows": rows, "sha256": digest})
    if rows > SYNC_ROWS:
        message = uow.enqueue(JOB, upload_id=row.id, account_id=principal.account_id, requested_by=principal.actor)
        uow.flush()
        row.job_id = message.id
        return UploadRef(row.id, False, row.state, message.id, None)
    report = process(uow, upload_id=row.id, principal=principal, versions=versions, commit_chunks=False)
    return UploadRef(row.id, False, "done", None, report)


_FILE_FIELD = {"id_number": "buyer_id_number", "phone": "buyer_phone", "name": "buyer_name"}


def _error(line: int, exc: DomainError) -> RowError:
    name = next(iter(exc.errors), None) or REASON_FIELD.get(exc.reason, "row")
    name = _FILE_FIELD.get(name, name)
    return RowError(line, name, exc.reason, exc.message)


def _row(line: int, cells: dict[str, str]) -> tuple[selling.SaleInput, dict[str, str]] | RowError:
    price = parse_money(cells["price"])
    if price is None:
        return RowError(line, "price", "sale.price", "价格应为正数,最多两位小数 / price must be a positive amount")
    try:
        sold_on = dt.date.fromisoformat(cells["sold_on"].replace("/", "-"))
    except ValueError:
        return RowError(line, "sold_on", "sale.date", "销售日期应为 YYYY-MM-DD / sold_on must be YYYY-MM-DD")
    if sold_on > dt.date.today():
        return RowError(line, "sold_on", "sale.date", "销售日期不能晚于今天 / sold_on is in the future")
    return selling.SaleInput(store_id=0, gtin=cells["gtin"], serial_number=cells["serial_number"], price=price,
                             invoice_number=cells["invoice_number"], invoice_code=cells.get("invoice_code") or None,
                             sold_on=sold_on, delivery_address=cells.get("delivery_address") or None), cells


def process(uow: UnitOfWork, *, upload_id: int, principal: Principal, versions: tuple[RuleVersion, ...],
            commit_chunks: bool = True) -> dict[str, Any]:
    """Run every row through the till's path in savepoints; resume after the last committed chunk."""
    upload_row = uow.session.get(BulkUpload, upload_id)
    if upload_row is None:
        raise NotFound("上传记录不存在 / upload not found", reason="bulk.not_found")
    if upload_row.state == "done" and upload_row.report is not None:
        return upload_row.report
    report: dict[str, Any] = dict(upload_row.report or {"done_lines": 1, "accepted": [], "errors": []})
    rows = iter_rows(upload_row.filename, upload_row.content)
    header = next(rows, None) or []
    at = header_index(header, COLUMNS)
    optional = {k: header.index(a) for k, names in OPTIONAL.items() for a in (k, *names) if a in header}
    all_rows = list(enumerate(rows, start=2))
    total, store_id = len(all_rows), upload_row.store_id
    for line, raw in all_rows:
        if line <= report["done_lines"] or not any(raw):
            continue
        cells = {k: (raw[i] if i < len(raw) else "") for k, i in {**at, **optional}.items()}
        outcome = _one(uow, principal, versions, store_id, upload_id, line, cells)
        if isinstance(outcome, RowError):
            report["errors"].append(asdict(outcome))
        else:
            report["accepted"].append(outcome)
        report["done_lines"] = line
        if commit_chunks and (line - 1) % CHUNK == 0:
            upload_row.report = dict(report)
            uow.commit()
            set_progress(uow, line - 1, total)
    upload_row.report = {**report, "rows": total, "accepted_count": len(report["accepted"]),
                         "error_count": len(report["errors"])}
    upload_row.state = "done"
    audit.record(uow, actor=principal.actor, action="appliance_bulk.processed", entity_type="appliance_bulk_upload",
                 entity_id=upload_id, after={"accepted": len(report["accepted"]), "errors": len(report["errors"])})
    return upload_row.report


def _one(uow: UnitOfWork, principal: Principal, versions: tuple[RuleVersion, ...], store_id: int, upload_id: int,
         line: int, cells: dict[str, str]) -> dict[str, Any] | RowError:
    parsed = _row(line, cells)
    if isinstance(parsed, RowError):
        return parsed
    data = selling.SaleInput(**{**parsed[0].__dict__, "store_id": store_id})
    # Audit events recorded in a row that is rolled back must not be sealed with the file's good rows.
    pending: list[Any] = uow.context.setdefault("audit_pending", [])
    kept = len(pending)
    try:
        with uow.session.begin_nested():
            checked = selling.check(uow, principal=principal, versions=versions, data=data)
            if isinstance(checked, selling.SaleOutcome):
                reason = checked.reasons[0]
                return RowError(line, REASON_FIELD.get(reason.code, "row"), reason.code,
                                f"{reason.zh} / {reason.en}")
            person_id = persons.register_person(uow, actor=principal.actor, name=cells["buyer_name"],
                                                id_number=cells["buyer_id_number"], phone=cells["buyer_phone"])
            phone_hash = uow.cipher.match_hash("".join(cells["buyer_phone"].split()))
            outcome = selling.record(uow, principal=principal, checked=checked,
                                     buyer=Buyer(person_id, phone_hash), mode=SaleMode.INSTANT, price=data.price,
                                     delivery_address=data.delivery_address, upload_id=upload_id)
    except DomainError as exc:
        del pending[kept:]
        uow.tx_cache.clear()  # a rolled-back savepoint may have released the pool lock cached here
        return _error(line, exc)
    return {"line": line, "number": outcome.number, "amount": str(outcome.amount or Decimal("0.00"))}


def upload_status(uow: UnitOfWork, *, principal: Principal, upload_id: int) -> UploadRef:
    """Return an upload's state and, once done, its report."""
    row = uow.session.get(BulkUpload, upload_id)
    if row is None or row.dealer_org_id != principal.organisation_id:
        raise NotFound("上传记录不存在 / upload not found", reason="bulk.not_found")
    return UploadRef(row.id, False, row.state, row.job_id, row.report if row.state == "done" else None)


