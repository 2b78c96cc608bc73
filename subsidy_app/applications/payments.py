"""Payment batches: created with control totals, exported to the bank, reconciled from the bank's result file."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from subsidy_app.applications.domain import Action, State
from subsidy_app.applications.models import Application, BankResultImport, PaymentBatch, PaymentLine
from subsidy_app.applications.services import budget_references, payee_of, transition
from subsidy_app.applications.visibility import may_see_application, may_see_batch
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import slices, utcnow
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.numbers import money_str
from subsidy_app.core.personal_data import mask_personal_text
from subsidy_app.core.tables import header_index, named, read_table, refuse
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.uploads import seal
from subsidy_app.identity import persons
from subsidy_app.identity.domain import Principal
from subsidy_app.rules import budget

EXPORT_HEADER = ["序号", "申请编号", "收款人", "银行卡号", "开户行", "金额"]
RESULT_HEADER = ["序号", "申请编号", "金额", "结果", "银行流水号", "说明"]
SUCCESS = {"成功", "success", "paid", "ok", "00"}
CONTROL_LABEL = "合计"  # the first cell of the export's control-total row, which a bank may hand back in its file
_COUNT = re.compile(r"^(\d+)\s*笔$")


@dataclass(frozen=True)
class BatchRef:
    """A created batch."""

    id: int
    number: str
    count: int
    total: Decimal


def create_batch(uow: UnitOfWork, *, principal: Principal, application_ids: list[int], declared_count: int,
                 declared_total: Decimal) -> BatchRef:
    """Put approved applications in a batch; the declared count and total must match what is selected."""
    apps = [a for ids in slices(sorted(set(application_ids))) for a in uow.session.scalars(
        select(Application).where(Application.id.in_(ids)).order_by(Application.id).with_for_update())]
    problems = [a.number for a in apps if a.state != State.APPROVED or a.card_correction_needed
                or not may_see_application(principal, a)]
    if len(apps) != len(set(application_ids)) or problems:
        which = "、".join(problems) if problems else "所选申请不存在"
        raise ValidationFailed.field("application_ids", f"含不可发放的申请:{which} / not all are approved and "
                                                        f"payable: {', '.join(problems) or 'unknown ids'}",
                                     reason="batch.not_payable")
    total = sum((a.amount for a in apps), Decimal("0.00"))
    if declared_count != len(apps) or declared_total != total:
        amount = money_str(total)
        raise ValidationFailed(
            f"控制总数不符:实际 {len(apps)} 笔 {amount} 元 / control totals differ: {len(apps)} lines, {amount}",
            reason="batch.control_totals", errors={
                "declared_total": [f"所选申请合计 {amount} 元 / the selected applications total {amount}"],
                "declared_count": [f"所选申请共 {len(apps)} 笔 / {len(apps)} applications are selected"]})
    batch = PaymentBatch(number=f"tmp-{utcnow().timestamp()}", state="draft", declared_count=declared_count,
                         declared_total=declared_total, created_by=principal.actor)
    uow.session.add(batch)
    uow.flush()
    batch.number = f"PB{business_date():%Y%m%d}{batch.id:05d}"
    for line_no, app in enumerate(apps, start=1):
        uow.session.add(PaymentLine(batch_id=batch.id, line_no=line_no, application_id=app.id, amount=app.amount,
                                    state="pending"))
        transition(uow, app=app, action=Action.ADD_TO_BATCH, actor=principal.actor)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="payment_batch.created", entity_type="payment_batch",
                 entity_id=batch.id, after={"count": len(apps), "total": str(total)})
    return BatchRef(batch.id, batch.number, len(apps), total)


def _batch(uow: UnitOfWork, principal: Principal, batch_id: int) -> PaymentBatch:
    batch = uow.session.scalar(select(PaymentBatch).where(PaymentBatch.id == batch_id).with_for_update())
    if batch is None or not may_see_batch(uow, principal, batch.id):
        raise NotFound("发放批次不存在 / payment batch not found", reason="batch.not_found")
    return batch


def export_rows(uow: UnitOfWork, *, principal: Principal, batch_id: int) -> list[list[Any]]:
    """Return the bank file's rows (clear card numbers: finance only) and mark the batch exported."""
    batch = _batch(uow, principal, batch_id)
    rows: list[list[Any]] = [EXPORT_HEADER]
    lines = uow.session.execute(select(PaymentLine, Application).join(Application)
                                .where(PaymentLine.batch_id == batch.id).order_by(PaymentLine.line_no)).all()
    total = Decimal("0.00")
    keep = persons.preload(uow, person_ids=[a.person_id for _l, a in lines if a.person_id is not None],
                           card_ids=[a.bank_card_id for _l, a in lines if a.bank_card_id is not None])
    for line, app in lines:
        # The payee's name, account and bank: the resident's card, or e.g. a dealer's settlement account.
        rows.append([line.line_no, app.number, *payee_of(app).bank_line(uow, app, principal), f"{line.amount:.2f}"])
        total += line.amount
    if (len(lines), total) != (batch.declared_count, batch.declared_total):
        raise Conflict("批次明细与控制总数不符 / the batch no longer matches its control totals",
                       reason="batch.control_totals")
    keep.clear()
    rows.append(["合计", f"{len(lines)} 笔", "", "", "", f"{total:.2f}"])
    if batch.state == "draft":
        batch.state, batch.exported_at = "exported", utcnow()
        audit.record(uow, actor=principal.actor, action="payment_batch.exported", entity_type="payment_batch",
                     entity_id=batch.id, after={"count": len(lines), "total": str(total)})
    return rows


