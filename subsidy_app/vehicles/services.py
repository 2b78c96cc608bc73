"""Registry use cases: the local registry, importing public-security files, deregistration certificates."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from subsidy_app.audit import services as audit
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from subsidy_app.core.identifiers import check_credit_code, check_plate, normalise_resident_id, normalise_vin
from subsidy_app.core.personal_data import mask_resident_id
from subsidy_app.core.tables import RowError, read_table
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import Principal
from subsidy_app.vehicles.domain import (
    ImportReport,
    RowProblem,
    VehicleRecord,
    fuel_group,
    map_headers,
    parse_date,
)
from subsidy_app.vehicles.models import VehicleOwnership, VehicleRecordRow

Progress = Callable[[int], None]
_RESIDENT_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_COMPARED = ("plate", "vehicle_type", "use_type", "fuel_code", "fuel_group", "first_registration", "owner_id_hash",
             "owner_id_masked", "owner_since", "deregistered_on", "deregistration_certificate", "transferred_out_on")


def _record(row: VehicleRecordRow) -> VehicleRecord:
    return VehicleRecord(row.vin, row.plate, row.vehicle_type, row.use_type, row.fuel_group, row.fuel_code,
                         row.first_registration, row.owner_id_hash, row.owner_id_masked, row.owner_since,
                         row.deregistered_on, row.deregistration_certificate, row.transferred_out_on)


class LocalVehicleRegistry:
    """The registry as imported from public-security files into this platform's tables."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def lookup(self, vin: str) -> VehicleRecord | None:
        """Return the record for a VIN (checked, case-folded), or None."""
        value = normalise_vin(vin)
        row = self._uow.session.scalar(select(VehicleRecordRow).where(VehicleRecordRow.vin == value))
        return _record(row) if row else None


def _text(cells: dict[str, str], name: str, *, required: bool = True, limit: int = 40) -> str:
    value = str(cells.get(name) or "").strip()
    if required and not value:
        raise RowProblem(name, "必填 / required", reason="registry.required")
    if len(value) > limit:
        raise RowProblem(name, "过长 / too long", reason="registry.too_long")
    return value


def _owner(uow: UnitOfWork, raw: str) -> tuple[str, str]:
    try:
        value = normalise_resident_id(raw, field="owner_id")
    except ValidationFailed as exc:
        # An organisation may own the car: accept its credit code, but only one whose check character holds.
        try:
            credit = check_credit_code(raw, field="owner_id")
        except ValidationFailed:
            credit = None
        if _RESIDENT_ID_SHAPE.fullmatch(raw.strip().upper()) or credit is None or not credit.check_ok:
            raise _problem("owner_id", exc) from None
        value = credit.value
    return uow.cipher.match_hash(value), mask_resident_id(value)


def _problem(field_name: str, exc: ValidationFailed) -> RowProblem:
    return RowProblem(field_name, exc.errors.get(field_name, [exc.message])[0], reason=exc.reason)


def _identifier(check: Callable[[], str], field_name: str) -> str:
    try:
        return check()
    except ValidationFailed as exc:
        raise _problem(field_name, exc) from None


def _parse(uow: UnitOfWork, cells: dict[str, str]) -> dict[str, Any]:
    vin = _identifier(lambda: normalise_vin(str(cells.get("vin") or ""), field="vin"), "vin")
    if not cells.get("plate"):
        raise RowProblem("plate", "必填 / required", reason="registry.required")
    try:
        plate_check = check_plate(str(cells.get("plate")), field="plate")
    except ValidationFailed as exc:
        raise _problem("plate", exc) from None
    fuel_code = _text(cells, "fuel", limit=20)
    owner_hash, owner_masked = _owner(uow, _text(cells, "owner_id"))
    first_registration = parse_date(cells.get("first_registration"), "first_registration", required=True)
    owner_since = parse_date(cells.get("owner_since"), "owner_since", required=True)
    if first_registration and owner_since and owner_since < first_registration:
        raise RowProblem("owner_since", "早于初次登记日期 / before the first registration",
                         reason="registry.owner_since")
    values: dict[str, Any] = {
        "vin": vin, "plate": plate_check.value, "vehicle_type": _text(cells, "vehicle_type"),
        "use_type": _text(cells, "use_type"), "fuel_code": fuel_code,
        "fuel_group": fuel_group(fuel_code, nev_plate=plate_check.is_nev).value,
        "first_registration": first_registration,
        "owner_id_hash": owner_hash, "owner_id_masked": owner_masked,
        "owner_since": owner_since,
        "deregistered_on": parse_date(cells.get("deregistered_on"), "deregistered_on", required=False),
        "deregistration_certificate": _text(cells, "deregistration_certificate", required=False, limit=60) or None,
        "transferred_out_on": parse_date(cells.get("transferred_out_on"), "transferred_out_on", required=False),
    }
    return values


