"""Recovery rules (pure): categories, site levels, mass balance, ten-day periods, targets and forecasts."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

KG = Decimal("0.001")
# The most one movement may record: far above any real load, well inside the stock columns (Integer,
# Numeric(14, 3)) so that a typo or a hostile figure is refused by field instead of failing in the database.
MAX_UNITS = 1_000_000
MAX_WEIGHT_KG = Decimal("100000000.000")  # 100,000 tonnes


class Domain(StrEnum):
    """The report's domains (一领域一张表)."""

    VEHICLES = "vehicles"
    APPLIANCES = "appliances"
    OFFICE = "office"
    MATERIALS = "materials"
    USED_CARS = "used_cars"


DOMAIN_LABELS = {
    Domain.VEHICLES: "报废机动车", Domain.APPLIANCES: "废旧家电", Domain.OFFICE: "废旧办公设备",
    Domain.MATERIALS: "再生资源", Domain.USED_CARS: "二手车交易",
}

# category code -> (domain, Chinese label). Vehicle types follow "scrapped vehicles by type".
CATEGORIES: dict[str, tuple[Domain, str]] = {
    "vehicle.passenger": (Domain.VEHICLES, "小型、微型载客汽车"),
    "vehicle.bus": (Domain.VEHICLES, "大中型客车"),
    "vehicle.truck": (Domain.VEHICLES, "货车"),
    "vehicle.special": (Domain.VEHICLES, "专项作业车"),
    "vehicle.motorcycle": (Domain.VEHICLES, "摩托车"),
    "vehicle.other": (Domain.VEHICLES, "其他机动车"),
    "appliance.refrigerator": (Domain.APPLIANCES, "冰箱"),
    "appliance.washing_machine": (Domain.APPLIANCES, "洗衣机"),
    "appliance.television": (Domain.APPLIANCES, "电视"),
    "appliance.air_conditioner": (Domain.APPLIANCES, "空调"),
    "appliance.computer": (Domain.APPLIANCES, "电脑"),
    "appliance.water_heater": (Domain.APPLIANCES, "热水器"),
    "appliance.stove": (Domain.APPLIANCES, "家用灶具"),
    "appliance.range_hood": (Domain.APPLIANCES, "吸油烟机"),
    "appliance.microwave": (Domain.APPLIANCES, "微波炉"),
    "appliance.water_purifier": (Domain.APPLIANCES, "净水器"),
    "appliance.dishwasher": (Domain.APPLIANCES, "洗碗机"),
    "appliance.rice_cooker": (Domain.APPLIANCES, "电饭煲"),
    "appliance.phone": (Domain.APPLIANCES, "手机"),
    "appliance.tablet": (Domain.APPLIANCES, "平板"),
    "appliance.smartwatch": (Domain.APPLIANCES, "智能手表/手环"),
    "appliance.smart_glasses": (Domain.APPLIANCES, "智能眼镜"),
    "office.computer": (Domain.OFFICE, "计算机"),
    "office.printer": (Domain.OFFICE, "打印机"),
    "office.telephone": (Domain.OFFICE, "电话机"),
    "office.camera": (Domain.OFFICE, "照相机"),
    "office.projector": (Domain.OFFICE, "投影仪"),
    "office.air_conditioner": (Domain.OFFICE, "空调"),
    "material.steel": (Domain.MATERIALS, "废钢铁"),
    "material.nonferrous": (Domain.MATERIALS, "废有色金属"),
    "material.plastic": (Domain.MATERIALS, "废塑料"),
    "material.rubber_tyre": (Domain.MATERIALS, "废橡胶及轮胎"),
    "material.paper": (Domain.MATERIALS, "废纸"),
    "material.glass": (Domain.MATERIALS, "废玻璃"),
    "material.traction_battery": (Domain.MATERIALS, "废旧动力电池"),
}
USED_CAR_CATEGORY = "used_car"  # rollup key of used-car transactions (not an intake category)
ROLLUP_CATEGORIES = {**{c: d for c, (d, _label) in CATEGORIES.items()}, USED_CAR_CATEGORY: Domain.USED_CARS}


def categories_of(domain: Domain) -> list[str]:
    """Return the category codes of a domain, in display order."""
    return [c for c, d in ROLLUP_CATEGORIES.items() if d == domain]


class SiteLevel(StrEnum):
    """The three levels of the recovery network, lowest first."""

    DROP_OFF = "drop_off"
    TRANSFER = "transfer"
    SORTING = "sorting"


