"""Load the reverse-invoicing rule data (data/tax-rules.yaml) into frozen dataclasses, checking every period."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml

from reverse_invoice.domain import LocationClass, Period, RedReason, RedReasonRule, Schedule, TaxRules

T = TypeVar("T")
RULES_FILE = Path(__file__).resolve().parent / "data" / "tax-rules.yaml"


class TaxRulesInvalid(ValueError):
    """The rule file is malformed; names the field."""


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise TaxRulesInvalid(f"{where}: not a date: {value!r}") from None


def _decimal(value: object, where: str) -> Decimal:
    if not isinstance(value, str):
        raise TaxRulesInvalid(f"{where}: write numbers as quoted strings, got {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise TaxRulesInvalid(f"{where}: not a number: {value!r}") from None
    if number < 0:
        raise TaxRulesInvalid(f"{where}: must not be negative")
    return number


def _schedule(doc: Mapping[str, Any], name: str, read: Callable[[Mapping[str, Any], str], T]) -> Schedule[T]:
    entries = doc.get(name)
    if not isinstance(entries, list) or not entries:
        raise TaxRulesInvalid(f"{name}: needs at least one period")
    periods: list[Period[T]] = []
    for index, entry in enumerate(entries):
        where = f"{name}[{index}]"
        if not entry.get("source"):
            raise TaxRulesInvalid(f"{where}: every period needs a source")
        start = _date(entry.get("from"), f"{where}.from")
        end = None if entry.get("to") is None else _date(entry["to"], f"{where}.to")
        if end is not None and end < start:
            raise TaxRulesInvalid(f"{where}: ends before it starts")
        periods.append(Period(start, end, read(entry, where), str(entry["source"]), bool(entry.get("unconfirmed"))))
    periods.sort(key=lambda p: p.effective_from)
    for before, after in itertools.pairwise(periods):
        if before.effective_to is None or before.effective_to >= after.effective_from:
            raise TaxRulesInvalid(f"{name}: periods from {before.effective_from} and {after.effective_from} overlap")
    return Schedule(name, tuple(periods))


def _urban(entry: Mapping[str, Any], where: str) -> Mapping[LocationClass, Decimal]:
    rates = entry.get("rates") or {}
    missing = [c.value for c in LocationClass if c.value not in rates]
    if missing:
        raise TaxRulesInvalid(f"{where}.rates: missing {missing}")
    return MappingProxyType({c: _decimal(rates[c.value], f"{where}.rates.{c.value}") for c in LocationClass})


def _red_reasons(doc: Mapping[str, Any]) -> Mapping[RedReason, RedReasonRule]:
    out: dict[RedReason, RedReasonRule] = {}
    for entry in doc.get("red_letter_reasons") or []:
        try:
            code = RedReason(str(entry["code"]))
        except ValueError:
            raise TaxRulesInvalid(f"red_letter_reasons: unknown code {entry.get('code')!r}") from None
        out[code] = RedReasonRule(code, str(entry["zh"]), str(entry["en"]), bool(entry.get("partial")))
    if set(out) != set(RedReason):
        raise TaxRulesInvalid("red_letter_reasons: codes 01–04 must all be listed")
    return MappingProxyType(out)


def parse_tax_rules(text: str) -> TaxRules:
    """Parse and check the rule file's text."""
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict):
        raise TaxRulesInvalid("the rule file must be a mapping")
    consent = doc.get("consent") or {}
    if not consent.get("text_version") or not consent.get("text_zh"):
        raise TaxRulesInvalid("consent: needs text_version and text_zh")

    def rate(entry: Mapping[str, Any], where: str) -> Decimal:
        value = _decimal(entry.get("rate"), f"{where}.rate")
        if value >= 1:
            raise TaxRulesInvalid(f"{where}.rate: a fraction below 1 (0.01 = 1%)")
        return value

    def cap(entry: Mapping[str, Any], where: str) -> tuple[Decimal, int]:
        months = int(entry.get("months", 0))
        if months < 1:
            raise TaxRulesInvalid(f"{where}.months: at least 1")
        return _decimal(entry.get("amount"), f"{where}.amount"), months

    def due_day(entry: Mapping[str, Any], where: str) -> int:
        day = int(entry.get("day", 0))
        if not 1 <= day <= 28:
            raise TaxRulesInvalid(f"{where}.day: 1–28")
        return day

    return TaxRules(
        in_force_from=_date(doc.get("in_force_from"), "in_force_from"),
        consent_text_version=str(consent["text_version"]),
        consent_text_zh=str(consent["text_zh"]),
        seller_cap=_schedule(doc, "seller_cap", cap),
        monthly_threshold=_schedule(doc, "monthly_exemption_threshold",
                                    lambda e, w: _decimal(e.get("amount"), f"{w}.amount")),
        vat_rate=_schedule(doc, "vat_rate", rate),
        urban_rates=_schedule(doc, "urban_maintenance_rate", _urban),
        education_rate=_schedule(doc, "education_surcharge_rate", rate),
        local_education_rate=_schedule(doc, "local_education_surcharge_rate", rate),
        relief_factor=_schedule(doc, "surcharge_relief_factor", lambda e, w: _decimal(e.get("factor"), f"{w}.factor")),
        income_tax_rate=_schedule(doc, "income_tax_prepay_rate", rate),
        filing_due_day=_schedule(doc, "filing_due_day", due_day),
        annual_return_due=_schedule(doc, "annual_return_due",
                                    lambda e, w: (int(e.get("month", 0)), int(e.get("day", 0)))),
        red_reasons=_red_reasons(doc),
    )


@functools.cache
def load_tax_rules(path: Path = RULES_FILE) -> TaxRules:
    """Load (once per process) the shipped rule file."""
    return parse_tax_rules(path.read_text(encoding="utf-8"))
