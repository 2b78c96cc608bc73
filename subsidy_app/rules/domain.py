"""Pure values of the rules engine: trade-in facts, decisions and the parts of a rule version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, NamedTuple

from subsidy_app.core.numbers import money_str, number_str
from subsidy_app.core.working_days import MONDAY_TO_FRIDAY, WorkingCalendar
from subsidy_app.rules.conditions import (
    ApplicantIndividual,
    Condition,
    EnergyGradeAllowed,
    FirstRegistrationLimits,
    FuelDisplacementMax,
    NevCatalogue,
    NevRequiresNewNev,
    NewVehicleTypeAllowed,
    OwnerSinceCutoff,
    SamePerson,
    UnitPriceCeiling,
)
from subsidy_app.rules.file_form import NO_PROVENANCE, Provenance

# The clauses, Provenance and the formatters live in their own modules; they are re-exported here because
# callers know the rules engine's values by this one module.
__all__ = [
    "ANY",
    "CAR_PROGRAMMES",
    "ApplicantIndividual",
    "CategoryDef",
    "Change",
    "Condition",
    "ConditionResult",
    "Decision",
    "DocumentRequirement",
    "EnergyGradeAllowed",
    "ExclusionRule",
    "Facts",
    "FirstRegistrationLimits",
    "FixedByNewVehicleType",
    "Formula",
    "FormulaKind",
    "FuelDisplacementMax",
    "LimitPeriod",
    "LimitRule",
    "NevCatalogue",
    "NevRequiresNewNev",
    "NewVehicleTypeAllowed",
    "OldVehicleFuel",
    "OwnerSinceCutoff",
    "PercentOfPriceCapped",
    "PriceBasis",
    "Programme",
    "Provenance",
    "QuotaKey",
    "RateByEnergyGradeCapped",
    "ReviewLimit",
    "Rounding",
    "RoundingMode",
    "SamePerson",
    "UnitPriceCeiling",
    "VehicleType",
    "money_str",
    "number_str",
]


ANY = "*"  # key of a flat rate/cap that applies whatever the new vehicle's type


class Programme(StrEnum):
    """Subsidy programmes; a rule version belongs to exactly one."""

    CAR_SCRAP = "car_scrap"  # 报废更新
    CAR_REPLACE = "car_replace"  # 置换更新
    APPLIANCE = "appliance"  # 家电以旧换新
    DIGITAL = "digital"  # 数码产品购新


PROGRAMME_LABELS_ZH = {Programme.CAR_SCRAP.value: "汽车报废更新", Programme.CAR_REPLACE.value: "汽车置换更新",
                       Programme.APPLIANCE.value: "家电以旧换新", Programme.DIGITAL.value: "数码产品购新"}
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
class CategoryDef:
    """A product category a version covers, with its labels."""

    code: str
    zh: str
    en: str
    meta: Provenance = NO_PROVENANCE

    def to_dict(self) -> dict[str, object]:
        """Return the file form."""
        return {"code": self.code, "zh": self.zh, "en": self.en, **self.meta.to_dict()}


# ---- amount formulas ----


@dataclass(frozen=True, slots=True)
class FixedByNewVehicleType:
    """A fixed amount by the new vehicle's type."""

    amounts: Mapping[str, Decimal]
    meta: Provenance = NO_PROVENANCE
    kind: ClassVar[FormulaKind] = FormulaKind.FIXED_BY_NEW_VEHICLE_TYPE


@dataclass(frozen=True, slots=True)
class PercentOfPriceCapped:
    """A percentage of the price, capped; rate and cap by new-vehicle type or flat (key ANY)."""

    rate_percent: Mapping[str, Decimal]
    cap: Mapping[str, Decimal]
    meta: Provenance = NO_PROVENANCE
    kind: ClassVar[FormulaKind] = FormulaKind.PERCENT_OF_PRICE_CAPPED


@dataclass(frozen=True, slots=True)
class RateByEnergyGradeCapped:
    """A percentage of the price chosen by energy grade, capped."""

    rate_percent_by_grade: Mapping[int, Decimal]
    cap: Decimal
    meta: Provenance = NO_PROVENANCE
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
    meta: Provenance = NO_PROVENANCE


@dataclass(frozen=True, slots=True)
class ReviewLimit:
    """How long the bureau may take to decide an application: days after submission, calendar or working days.

    Working days are those of the configured calendar (core.working_days: Monday to Friday, less public holidays,
    plus make-up working days)."""

    days: int
    working_days: bool = False
    meta: Provenance = NO_PROVENANCE

    def to_dict(self) -> dict[str, object]:
        """Return the limit in file form."""
        return {"days": self.days, "working_days": self.working_days, **self.meta.to_dict()}

    def age(self, submitted: date, today: date, calendar: WorkingCalendar = MONDAY_TO_FRIDAY) -> int:
        """Count the days (or working days) from the submission date to today, the submission day itself not."""
        if not self.working_days:
            return (today - submitted).days
        return calendar.working_days_between(submitted, today)

    def late_before(self, today: date, calendar: WorkingCalendar = MONDAY_TO_FRIDAY) -> date:
        """The first submission date that is not yet late today: an application submitted earlier is overdue."""
        if not self.working_days:
            return today - timedelta(days=self.days)
        first = today
        while self.age(first - timedelta(days=1), today, calendar) <= self.days:
            first -= timedelta(days=1)
        return first

    def label_zh(self) -> str:
        """The limit as the pages say it."""
        return f"{self.days} 个工作日" if self.working_days else f"{self.days} 天"


@dataclass(frozen=True, slots=True)
class ExclusionRule:
    """A group of subsidies an identifier may fund only once (e.g. one new VIN across scrap and replace)."""

    group: str
    key: str
    meta: Provenance = NO_PROVENANCE


@dataclass(frozen=True, slots=True)
class DocumentRequirement:
    """A document an application must carry; `categories` None means every category."""

    code: str
    zh: str
    en: str
    categories: tuple[str, ...] | None = None
    meta: Provenance = NO_PROVENANCE


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