def rows_to_csv(rows: list[list[Any]]) -> bytes:
    """Encode rows as CSV with a BOM (Excel opens it as UTF-8)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def rows_to_xlsx(rows: list[list[Any]], title: str) -> bytes:
    """Encode rows as an XLSX workbook."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@dataclass
class Reconciliation:
    """What a bank result file did, line by line."""

    already_imported: bool = False
    paid: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    amount_mismatch: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    paid_total: str = "0.00"
    file_total: str = "0.00"
    control_row: bool = False  # the file held the export's control-total row, and it matched the batch

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return dict(self.__dict__)


def _parse_result(filename: str, data: bytes) -> tuple[list[dict[str, str]], list[str] | None]:
    """Return the file's payment rows and, when present, the cells of its control-total row."""
    table = read_table(filename, data)
    at = header_index(table.header, {name: () for name in RESULT_HEADER})
    rows, control = [], []
    for _line, cells in table.rows:
        row = named(cells, at)
        (control.append(cells) if row["序号"] == CONTROL_LABEL else rows.append(row))
    if len(control) > 1:
        raise refuse("bank_file.control_totals", "文件含多个合计行", "the file holds more than one control-total row")
    return rows, (control[0] if control else None)


def _money(cell: str) -> Decimal | None:
    try:
        return Decimal(cell.replace(",", "")).quantize(Decimal("0.01")) if cell else None
    except InvalidOperation:
        return None


def _check_control_row(batch: PaymentBatch, cells: list[str]) -> None:
    """Refuse a control-total row (合计, N 笔, ..., total) that is not this batch's: the file is another batch's."""
    count = next((int(m.group(1)) for c in cells[1:] if (m := _COUNT.match(c))), None)
    amounts = [a for a in (_money(c) for c in cells[1:]) if a is not None]
    total = amounts[-1] if amounts else None
    if count not in (None, batch.declared_count) or total not in (None, batch.declared_total):
        raise refuse("bank_file.control_totals",
                     f"合计行与批次控制总数不符(批次 {batch.declared_count} 笔 {batch.declared_total} 元)",
                     f"the control-total row does not match the batch ({batch.declared_count} lines, "
                     f"{batch.declared_total})")


def _reconcile_rows(uow: UnitOfWork, principal: Principal, rows: list[dict[str, str]],
                    lines: dict[str, tuple[PaymentLine, Application]], report: Reconciliation
                    ) -> tuple[Decimal, Decimal]:
    """Match each result row to its line and move the application on; return the paid and the file totals."""
    paid_total = file_total = Decimal("0.00")
    handled: set[str] = set()
    for row in rows:
        number = row.get("申请编号", "")
        try:
            amount = Decimal(row.get("金额", "")).quantize(Decimal("0.01"))
        except InvalidOperation:
            amount = Decimal("-1")
        file_total += max(amount, Decimal("0"))
        if number not in lines:
            report.unknown.append(mask_personal_text(number) or f"row {row.get('序号', '?')}")
            continue
        line, app = lines[number]
        if number in handled or line.state != "pending":
            report.duplicate.append(number)
            continue
        if amount != line.amount:
            report.amount_mismatch.append(number)
            continue
        handled.add(number)
        line.bank_ref = row.get("银行流水号") or None
        # The bank's note may quote the payee's card or ID number; only its masked form is kept and shown.
        line.result_message = mask_personal_text(row.get("说明") or "")[:300] or None
        line.settled_at = utcnow()
        if row.get("结果", "").lower() in SUCCESS:
            line.state = "paid"
            transition(uow, app=app, action=Action.PAYMENT_CONFIRMED, actor=principal.actor)
            report.paid.append(number)
            paid_total += line.amount
        else:
            line.state = "failed"
            transition(uow, app=app, action=Action.PAYMENT_FAILED, actor=principal.actor,
                       reason=f"银行退回:{line.result_message or '账户信息有误'},请更正银行卡")
            report.failed.append(number)
    return paid_total, file_total