def _upsert(uow: UnitOfWork, values: dict[str, Any], source: str, report: ImportReport) -> None:
    session = uow.session
    row = session.scalar(select(VehicleRecordRow).where(VehicleRecordRow.vin == values["vin"]))
    if row is None:
        row = VehicleRecordRow(**values, source=source)
        session.add(row)
        session.flush()
        report.created += 1
    elif all(getattr(row, k) == values[k] for k in _COMPARED):
        report.unchanged += 1
        return
    else:
        for key in _COMPARED:
            setattr(row, key, values[key])
        row.source, row.updated_at = source, utcnow()
        report.updated += 1
    known = session.scalar(select(VehicleOwnership.id).where(
        VehicleOwnership.vehicle_id == row.id, VehicleOwnership.owner_id_hash == values["owner_id_hash"],
        VehicleOwnership.owner_since == values["owner_since"]))
    if known is None:
        session.add(VehicleOwnership(vehicle_id=row.id, owner_id_hash=values["owner_id_hash"],
                                     owner_id_masked=values["owner_id_masked"], owner_since=values["owner_since"]))


def import_records(
    uow: UnitOfWork, *, actor: str, filename: str, data: bytes, progress: Progress | None = None
) -> ImportReport:
    """Import a public-security CSV or XLSX export: upsert by VIN, refuse bad rows with line and column."""
    report = ImportReport()
    table = read_table(filename, data)
    try:
        columns = map_headers(table.header)
    except RowProblem as exc:
        raise ValidationFailed.field("file", exc.message, reason=exc.reason) from None
    source = f"{filename[:120]}#{hashlib.sha256(data).hexdigest()[:16]}"
    seen: dict[str, int] = {}
    for line, cells in table.rows:
        named = {name: cells[i] for i, name in columns.items() if i < len(cells)}
        try:
            values = _parse(uow, named)
            if values["vin"] in seen:
                raise RowProblem("vin", f"与第 {seen[values['vin']]} 行重复 / repeats line {seen[values['vin']]}",
                                 reason="registry.duplicate_row")
            seen[values["vin"]] = line
            with uow.session.begin_nested():
                _upsert(uow, values, source, report)
            report.accepted += 1
        except (RowProblem, DomainError) as exc:
            field_name = exc.field if isinstance(exc, RowProblem) else "row"
            report.rejected.append(RowError(line, field_name, exc.reason, exc.message))
        if progress is not None:
            progress(line)
    audit.record(uow, actor=actor, action="vehicle_registry.imported", entity_type="vehicle_registry",
                 entity_id=source, after={"created": report.created, "updated": report.updated,
                                          "unchanged": report.unchanged, "rejected": len(report.rejected)})
    return report


def visible_vin(uow: UnitOfWork, *, principal: Principal, vin: str) -> str:
    """Return the checked VIN of a vehicle the caller may see (city-level, or through a certificate or application)."""
    value = normalise_vin(vin)
    if not visibility.may_see_vehicle(uow, principal, value):
        raise NotFound("登记系统中没有该车辆或不在您的权限范围内 / no such vehicle in your scope",
                       reason="vehicle.not_found")
    return value


def record_deregistration(
    uow: UnitOfWork, *, principal: Principal, vin: str, certificate_number: str, deregistered_on: dt.date
) -> VehicleRecord:
    """Record a deregistration certificate against a VIN in the caller's scope; the same one again changes nothing."""
    value = visible_vin(uow, principal=principal, vin=vin)
    actor = principal.actor
    number = "".join(certificate_number.split()).upper()
    if not 4 <= len(number) <= 60:
        raise ValidationFailed.field("certificate_number", "注销证明编号无效 / certificate number is not valid",
                                     reason="vehicle.certificate_number")
    row = uow.session.scalar(select(VehicleRecordRow).where(VehicleRecordRow.vin == value).with_for_update())
    if row is None:
        raise NotFound("登记系统中没有该车辆 / the registry has no such vehicle", reason="vehicle.not_found")
    if row.deregistration_certificate not in (None, number):
        raise Conflict("该车辆已登记另一份注销证明 / another deregistration certificate is recorded for this VIN",
                       reason="vehicle.deregistration_conflict")
    if row.deregistration_certificate is None or row.deregistered_on != deregistered_on:
        before = {"certificate": row.deregistration_certificate, "deregistered_on": str(row.deregistered_on)}
        row.deregistration_certificate, row.deregistered_on, row.updated_at = number, deregistered_on, utcnow()
        audit.record(uow, actor=actor, action="vehicle.deregistered", entity_type="vehicle", entity_id=value,
                     before=before, after={"certificate": number, "deregistered_on": str(deregistered_on)})
    return _record(row)


def ownership_history(uow: UnitOfWork, *, vin: str) -> list[tuple[str, dt.date]]:
    """Return the (masked owner ID, owner since) pairs seen for a VIN, oldest first."""
    value = normalise_vin(vin)
    rows = uow.session.execute(
        select(VehicleOwnership.owner_id_masked, VehicleOwnership.owner_since)
        .join(VehicleRecordRow, VehicleRecordRow.id == VehicleOwnership.vehicle_id)
        .where(VehicleRecordRow.vin == value).order_by(VehicleOwnership.owner_since, VehicleOwnership.id))
    return [(m, d) for m, d in rows]


def lookup_many(uow: UnitOfWork, *, vins: list[str]) -> dict[str, VehicleRecord]:
    """Return the records of many VINs in one query (batch checks use it)."""
    if not vins:
        return {}
    rows = uow.session.scalars(select(VehicleRecordRow).where(VehicleRecordRow.vin.in_(set(vins))))
    return {row.vin: _record(row) for row in rows}