SITE_LEVEL_LABELS = {SiteLevel.DROP_OFF: "交投点", SiteLevel.TRANSFER: "中转站", SiteLevel.SORTING: "分拣中心"}
_LEVEL_RANK = {SiteLevel.DROP_OFF: 0, SiteLevel.TRANSFER: 1, SiteLevel.SORTING: 2}


def transfer_direction_ok(from_level: SiteLevel, to_level: SiteLevel) -> bool:
    """Tell whether material may move between levels: never down the network (drop-off → transfer → sorting)."""
    return _LEVEL_RANK[to_level] >= _LEVEL_RANK[from_level]


class IntakeSource(StrEnum):
    """Where an intake came from."""

    RESIDENT = "resident"
    DEALER_PICKUP = "dealer_pickup"
    INSTITUTION = "institution"
    OTHER_SITE = "site"


SOURCE_LABELS = {IntakeSource.RESIDENT: "居民交投", IntakeSource.DEALER_PICKUP: "经销商上门回收（以旧换新）",
                 IntakeSource.INSTITUTION: "公共机构", IntakeSource.OTHER_SITE: "其他网点"}


def counts_for_recovery(source: IntakeSource) -> bool:
    """Tell whether an intake adds to recovery volumes (material from another site was counted there)."""
    return source != IntakeSource.OTHER_SITE


class QualificationKind(StrEnum):
    """Licences a recycler may hold (DOMAIN §4)."""

    DISMANTLING = "dismantling"
    RENEWABLE_FILING = "renewable_filing"
    HAZARDOUS_WASTE = "hazardous_waste"


QUALIFICATION_LABELS = {QualificationKind.DISMANTLING: "报废机动车回收拆解企业资质认定证书",
                        QualificationKind.RENEWABLE_FILING: "再生资源回收经营者备案",
                        QualificationKind.HAZARDOUS_WASTE: "危险废物经营许可证"}


def licence_valid(valid_from: dt.date, valid_to: dt.date | None, on: dt.date) -> bool:
    """Tell whether a licence covers a day (valid_to inclusive; None = open-ended)."""
    return valid_from <= on and (valid_to is None or on <= valid_to)


# --- mass balance -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quantity:
    """Units and kilograms of one category."""

    units: int
    weight_kg: Decimal

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.units + other.units, self.weight_kg + other.weight_kg)

    def __neg__(self) -> Quantity:
        return Quantity(-self.units, -self.weight_kg)

    def covers(self, other: Quantity) -> bool:
        """Tell whether this stock can give `other` away without going negative."""
        return self.units >= other.units and self.weight_kg >= other.weight_kg


ZERO = Quantity(0, Decimal("0.000"))


def check_quantity(units: int, weight_kg: Decimal) -> tuple[str, str] | None:
    """Return (field, message) for what is wrong with a movement's quantity, or None."""
    if units < 0:
        return "units", "数量不能为负 / units must not be negative"
    if weight_kg < 0:
        return "weight_kg", "重量不能为负 / weight must not be negative"
    if units > MAX_UNITS:
        return "units", f"单次数量不能超过 {MAX_UNITS:,} / at most {MAX_UNITS:,} units at a time"
    if weight_kg > MAX_WEIGHT_KG:
        return "weight_kg", "单次重量不能超过 100,000 吨 / at most 100,000 tonnes at a time"
    if weight_kg.quantize(KG) != weight_kg:
        return "weight_kg", "重量最多三位小数（克）/ weight has at most 3 decimals"
    if units == 0 and weight_kg == 0:
        return "units", "数量和重量不能同时为零 / units and weight can't both be zero"
    return None


# --- ten-day and monthly periods ---------------------------------------------------------------------
_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:-([123]))?$")


@dataclass(frozen=True)
class Period:
    """A reporting period: a ten-day period (旬, code YYYY-MM-1|2|3) or a month (code YYYY-MM)."""

    year: int
    month: int
    dekad: int | None = None  # 1: days 1–10, 2: 11–20, 3: 21–end; None: whole month

    @property
    def code(self) -> str:
        """Return the period's code."""
        base = f"{self.year:04d}-{self.month:02d}"
        return base if self.dekad is None else f"{base}-{self.dekad}"

    @property
    def kind(self) -> str:
        """Return "ten_day" or "monthly"."""
        return "monthly" if self.dekad is None else "ten_day"

    @property
    def start(self) -> dt.date:
        """Return the first day."""
        return dt.date(self.year, self.month, {None: 1, 1: 1, 2: 11, 3: 21}[self.dekad])

    @property
    def end(self) -> dt.date:
        """Return the last day (inclusive)."""
        last = calendar.monthrange(self.year, self.month)[1]
        return dt.date(self.year, self.month, {None: last, 1: 10, 2: 20, 3: last}[self.dekad])

    @property
    def label_zh(self) -> str:
        """Return the Chinese label, e.g. 2026年11月中旬."""
        base = f"{self.year}年{self.month}月"
        return base if self.dekad is None else base + {1: "上旬", 2: "中旬", 3: "下旬"}[self.dekad]


