"""Eligibility clauses a rule version lists explicitly, in file order (window/category/price are implicit)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar

from subsidy_app.core.numbers import money_str, number_str
from subsidy_app.rules.file_form import NO_PROVENANCE, Provenance


class _NoParams:
    """Mixin for clauses that take no parameters."""

    __slots__ = ()

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {}


@dataclass(frozen=True, slots=True)
class ApplicantIndividual(_NoParams):
    """The applicant must be a natural person."""

    clause: ClassVar[str] = "applicant.individual"
    meta: Provenance = NO_PROVENANCE


@dataclass(frozen=True, slots=True)
class SamePerson(_NoParams):
    """The old and the new vehicle must belong to the same person."""

    clause: ClassVar[str] = "applicant.same_person"
    meta: Provenance = NO_PROVENANCE


@dataclass(frozen=True, slots=True)
class FirstRegistrationLimits:
    """The old vehicle's first registration must be on or before a date set per fuel."""

    on_or_before: Mapping[str, date]
    meta: Provenance = NO_PROVENANCE
    clause: ClassVar[str] = "old_vehicle.first_registration"

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {"on_or_before": {k: v.isoformat() for k, v in self.on_or_before.items()}}


@dataclass(frozen=True, slots=True)
class OwnerSinceCutoff:
    """The old vehicle must be registered to the applicant before (or on or before) a date."""

    before: date | None = None
    on_or_before: date | None = None
    meta: Provenance = NO_PROVENANCE
    clause: ClassVar[str] = "old_vehicle.owner_since"

    @property
    def active(self) -> bool:
        """Tell whether a cutoff is set; an unset (unconfirmed) cutoff is not evaluated."""
        return self.before is not None or self.on_or_before is not None

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        if self.on_or_before is not None:
            return {"on_or_before": self.on_or_before.isoformat()}
        return {"before": self.before.isoformat() if self.before is not None else None}


@dataclass(frozen=True, slots=True)
class NevRequiresNewNev(_NoParams):
    """A scrapped NEV qualifies only for buying an NEV."""

    clause: ClassVar[str] = "old_vehicle.nev_requires_new_nev"
    meta: Provenance = NO_PROVENANCE


@dataclass(frozen=True, slots=True)
class NewVehicleTypeAllowed:
    """The new vehicle's type must be one of the allowed ones."""

    allowed: tuple[str, ...]
    meta: Provenance = NO_PROVENANCE
    clause: ClassVar[str] = "new_vehicle.type"

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {"allowed": list(self.allowed)}


@dataclass(frozen=True, slots=True)
class FuelDisplacementMax:
    """A new fuel car's displacement must not exceed a limit in litres."""

    fuel_max_l: Decimal
    meta: Provenance = NO_PROVENANCE
    clause: ClassVar[str] = "new_vehicle.displacement"

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {"fuel_max_l": number_str(self.fuel_max_l)}


@dataclass(frozen=True, slots=True)
class NevCatalogue(_NoParams):
    """A new NEV must be listed in the MIIT purchase-tax exemption catalogue."""

    clause: ClassVar[str] = "new_vehicle.nev_catalogue"
    meta: Provenance = NO_PROVENANCE


@dataclass(frozen=True, slots=True)
class EnergyGradeAllowed:
    """The product's energy-efficiency grade must be one of the allowed grades."""

    grades: tuple[int, ...]
    meta: Provenance = NO_PROVENANCE
    clause: ClassVar[str] = "energy_grade.allowed"

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {"grades": list(self.grades)}


@dataclass(frozen=True, slots=True)
class UnitPriceCeiling:
    """The unit price must not exceed a ceiling."""

    max: Decimal
    meta: Provenance = NO_PROVENANCE
    clause: ClassVar[str] = "price.unit_ceiling"

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {"max": money_str(self.max)}


Condition = (
    ApplicantIndividual
    | SamePerson
    | FirstRegistrationLimits
    | OwnerSinceCutoff
    | NevRequiresNewNev
    | NewVehicleTypeAllowed
    | FuelDisplacementMax
    | NevCatalogue
    | EnergyGradeAllowed
    | UnitPriceCeiling
)
