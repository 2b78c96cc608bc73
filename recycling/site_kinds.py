"""What each kind of site takes in, and the weight per unit a category plausibly has (pure)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from recycling.domain import CATEGORIES, KG, Domain
from subsidy_app.core.numbers import number_str


class SiteKind(StrEnum):
    """A site's business: end-of-life vehicles (a dismantler's), renewable resources, or both."""

    VEHICLES = "vehicles"
    RENEWABLE = "renewable"
    GENERAL = "general"  # both: the default, and a site from before kinds whose recycler's licences don't decide


SITE_KIND_LABELS = {SiteKind.VEHICLES: "报废机动车回收", SiteKind.RENEWABLE: "再生资源回收",
                    SiteKind.GENERAL: "综合回收"}
_DOMAINS = {
    SiteKind.VEHICLES: frozenset({Domain.VEHICLES}),
    SiteKind.RENEWABLE: frozenset({Domain.APPLIANCES, Domain.OFFICE, Domain.MATERIALS}),
    SiteKind.GENERAL: frozenset({Domain.VEHICLES, Domain.APPLIANCES, Domain.OFFICE, Domain.MATERIALS}),
}


def categories_for(kind: str) -> list[str]:
    """Return the intake categories a site of this kind takes in, in display order."""
    domains = _DOMAINS[SiteKind(kind)]
    return [code for code, (domain, _label) in CATEGORIES.items() if domain in domains]


def takes(kind: str, category: str) -> bool:
    """Tell whether a site of this kind takes in this category."""
    return category in CATEGORIES and CATEGORIES[category][0] in _DOMAINS[SiteKind(kind)]


# Plausible kilograms per unit, (low, high), by category: local judgement of the platform team from typical
# product and kerb weights (a microwave ~12 kg, a split air conditioner ~45 kg, a small car ~1.2 t), kept wide
# so that only a slip — units and kilograms swapped, grams typed as kilograms — is warned. Not a rule: an intake
# outside its range is still recorded. Materials are weighed in bulk, their units mean nothing: no range.
UNIT_WEIGHT_KG: dict[str, tuple[Decimal, Decimal]] = {code: (Decimal(low), Decimal(high)) for code, (low, high) in {
    "vehicle.passenger": ("400", "4000"),
    "vehicle.bus": ("1500", "25000"),
    "vehicle.truck": ("800", "40000"),
    "vehicle.special": ("800", "60000"),
    "vehicle.motorcycle": ("40", "600"),
    "vehicle.other": ("40", "60000"),
    "appliance.refrigerator": ("15", "250"),
    "appliance.washing_machine": ("10", "150"),
    "appliance.television": ("2", "100"),
    "appliance.air_conditioner": ("10", "200"),
    "appliance.computer": ("0.5", "40"),
    "appliance.water_heater": ("3", "120"),
    "appliance.stove": ("2", "60"),
    "appliance.range_hood": ("5", "60"),
    "appliance.microwave": ("5", "40"),
    "appliance.water_purifier": ("1", "60"),
    "appliance.dishwasher": ("10", "100"),
    "appliance.rice_cooker": ("1", "15"),
    "appliance.phone": ("0.05", "1"),
    "appliance.tablet": ("0.1", "2"),
    "appliance.smartwatch": ("0.01", "0.3"),
    "appliance.smart_glasses": ("0.01", "0.5"),
    "office.computer": ("0.5", "40"),
    "office.printer": ("2", "300"),
    "office.telephone": ("0.2", "5"),
    "office.camera": ("0.1", "10"),
    "office.projector": ("0.5", "40"),
    "office.air_conditioner": ("10", "400"),
}.items()}


def unit_weight_warning(category: str, units: int, weight_kg: Decimal) -> str | None:
    """Return a warning (Chinese, naming the fields) when the weight per unit is implausible, else None."""
    plausible = UNIT_WEIGHT_KG.get(category)
    if plausible is None or units <= 0 or weight_kg <= 0:
        return None
    low, high = plausible
    per_unit = weight_kg / units
    if low <= per_unit <= high:
        return None
    label = CATEGORIES[category][1]
    return (f"数量、重量:平均每件 {number_str(per_unit.quantize(KG))} 千克,{label}通常每件 "
            f"{number_str(low)}–{number_str(high)} 千克,请核对数量和重量")