def import_bank_result(uow: UnitOfWork, *, principal: Principal, batch_id: int, filename: str,
                       data: bytes) -> Reconciliation:
    """Reconcile a bank result file; importing the same file again changes nothing."""
    digest = hashlib.sha256(data).hexdigest()
    batch = _batch(uow, principal, batch_id)
    seen = uow.session.scalar(select(BankResultImport).where(BankResultImport.sha256 == digest))
    if seen is not None:
        return Reconciliation(already_imported=True, **{k: v for k, v in seen.report.items()
                                                        if k != "already_imported"})
    if batch.state == "draft":
        raise Conflict("批次尚未导出 / export the batch before importing results", reason="batch.not_exported")
    rows, control = _parse_result(filename, data)
    if control is not None:
        _check_control_row(batch, control)
    lines = {app.number: (line, app) for line, app in uow.session.execute(
        select(PaymentLine, Application).join(Application).where(PaymentLine.batch_id == batch.id)
        .with_for_update(of=PaymentLine)).all()}
    report = Reconciliation(control_row=control is not None)
    # One lookup of every reservation the batch may spend; the writes go to the database together at the end.
    budget.preload_reservations(uow, [ref for _line, app in lines.values() for ref in budget_references(app)],
                                lock_pools=True)
    with uow.session.no_autoflush:
        paid_total, file_total = _reconcile_rows(uow, principal, rows, lines, report)
    report.pending = [n for n, (line, _a) in lines.items() if line.state == "pending"]
    report.paid_total, report.file_total = f"{paid_total:.2f}", f"{file_total:.2f}"
    if not report.pending:
        batch.state, batch.reconciled_at = "reconciled", utcnow()
    uow.session.add(BankResultImport(batch_id=batch.id, sha256=digest, filename=filename[:200], content=seal(uow, data),
                                     report=report.as_dict(), imported_by=principal.actor))
    audit.record(uow, actor=principal.actor, action="payment_batch.reconciled", entity_type="payment_batch",
                 entity_id=batch.id, after={k: len(v) if isinstance(v, list) else v
                                            for k, v in report.as_dict().items()})
    return report


def correct_bank_card(uow: UnitOfWork, *, application_id: int, person_id: int, card_number: str, bank_name: str,
                      actor: str) -> None:
    """After the bank refused the card, the applicant gives a corrected one; the next batch may take it."""
    app = uow.session.scalar(select(Application).where(Application.id == application_id).with_for_update())
    if app is None or app.person_id != person_id:
        raise NotFound("申请不存在 / application not found", reason="application.not_found")
    if not app.card_correction_needed:
        raise Conflict("银行卡提交后不能更改,除非银行退回 / the card can only change after the bank refused it",
                       reason="application.card_locked")
    app.bank_card_id = persons.add_bank_card(uow, actor=actor, person_id=person_id, card_number=card_number,
                                             bank_name=bank_name)
    app.card_correction_needed = False
    audit.record(uow, actor=actor, action="application.card_corrected", entity_type="application",
                 entity_id=app.id)


def batch_summary(uow: UnitOfWork, *, principal: Principal, batch_id: int) -> dict[str, Any]:
    """Describe a batch and its lines, to finance staff who may see every application on it."""
    batch = uow.session.get(PaymentBatch, batch_id)
    if batch is None or not may_see_batch(uow, principal, batch.id):
        raise NotFound("发放批次不存在 / payment batch not found", reason="batch.not_found")
    lines = list(uow.session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch_id)
                                     .order_by(PaymentLine.line_no)))
    return {"id": batch.id, "number": batch.number, "state": batch.state, "declared_count": batch.declared_count,
            "declared_total": batch.declared_total, "created_at": batch.created_at,
            "lines": [{"line_no": x.line_no, "application_id": x.application_id, "amount": x.amount,
                       "state": x.state, "bank_ref": x.bank_ref} for x in lines]}