def parse_period(code: str) -> Period:
    """Parse YYYY-MM-1|2|3 (ten-day) or YYYY-MM (month); raise ValueError otherwise."""
    match = _PERIOD.match(code.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise ValueError("period must be YYYY-MM-1|2|3 (ten-day) or YYYY-MM (monthly)")
    return Period(int(match.group(1)), int(match.group(2)), int(match.group(3)) if match.group(3) else None)


def dekad_of(day: dt.date) -> Period:
    """Return the ten-day period containing a day."""
    return Period(day.year, day.month, 1 if day.day <= 10 else 2 if day.day <= 20 else 3)


def last_completed_periods(today: dt.date) -> list[Period]:
    """Return the ten-day period and the month that ended most recently before `today`."""
    before_dekad = dekad_of(today).start - dt.timedelta(days=1)
    before_month = today.replace(day=1) - dt.timedelta(days=1)
    return [dekad_of(before_dekad), Period(before_month.year, before_month.month)]


# --- baselines, targets, progress, forecast ----------------------------------------------------------
class Indicator(StrEnum):
    """Plan indicators measured against the 2023 baseline."""

    VEHICLES = "vehicles"
    USED_CARS = "used_cars"
    APPLIANCES = "appliances"


INDICATOR_DOMAIN = {Indicator.VEHICLES: Domain.VEHICLES, Indicator.USED_CARS: Domain.USED_CARS,
                    Indicator.APPLIANCES: Domain.APPLIANCES}
INDICATOR_LABELS = {Indicator.VEHICLES: "报废汽车回收量（辆）", Indicator.USED_CARS: "二手车交易量（辆）",
                    Indicator.APPLIANCES: "废旧家电回收量（台）"}


@dataclass(frozen=True)
class Path:
    """The straight line from a baseline year's figure to a target year's figure."""

    baseline_year: int
    baseline: Decimal
    target_year: int
    target: Decimal

    def annual_target(self, year: int) -> Decimal:
        """Return the figure the straight-line path expects for a year."""
        span = self.target_year - self.baseline_year
        step = (self.target - self.baseline) * (year - self.baseline_year) / span
        return (self.baseline + step).quantize(Decimal("0.01"))

    def expected_to_date(self, day: dt.date) -> Decimal:
        """Return the year-to-date figure the path expects by the end of `day`."""
        return (self.annual_target(day.year) * year_fraction(day)).quantize(Decimal("0.01"))


def target_from(baseline: Decimal, factor: Decimal) -> Decimal:
    """Return a target as baseline × factor (×2 = +100%, 1.45 = +45%)."""
    return (baseline * factor).quantize(Decimal("0.01"))


def year_fraction(day: dt.date) -> Decimal:
    """Return the share of the year elapsed at the end of `day`."""
    days = 366 if calendar.isleap(day.year) else 365
    return Decimal(day.timetuple().tm_yday) / Decimal(days)


def run_rate(ytd: Decimal, day: dt.date) -> Decimal:
    """Annualise a year-to-date figure."""
    return (ytd / year_fraction(day)).quantize(Decimal("0.01"))


def forecast(path: Path, ytd: Decimal, day: dt.date) -> Decimal:
    """Forecast the target year's figure, never below zero.

    The run rate annualises the year to date (ytd ÷ share of the year elapsed); the line from the baseline
    year's figure through this year's run rate is extended to the target year. A run rate far below the
    baseline makes that line fall below zero (13 units against a baseline of 6,240 gave -2,060.47), but no
    year recovers fewer than nothing, so the forecast is floored at 0.
    """
    rate = run_rate(ytd, day)
    elapsed = day.year - path.baseline_year
    if elapsed <= 0:
        return rate
    slope = (rate - path.baseline) / elapsed
    line = (path.baseline + slope * (path.target_year - path.baseline_year)).quantize(Decimal("0.01"))
    return max(line, Decimal("0.00"))


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """Return part / whole as a percentage with one decimal, or None when whole is zero."""
    if whole == 0:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"))
