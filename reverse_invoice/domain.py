"""Reverse-invoicing tax maths: the month rule, surcharges, halving relief, income tax, the rolling window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")
FEN = Decimal("0.01")
ZERO = Decimal("0.00")


class LocationClass(StrEnum):
    """Where the recycler sits, for the urban maintenance tax rate."""

    CITY = "city"
    COUNTY_TOWN = "county_town"
    ELSEWHERE = "elsewhere"


class VatMethod(StrEnum):
    """The recycler's own VAT method."""

    GENERAL = "general"
    SIMPLIFIED = "simplified"


class InvoiceType(StrEnum):
    """VAT invoice types."""

    SPECIAL = "special"
    ORDINARY = "ordinary"


class Qualification(StrEnum):
    """The three qualifications that allow reverse invoicing (DOMAIN.md §4)."""

    HAZARDOUS_WASTE = "hazardous_waste_licence"
    VEHICLE_DISMANTLING = "vehicle_dismantling"
    RENEWABLE_FILING = "renewable_resource_filing"


class RedReason(StrEnum):
    """Red-letter reason codes."""

    ISSUED_IN_ERROR = "01"
    GOODS_RETURNED = "02"
    SERVICE_STOPPED = "03"
    SALES_ALLOWANCE = "04"


QUALIFICATION_ZH = {
    Qualification.HAZARDOUS_WASTE: "危险废物经营许可证",
    Qualification.VEHICLE_DISMANTLING: "报废机动车回收拆解企业资质认定证书",
    Qualification.RENEWABLE_FILING: "再生资源回收经营者备案",
}
LOCATION_ZH = {LocationClass.CITY: "市区", LocationClass.COUNTY_TOWN: "县城、镇", LocationClass.ELSEWHERE: "其他地区"}
INVOICE_TYPE_ZH = {InvoiceType.SPECIAL: "增值税专用发票", InvoiceType.ORDINARY: "普通发票"}

# General-method payers may issue special or ordinary invoices; simplified-method payers ordinary only.
ALLOWED_INVOICE_TYPES: Mapping[VatMethod, frozenset[InvoiceType]] = {
    VatMethod.GENERAL: frozenset({InvoiceType.SPECIAL, InvoiceType.ORDINARY}),
    VatMethod.SIMPLIFIED: frozenset({InvoiceType.ORDINARY}),
}


class RuleGap(LookupError):
    """No rule period covers the requested date."""


@dataclass(frozen=True)
class Period(Generic[T]):
    """One value of a rule with the dates it is in force (inclusive) and where it comes from."""

    effective_from: dt.date
    effective_to: dt.date | None
    value: T
    source: str
    unconfirmed: bool = False

    def covers(self, day: dt.date) -> bool:
        """Tell whether the period is in force on `day`."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True)
class Schedule(Generic[T]):
    """A rule's values over time."""

    name: str
    periods: tuple[Period[T], ...]

    def period_at(self, day: dt.date) -> Period[T]:
        """Return the period in force on `day`."""
        for period in self.periods:
            if period.covers(day):
                return period
        raise RuleGap(f"{self.name}: no value in force on {day.isoformat()}")

    def at(self, day: dt.date) -> T:
        """Return the value in force on `day`."""
        return self.period_at(day).value


@dataclass(frozen=True)
class RedReasonRule:
    """A red-letter reason and whether it allows a partial reversal."""

    code: RedReason
    zh: str
    en: str
    partial: bool


@dataclass(frozen=True)
class Rates:
    """Every figure in force on one day."""

    day: dt.date
    seller_cap: Decimal
    rolling_months: int
    monthly_threshold: Decimal
    vat_rate: Decimal
    urban_rates: Mapping[LocationClass, Decimal]
    education_rate: Decimal
    local_education_rate: Decimal
    relief_factor: Decimal
    income_tax_rate: Decimal
    filing_due_day: int


@dataclass(frozen=True)
class TaxRules:
    """The reverse-invoicing rule data, loaded from YAML."""

    in_force_from: dt.date
    consent_text_version: str
    consent_text_zh: str
    seller_cap: Schedule[tuple[Decimal, int]]
    monthly_threshold: Schedule[Decimal]
    vat_rate: Schedule[Decimal]
    urban_rates: Schedule[Mapping[LocationClass, Decimal]]
    education_rate: Schedule[Decimal]
    local_education_rate: Schedule[Decimal]
    relief_factor: Schedule[Decimal]
    income_tax_rate: Schedule[Decimal]
    filing_due_day: Schedule[int]
    annual_return_due: Schedule[tuple[int, int]]
    red_reasons: Mapping[RedReason, RedReasonRule]

    def rates(self, day: dt.date) -> Rates:
        """Return every figure in force on `day`; raise RuleGap before reverse invoicing began."""
        if day < self.in_force_from:
            raise RuleGap(f"reverse invoicing is in force from {self.in_force_from.isoformat()}")
        cap, months = self.seller_cap.at(day)
        return Rates(
            day=day, seller_cap=cap, rolling_months=months, monthly_threshold=self.monthly_threshold.at(day),
            vat_rate=self.vat_rate.at(day), urban_rates=self.urban_rates.at(day),
            education_rate=self.education_rate.at(day), local_education_rate=self.local_education_rate.at(day),
            relief_factor=self.relief_factor.at(day), income_tax_rate=self.income_tax_rate.at(day),
            filing_due_day=self.filing_due_day.at(day),
        )

    def annual_return_due_date(self, year: int) -> dt.date:
        """Return the due date of the seller's return for `year` (in the next year)."""
        month, day = self.annual_return_due.at(dt.date(year + 1, 1, 1))
        return dt.date(year + 1, month, day)


