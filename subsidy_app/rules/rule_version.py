"""The immutable RuleVersion: lookups derived for evaluation, its file form and its content hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

from subsidy_app.rules.domain import (
    ANY,
    CategoryDef,
    Condition,
    DocumentRequirement,
    ExclusionRule,
    FixedByNewVehicleType,
    Formula,
    LimitPeriod,
    LimitRule,
    OwnerSinceCutoff,
    PercentOfPriceCapped,
    PriceBasis,
    Programme,
    QuotaKey,
    ReviewLimit,
    Rounding,
    RoundingMode,
    money_str,
    number_str,
)

_ROUNDING_CONSTANTS = {
    RoundingMode.HALF_UP: ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: ROUND_HALF_EVEN,
    RoundingMode.DOWN: ROUND_DOWN,
}


@dataclass(frozen=True, eq=False)
class RuleVersion:
    """One immutable rule version of one programme; equal versions have equal content hashes."""

    code: str
    series: str
    version: int
    programme: Programme
    title_zh: str
    title_en: str
    effective_from: date
    effective_to: date | None
    apply_by: date | None
    unconfirmed_fields: tuple[str, ...]
    source: str
    categories: tuple[CategoryDef, ...]
    price_basis: PriceBasis
    conditions: tuple[Condition, ...]
    amount: Formula
    rounding: Rounding
    limits: LimitRule
    exclusions: tuple[ExclusionRule, ...]
    documents: tuple[DocumentRequirement, ...]
    review: ReviewLimit | None = None  # the review time limit the version states; None: it states none
    # Derived at construction so evaluation does no parsing or searching.
    content_hash: str = field(init=False, repr=False)
    category_map: Mapping[str, CategoryDef] = field(init=False, repr=False)
    covered_zh: str = field(init=False, repr=False)
    covered_en: str = field(init=False, repr=False)
    documents_by_category: Mapping[str, tuple[DocumentRequirement, ...]] = field(init=False, repr=False)
    quota_max: Mapping[str, int] = field(init=False, repr=False)
    needs_price: bool = field(init=False, repr=False)
    active_conditions: tuple[Condition, ...] = field(init=False, repr=False)
    quantum: Decimal = field(init=False, repr=False)
    rounding_constant: str = field(init=False, repr=False)
    zero_amount: Decimal = field(init=False, repr=False)
    version_quota: Mapping[str, QuotaKey] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "category_map", MappingProxyType({c.code: c for c in self.categories}))
        put(self, "covered_zh", "、".join(c.zh for c in self.categories))
        put(self, "covered_en", ", ".join(c.code for c in self.categories))
        docs = {
            c.code: tuple(d for d in self.documents if d.categories is None or c.code in d.categories)
            for c in self.categories
        }
        put(self, "documents_by_category", MappingProxyType(docs))
        quota = {
            c.code: self.limits.overrides.get(c.code, self.limits.max_per_category) for c in self.categories
        }
        put(self, "quota_max", MappingProxyType(quota))
        put(self, "needs_price", not isinstance(self.amount, FixedByNewVehicleType))
        # An owner cutoff left unset (unconfirmed) is no condition at all.
        active = tuple(c for c in self.conditions if not isinstance(c, OwnerSinceCutoff) or c.active)
        put(self, "active_conditions", active)
        put(self, "quantum", Decimal(1).scaleb(-self.rounding.places))
        put(self, "rounding_constant", _ROUNDING_CONSTANTS[self.rounding.mode])
        put(self, "zero_amount", Decimal(0).quantize(self.quantum))
        version_quota = {}
        if (
            self.limits.period is LimitPeriod.VERSION
        ):  # the series, so a correction keeps counting the same quota
            version_quota = {
                code: QuotaKey(self.programme.value, code, LimitPeriod.VERSION, self.series, n)
                for code, n in quota.items()
            }
        put(self, "version_quota", MappingProxyType(version_quota))
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        put(self, "content_hash", hashlib.sha256(canonical.encode("utf-8")).hexdigest())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleVersion) and other.content_hash == self.content_hash

    def __hash__(self) -> int:
        return hash(self.content_hash)

    @property
    def category_codes(self) -> frozenset[str]:
        """Return the codes of the categories this version covers."""
        return frozenset(self.category_map)

    def covers(self, purchase_date: date) -> bool:
        """Tell whether a purchase date falls in the effective window (both ends inclusive)."""
        return self.effective_from <= purchase_date and (
            self.effective_to is None or purchase_date <= self.effective_to
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the version in file form, JSON-able (dates ISO, amounts as strings)."""
        return {
            "code": self.code,
            "series": self.series,
            "version": self.version,
            "programme": str(self.programme),
            "title": {"zh": self.title_zh, "en": self.title_en},
            "effective_from": self.effective_from.isoformat(),
            "effective_to": _iso(self.effective_to),
            "apply_by": _iso(self.apply_by),
            "unconfirmed_fields": list(self.unconfirmed_fields),
            "source": self.source,
            "categories": [c.to_dict() for c in self.categories],
            "price_basis": str(self.price_basis),
            "conditions": [{"clause": c.clause, **c.params(), **c.meta.to_dict()} for c in self.conditions],
            "amount": _formula_dict(self.amount),
            "rounding": {"places": self.rounding.places, "mode": str(self.rounding.mode)},
            "limits": {
                "period": str(self.limits.period),
                "max_per_category": self.limits.max_per_category,
                "overrides": dict(self.limits.overrides),
                **self.limits.meta.to_dict(),
            },
            "exclusions": [{"group": e.group, "key": e.key, **e.meta.to_dict()} for e in self.exclusions],
            "documents": [_document_dict(d) for d in self.documents],
            # Only when stated, so a version written before the field existed keeps its content hash.
            **({"review": self.review.to_dict()} if self.review is not None else {}),
        }


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _by_type(values: Mapping[str, Decimal], fmt: Callable[[Decimal], str]) -> object:
    if set(values) == {ANY}:
        return fmt(values[ANY])
    return {k: fmt(v) for k, v in values.items()}


def _formula_dict(f: Formula) -> dict[str, object]:
    out: dict[str, object] = {"kind": str(f.kind)}
    if isinstance(f, FixedByNewVehicleType):
        out["amounts"] = {k: money_str(v) for k, v in f.amounts.items()}
    elif isinstance(f, PercentOfPriceCapped):
        out["rate_percent"] = _by_type(f.rate_percent, number_str)
        out["cap"] = _by_type(f.cap, money_str)
    else:
        out["rate_percent_by_grade"] = {str(g): number_str(r) for g, r in f.rate_percent_by_grade.items()}
        out["cap"] = money_str(f.cap)
    return {**out, **f.meta.to_dict()}


def _document_dict(d: DocumentRequirement) -> dict[str, object]:
    out: dict[str, object] = {"code": d.code, "zh": d.zh, "en": d.en}
    if d.categories is not None:
        out["categories"] = list(d.categories)
    return {**out, **d.meta.to_dict()}
