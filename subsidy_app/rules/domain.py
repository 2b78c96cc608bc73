"""Pure values of the rules engine: trade-in facts, decisions and the parts of a rule version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, NamedTuple

ANY = "*"  # key of a flat rate/cap that applies whatever the new vehicle's type


class Programme(StrEnum):
    """Subsidy programmes; a rule version belongs to exactly one."""

    CAR_SCRAP = "car_scrap"  # 报废更新
    CAR_REPLACE = "car_replace"  # 置换更新
    APPLIANCE = "appliance"  # 家电以旧换新
    DIGITAL = "digital"  # 数码产品购新


CAR_PROGRAMMES = frozenset({Programme.CAR_SCRAP, Programme.CAR_REPLACE})


class VehicleType(StrEnum):
    """Type of the new car: new-energy (MIIT catalogue) or fuel."""

    NEV = "nev"
    FUEL = "fuel"


class OldVehicleFuel(StrEnum):
    """Fuel of the old car, as the first-registration limits group it."""

    PETROL = "petrol"
    DIESEL = "diesel"
    OTHER = "other"
    NEV = "nev"


class FormulaKind(StrEnum):
    """How a version computes the subsidy amount."""

    FIXED_BY_NEW_VEHICLE_TYPE = "fixed_by_new_vehicle_type"
    PERCENT_OF_PRICE_CAPPED = "percent_of_price_capped"
    RATE_BY_ENERGY_GRADE_CAPPED = "rate_by_energy_grade_capped"


class RoundingMode(StrEnum):
    """Rounding of the computed amount to the version's places."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    DOWN = "down"


class LimitPeriod(StrEnum):
    """Period over which a person's count per category is held."""

    VERSION = "version"
    CALENDAR_YEAR = "calendar_year"


class PriceBasis(StrEnum):
    """Which invoice figure percentages and ceilings apply to."""

    INVOICE_TOTAL_INCL_TAX = "invoice_total_incl_tax"  # 价税合计 → Facts.price
    INVOICE_AMOUNT_EXCL_TAX = "invoice_amount_excl_tax"  # 不含税金额 → Facts.price_excl_tax


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about one trade-in, as the evaluator needs it."""

    programme: str
    purchase_date: date
    price: Decimal | None = None  # invoice total incl. tax (价税合计), after all merchant discounts
    category: str | None = None
    energy_grade: int | None = None
    new_vehicle_type: str | None = None
    new_vehicle_displacement_l: Decimal | None = None
    old_vehicle_fuel: str | None = None
    old_vehicle_first_registration: date | None = None
    old_vehicle_owner_since: date | None = None
    applicant_is_individual: bool = True
    old_and_new_same_owner: bool = True  # checked by the service against the two certificates
    new_vehicle_in_nev_catalogue: bool = True  # MIIT purchase-tax exemption catalogue, checked by the service
    price_excl_tax: Decimal | None = None
    applied_on: date | None = None  # when given, the version's application deadline is checked too


class ConditionResult(NamedTuple):
    """One evaluated clause: its stable code, the outcome and why, in Chinese and English.

    A NamedTuple rather than a frozen dataclass: a decision builds about ten, and this halves their cost.
    """

    clause: str
    passed: bool
    explanation_zh: str
    explanation_en: str


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a number comes from and how firm it is."""

    source: str | None = None
    unconfirmed: bool = False
    local: bool = False
    note: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Return the non-default fields, in file form."""
        out: dict[str, object] = {}
        if self.source is not None:
            out["source"] = self.source
        if self.unconfirmed:
            out["unconfirmed"] = True
        if self.local:
            out["local"] = True
        if self.note is not None:
            out["note"] = self.note
        return out


def money_str(value: Decimal) -> str:
    """Format an amount in yuan with two places (fen)."""
    return f"{value:.2f}"


def number_str(value: Decimal) -> str:
    """Format a rate or measure without exponent or trailing zeros."""
    return format(value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class CategoryDef:
    """A product category a version covers, with its labels."""

    code: str
    zh: str
    en: str
    meta: Provenance = Provenance()

    def to_dict(self) -> dict[str, object]:
        """Return the file form."""
        return {"code": self.code, "zh": self.zh, "en": self.en, **self.meta.to_dict()}


# ---- eligibility clauses (explicit, in file order; window/category/price checks are implicit) ----


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
    meta: Provenance = Provenance()


@dataclass(frozen=True, slots=True)
class SamePerson(_NoParams):
    """The old and the new vehicle must belong to the same person."""

    clause: ClassVar[str] = "applicant.same_person"
    meta: Provenance = Provenance()


@dataclass(frozen=True, slots=True)
class FirstRegistrationLimits:
    """The old vehicle's first registration must be on or before a date set per fuel."""

    on_or_before: Mapping[str, date]
    meta: Provenance = Provenance()
    clause: ClassVar[str] = "old_vehicle.first_registration"

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {"on_or_before": {k: v.isoformat() for k, v in self.on_or_before.items()}}


