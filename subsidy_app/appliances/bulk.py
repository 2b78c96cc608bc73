"""Bulk sales files: rows checked like the till's, written set-based per chunk; a re-upload changes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from subsidy_app.appliances.bulk_rows import Row, prepare
from subsidy_app.appliances.bulk_write import write_chunk
from subsidy_app.appliances.domain import FraudThresholds
from subsidy_app.appliances.models import BulkUpload, Product, Store
from subsidy_app.audit import services as audit
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, NotFound
from subsidy_app.core.jobs import set_progress
from subsidy_app.core.tables import RowError, header_index, named, read_table
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.uploads import seal, unseal
from subsidy_app.identity.domain import OrgKind, Principal
from subsidy_app.rules.ruleset import RuleVersion

JOB = "appliances.process_bulk"
SYNC_ROWS = 2000  # larger files run as a job the dealer polls
# Rows per transaction: the budget pool is locked once per chunk (a till of the county waits at most one chunk),
# and the report, rewritten at each commit so a rerun resumes, is written 20 times for 100,000 rows.
CHUNK = 5000
COLUMNS: dict[str, tuple[str, ...]] = {
    "gtin": ("商品条码",), "serial_number": ("序列号", "IMEI", "序列号/IMEI"), "price": ("成交价", "价格"),
    "invoice_number": ("发票号码",), "sold_on": ("销售日期",), "buyer_name": ("购买人姓名",),
    "buyer_id_number": ("购买人身份证号",), "buyer_phone": ("购买人手机号",),
}
OPTIONAL = {"invoice_code": ("发票代码",), "delivery_address": ("送货地址",)}


@dataclass(frozen=True)
class UploadRef:
    """An upload: done with its report, or running as a job."""

    upload_id: int
    already_uploaded: bool
    state: str
    job_id: int | None
    report: dict[str, Any] | None


def upload(uow: UnitOfWork, *, principal: Principal, versions: tuple[RuleVersion, ...], store_id: int,
           filename: str, data: bytes, limits: FraudThresholds | None = None) -> UploadRef:
    """Accept a day's sales file; small files are processed now, large ones by a job (fraud limits go along).

    A file whose header lacks a column is refused here, naming them, not by the job after it was queued (the body's
    size is held to its limit by the route)."""
    store = uow.session.get(Store, store_id)
    if store is None or principal.organisation_kind is not OrgKind.DEALER or \
            store.dealer_org_id != principal.organisation_id:
        raise NotFound("门店不存在 / store not found", reason="store.not_found")
    table = read_table(filename, data)
    header_index(table.header, COLUMNS)
    digest = hashlib.sha256(data).hexdigest()
    seen = uow.session.scalar(select(BulkUpload).where(BulkUpload.dealer_org_id == store.dealer_org_id,
                                                       BulkUpload.sha256 == digest))
    if seen is not None:
        return UploadRef(seen.id, True, seen.state, seen.job_id, seen.report)
    rows = len(table.rows)
    row = BulkUpload(dealer_org_id=store.dealer_org_id, store_id=store.id, sha256=digest, filename=filename[:200],
                     content=seal(uow, data), state="queued", report=None, created_by=principal.actor)
    uow.session.add(row)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="appliance_bulk.uploaded", entity_type="appliance_bulk_upload",
                 entity_id=row.id, after={"file": filename, "rows": rows, "sha256": digest})
    if rows > SYNC_ROWS:
        # The dealer's other clerks follow the upload's progress too (they see it in the upload list).
        message = uow.enqueue(JOB, upload_id=row.id, account_id=principal.account_id, requested_by=principal.actor,
                              visible_to_org=store.dealer_org_id, limits=limits_payload(limits or FraudThresholds()))
        uow.flush()
        row.job_id = message.id
        return UploadRef(row.id, False, row.state, message.id, None)
    report = process(uow, upload_id=row.id, principal=principal, versions=versions, commit_chunks=False,
                     limits=limits)
    return UploadRef(row.id, False, "done", None, report)


def limits_payload(limits: FraudThresholds) -> dict[str, str]:
    """The fraud limits as a job's JSON payload."""
    return {k: str(v) for k, v in asdict(limits).items()}


