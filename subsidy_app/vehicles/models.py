"""Vehicle registry tables: one record per VIN, and the ownership history seen in imports."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, utcnow


class VehicleRecordRow(Base):
    """The registry's current word on a vehicle; the owner only as keyed hash and masked ID."""

    __tablename__ = "vehicle_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    plate: Mapped[str] = mapped_column(String(10), index=True)
    vehicle_type: Mapped[str] = mapped_column(String(40))
    use_type: Mapped[str] = mapped_column(String(40))
    fuel_code: Mapped[str] = mapped_column(String(20))
    fuel_group: Mapped[str] = mapped_column(String(10))
    first_registration: Mapped[dt.date]
    owner_id_hash: Mapped[str] = mapped_column(String(64), index=True)
    owner_id_masked: Mapped[str] = mapped_column(String(18))
    owner_since: Mapped[dt.date]
    deregistered_on: Mapped[dt.date | None]
    deregistration_certificate: Mapped[str | None] = mapped_column(String(60))
    transferred_out_on: Mapped[dt.date | None]
    source: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VehicleOwnership(Base):
    """An owner a vehicle had from a date, kept as imports reveal changes of owner."""

    __tablename__ = "vehicle_ownership"
    __table_args__ = (UniqueConstraint("vehicle_id", "owner_id_hash", "owner_since"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle_record.id"), index=True)
    owner_id_hash: Mapped[str] = mapped_column(String(64))
    owner_id_masked: Mapped[str] = mapped_column(String(18))
    owner_since: Mapped[dt.date]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

# What each constraint's refusal means to the client (see core.constraints).
register('uq_vehicle_record_vin', 'vehicle.exists',
         '该车架号已在登记库中 / this VIN is already in the registry')
register('uq_vehicle_ownership_vehicle_id_owner_id_hash_owner_since', 'vehicle.ownership_exists',
         '该登记记录已存在 / this ownership record already exists')
