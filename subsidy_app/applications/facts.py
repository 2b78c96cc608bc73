"""Gather an application's facts from the sale, the scrap certificate and the vehicle registry."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recycling import certificates
from subsidy_app.applications.sales import SaleView
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules.domain import Facts
from subsidy_app.vehicles.domain import VehicleRecord, fuel_group
from subsidy_app.vehicles.services import LocalVehicleRegistry, lookup_many

_REGISTRY_CACHE = "registry_records"


@dataclass(frozen=True)
class Evidence:
    """What the platform knows about a car trade-in beyond the applicant's word."""

    certificate: certificates.CertificateFacts | None
    old_vehicle: VehicleRecord | None


def gather(uow: UnitOfWork, *, certificate_id: int | None, old_vin: str | None) -> Evidence:
    """Look up the certificate and the old car in the registry."""
    cert = certificates.certificate_facts(uow, certificate_id=certificate_id) if certificate_id else None
    vin = old_vin or (cert.vin if cert else None)
    cache: dict[str, VehicleRecord] | None = uow.context.get(_REGISTRY_CACHE)
    if vin and cache is not None and vin in cache:
        return Evidence(cert, cache[vin])
    record = LocalVehicleRegistry(uow).lookup(vin) if vin else None
    return Evidence(cert, record)


def preload_registry(uow: UnitOfWork, *, vins: list[str]) -> None:
    """Look many old cars up at once for this unit of work (batch checks)."""
    uow.context[_REGISTRY_CACHE] = lookup_many(uow, vins=vins)


def build_facts(*, programme: str, sale: SaleView, evidence: Evidence, person_hash: str,
                applied_on: dt.date) -> Facts:
    """Build the evaluator's facts: the registry's word over the certificate's where both speak."""
    record, cert = evidence.old_vehicle, evidence.certificate
    first_registration = record.first_registration if record else (cert.first_registration_date if cert else None)
    fuel = record.fuel if record else (fuel_group(cert.fuel_type).value if cert else None)
    old_owner_hash = record.owner_id_hash if record else (cert.owner_id_hash if cert else None)
    return Facts(
        programme=programme, purchase_date=sale.invoice_date, price=sale.invoice_total,
        price_excl_tax=sale.price_excl_tax, category="passenger_car", new_vehicle_type=sale.new_vehicle_type,
        new_vehicle_displacement_l=sale.displacement_l, old_vehicle_fuel=fuel,
        old_vehicle_first_registration=first_registration,
        old_vehicle_owner_since=record.owner_since if record else None,
        applicant_is_individual=True,
        old_and_new_same_owner=old_owner_hash == sale.buyer_id_hash == person_hash,
        new_vehicle_in_nev_catalogue=sale.new_vehicle_type != "nev" or bool(sale.nev_catalogue_ref),
        applied_on=applied_on,
    )


def facts_to_json(facts: Facts) -> dict[str, Any]:
    """Snapshot facts for the application row."""
    out: dict[str, Any] = {}
    for name in facts.__slots__:
        value = getattr(facts, name)
        out[name] = value.isoformat() if isinstance(value, dt.date) else (
            str(value) if isinstance(value, Decimal) else value)
    return out