@dataclass(frozen=True, slots=True)
class OwnerSinceCutoff:
    """The old vehicle must be registered to the applicant before (or on or before) a date."""

    before: date | None = None
    on_or_before: date | None = None
    meta: Provenance = Provenance()
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
    meta: Provenance = Provenance()


@dataclass(frozen=True, slots=True)
class NewVehicleTypeAllowed:
    """The new vehicle's type must be one of the allowed ones."""

    allowed: tuple[str, ...]
    meta: Provenance = Provenance()
    clause: ClassVar[str] = "new_vehicle.type"

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {"allowed": list(self.allowed)}


@dataclass(frozen=True, slots=True)
class FuelDisplacementMax:
    """A new fuel car's displacement must not exceed a limit in litres."""

    fuel_max_l: Decimal
    meta: Provenance = Provenance()
    clause: ClassVar[str] = "new_vehicle.displacement"

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {"fuel_max_l": number_str(self.fuel_max_l)}


@dataclass(frozen=True, slots=True)
class NevCatalogue(_NoParams):
    """A new NEV must be listed in the MIIT purchase-tax exemption catalogue."""

    clause: ClassVar[str] = "new_vehicle.nev_catalogue"
    meta: Provenance = Provenance()


@dataclass(frozen=True, slots=True)
class EnergyGradeAllowed:
    """The product's energy-efficiency grade must be one of the allowed grades."""

    grades: tuple[int, ...]
    meta: Provenance = Provenance()
    clause: ClassVar[str] = "energy_grade.allowed"

    def params(self) -> dict[str, object]:
        """Return the clause's parameters in file form."""
        return {"grades": list(self.grades)}


@dataclass(frozen=True, slots=True)
class UnitPriceCeiling:
    """The unit price must not exceed a ceiling."""

    max: Decimal
    meta: Provenance = Provenance()
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


# ---- amount formulas ----


@dataclass(frozen=True, slots=True)
class FixedByNewVehicleType:
    """A fixed amount by the new vehicle's type."""

    amounts: Mapping[str, Decimal]
    meta: Provenance = Provenance()
    kind: ClassVar[FormulaKind] = FormulaKind.FIXED_BY_NEW_VEHICLE_TYPE


@dataclass(frozen=True, slots=True)
class PercentOfPriceCapped:
    """A percentage of the price, capped; rate and cap by new-vehicle type or flat (key ANY)."""

    rate_percent: Mapping[str, Decimal]
    cap: Mapping[str, Decimal]
    meta: Provenance = Provenance()
    kind: ClassVar[FormulaKind] = FormulaKind.PERCENT_OF_PRICE_CAPPED


@dataclass(frozen=True, slots=True)
class RateByEnergyGradeCapped:
    """A percentage of the price chosen by energy grade, capped."""

    rate_percent_by_grade: Mapping[int, Decimal]
    cap: Decimal
    meta: Provenance = Provenance()
    kind: ClassVar[FormulaKind] = FormulaKind.RATE_BY_ENERGY_GRADE_CAPPED


Formula = FixedByNewVehicleType | PercentOfPriceCapped | RateByEnergyGradeCapped


@dataclass(frozen=True, slots=True)
class Rounding:
    """Rounding of the amount: to the fen, half-up, unless a version says otherwise."""

    places: int = 2
    mode: RoundingMode = RoundingMode.HALF_UP


@dataclass(frozen=True, slots=True)
class LimitRule:
    """How many subsidies one person may take per category and period."""

    period: LimitPeriod
    max_per_category: int
    overrides: Mapping[str, int]
    meta: Provenance = Provenance()


@dataclass(frozen=True, slots=True)
class ExclusionRule:
    """A group of subsidies an identifier may fund only once (e.g. one new VIN across scrap and replace)."""

    group: str
    key: str
    meta: Provenance = Provenance()


@dataclass(frozen=True, slots=True)
class DocumentRequirement:
    """A document an application must carry; `categories` None means every category."""

    code: str
    zh: str
    en: str
    categories: tuple[str, ...] | None = None
    meta: Provenance = Provenance()


@dataclass(frozen=True, slots=True)
class QuotaKey:
    """The per-person limit that applies: a service holds quota under (programme, category, period_key)."""

    programme: str
    category: str
    period: LimitPeriod
    period_key: str
    max_count: int


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of evaluating one trade-in against one rule version."""

    version_code: str
    version: int
    version_hash: str
    eligible: bool
    amount: Decimal
    conditions: tuple[ConditionResult, ...]
    quota: QuotaKey | None
    exclusions: tuple[ExclusionRule, ...]
    required_documents: tuple[DocumentRequirement, ...]
    amount_explanation_zh: str
    amount_explanation_en: str

    @property
    def failed(self) -> tuple[ConditionResult, ...]:
        """Return the clauses that did not pass."""
        return tuple(c for c in self.conditions if not c.passed)


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two versions: a dotted path and its old and new values (None = absent)."""

    path: str
    old: object
    new: object