def limits_from_payload(payload: dict[str, str] | None) -> FraudThresholds:
    """Read the fraud limits a job was given (the defaults for jobs queued before they were passed)."""
    if not payload:
        return FraudThresholds()
    return FraudThresholds(
        deliveries_per_address=int(payload["deliveries_per_address"]), sales_per_phone=int(payload["sales_per_phone"]),
        price_margin_percent=Decimal(payload["price_margin_percent"]),
        store_buyer_sales=int(payload["store_buyer_sales"]), window_days=int(payload["window_days"]))


def process(uow: UnitOfWork, *, upload_id: int, principal: Principal, versions: tuple[RuleVersion, ...],
            commit_chunks: bool = True, limits: FraudThresholds | None = None) -> dict[str, Any]:
    """Check every row, write each chunk's sales set-based; resume after the last committed chunk."""
    upload_row = uow.session.get(BulkUpload, upload_id)
    if upload_row is None:
        raise NotFound("上传记录不存在 / upload not found", reason="bulk.not_found")
    if upload_row.state == "done" and upload_row.report is not None:
        return upload_row.report
    report: dict[str, Any] = dict(upload_row.report or {"done_lines": 1, "accepted": [], "errors": []})
    if upload_row.content is None:
        raise Conflict("上传文件已按保留期限删除 / the uploaded file was purged after its retention period",
                       reason="bulk.content_purged")
    table = read_table(upload_row.filename, unseal(uow, upload_row.content))
    columns = header_index(table.header, COLUMNS, OPTIONAL)
    all_rows = table.rows
    total = len(all_rows)
    store = uow.session.get(Store, upload_row.store_id)
    assert store is not None
    products = {p.gtin: p for p in uow.session.scalars(select(Product))}
    todo = [(line, raw) for line, raw in all_rows if line > report["done_lines"]]
    # Progress counts the rows committed by every run, not by this one: after a restart it resumes where it was.
    done_before = total - len(todo)
    if commit_chunks:
        set_progress(uow, done_before, total)
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        checked = [prepare(line, named(raw, columns), products, versions) for line, raw in chunk]
        written = write_chunk(uow, actor=principal.actor, store=store, upload_id=upload_id,
                              rows=[r for r in checked if isinstance(r, Row)], limits=limits)
        refused = {e.line: e for e in written.errors}
        for outcome in checked:
            if isinstance(outcome, RowError):
                report["errors"].append(asdict(outcome))
            elif outcome.line in refused:
                report["errors"].append(asdict(refused[outcome.line]))
            else:
                report["accepted"].append(written.accepted[outcome.line])
        report["done_lines"] = chunk[-1][0]
        if commit_chunks:
            upload_row.report = dict(report)
            uow.commit()
            set_progress(uow, done_before + start + len(chunk), total)
    upload_row.report = {**report, "rows": total, "accepted_count": len(report["accepted"]),
                         "error_count": len(report["errors"])}
    upload_row.state, upload_row.finished_at = "done", utcnow()
    audit.record(uow, actor=principal.actor, action="appliance_bulk.processed", entity_type="appliance_bulk_upload",
                 entity_id=upload_id, after={"accepted": len(report["accepted"]), "errors": len(report["errors"])})
    return upload_row.report


def upload_status(uow: UnitOfWork, *, principal: Principal, upload_id: int) -> UploadRef:
    """Return an upload's state and, once done, its report."""
    row = uow.session.get(BulkUpload, upload_id)
    if row is None or row.dealer_org_id != principal.organisation_id:
        raise NotFound("上传记录不存在 / upload not found", reason="bulk.not_found")
    return UploadRef(row.id, False, row.state, row.job_id, row.report if row.state == "done" else None)




def upload_content(uow: UnitOfWork, *, upload_id: int) -> tuple[str, bytes] | None:
    """Return an upload's filename and sealed file, or None once purged after the retention period."""
    row = uow.session.get(BulkUpload, upload_id)
    return (row.filename, row.content) if row is not None and row.content is not None else None