@dataclass(frozen=True)
class TaxFigures:
    """An invoice's amount and the taxes filed on the seller's behalf (negative on a red-letter invoice)."""

    amount: Decimal
    vat_rate: Decimal
    vat_exempt: bool
    vat: Decimal
    urban_rate: Decimal
    urban_tax: Decimal
    education: Decimal
    local_education: Decimal
    income_tax: Decimal

    @property
    def surcharges(self) -> Decimal:
        """Return the three surcharges together."""
        return self.urban_tax + self.education + self.local_education

    @property
    def total_tax(self) -> Decimal:
        """Return every tax the recycler files and pays for the seller."""
        return self.vat + self.surcharges + self.income_tax

    @property
    def total_incl_vat(self) -> Decimal:
        """Return the invoice total including VAT (价税合计)."""
        return self.amount + self.vat

    @property
    def net_payable(self) -> Decimal:
        """Return what the seller receives: the total incl. VAT less the taxes withheld to pay for them."""
        return self.total_incl_vat - self.total_tax

    def negated(self) -> TaxFigures:
        """Return the red-letter mirror of these figures."""
        return replace(self, amount=-self.amount, vat=-self.vat, urban_tax=-self.urban_tax,
                       education=-self.education, local_education=-self.local_education,
                       income_tax=-self.income_tax)

    def minus(self, other: TaxFigures) -> TaxFigures:
        """Return these figures less another set (same rates)."""
        return replace(self, amount=self.amount - other.amount, vat=self.vat - other.vat,
                       urban_tax=self.urban_tax - other.urban_tax, education=self.education - other.education,
                       local_education=self.local_education - other.local_education,
                       income_tax=self.income_tax - other.income_tax)


def to_fen(value: Decimal) -> Decimal:
    """Round to the fen, half away from zero (so a red-letter mirrors its blue exactly)."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def month_of(day: dt.date) -> dt.date:
    """Return the first day of the day's calendar month."""
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    """Return the first day of the month `count` months after (or before) `month`."""
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def rolling_window(month: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """Return the first and last month of the rolling window: this month and the `months - 1` before."""
    end = month_of(month)
    return add_months(end, -(months - 1)), end


def month_is_taxable(month_sales: Decimal, threshold: Decimal) -> bool:
    """Apply the month rule: above the threshold the whole month is taxable; at or below it, exempt."""
    return month_sales > threshold


def within_cap(window_sales: Decimal, amount: Decimal, cap: Decimal) -> bool:
    """Tell whether adding `amount` keeps the rolling-window sales at or under the cap."""
    return window_sales + amount <= cap


def compute_taxes(amount: Decimal, *, taxable: bool, rates: Rates, location: LocationClass) -> TaxFigures:
    """Compute VAT, surcharges (on VAT paid, halved while relieved) and the income tax for an amount."""
    amount = to_fen(amount)
    vat_rate = rates.vat_rate if taxable else ZERO
    vat = to_fen(amount * vat_rate)
    factor = rates.relief_factor
    urban_rate = rates.urban_rates[location]
    return TaxFigures(
        amount=amount, vat_rate=vat_rate, vat_exempt=not taxable, vat=vat, urban_rate=urban_rate,
        urban_tax=to_fen(vat * urban_rate * factor), education=to_fen(vat * rates.education_rate * factor),
        local_education=to_fen(vat * rates.local_education_rate * factor),
        income_tax=to_fen(amount * rates.income_tax_rate),
    )


def reversal_figures(original: TaxFigures, already_reversed: TaxFigures, amount: Decimal) -> TaxFigures:
    """Return the red-letter figures for reversing `amount` of an invoice, exact to the fen when it completes it."""
    remaining = original.minus(already_reversed)
    if amount == remaining.amount:
        return remaining.negated()
    share = amount / original.amount
    return TaxFigures(
        amount=-amount, vat_rate=original.vat_rate, vat_exempt=original.vat_exempt, vat=-to_fen(original.vat * share),
        urban_rate=original.urban_rate, urban_tax=-to_fen(original.urban_tax * share),
        education=-to_fen(original.education * share), local_education=-to_fen(original.local_education * share),
        income_tax=-to_fen(original.income_tax * share),
    )


def reversal_amount(rule: RedReasonRule, *, requested: Decimal | None, remaining: Decimal) -> Decimal | None:
    """Return the amount a red-letter reverses, or None when the request is not allowed."""
    if remaining <= ZERO:
        return None
    if not rule.partial:
        return remaining if requested is None or requested == remaining else None
    if requested is None:
        return None
    requested = to_fen(requested)
    return requested if ZERO < requested <= remaining else None


def filing_due_date(month: dt.date, due_day: int) -> dt.date:
    """Return the due date of a month's filing: `due_day` of the next month."""
    return add_months(month_of(month), 1).replace(day=due_day)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """Return a purchase line's amount, quantity × unit price to the fen."""
    return to_fen(quantity * unit_price)
