"""Appliance and digital trade-ins, pure: categories, import rows, fraud signals and their thresholds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from subsidy_app.core.limits import LARGEST_MONEY

# DOMAIN.md §2: which programme a category belongs to (the rule version then decides whether it is covered).
APPLIANCE_CATEGORIES = ("refrigerator", "washing_machine", "television", "air_conditioner", "computer",
                        "water_heater", "cooker", "range_hood", "microwave", "water_purifier", "dishwasher",
                        "rice_cooker")
DIGITAL_CATEGORIES = ("phone", "tablet", "smartwatch", "smart_glasses")
# The recovery ledger names the household cooker "stove" (recycling.domain.CATEGORIES).
_RECYCLING_NAME = {"cooker": "stove"}
CATEGORY_ZH = {"refrigerator": "冰箱", "washing_machine": "洗衣机", "television": "电视", "air_conditioner": "空调",
               "computer": "电脑", "water_heater": "热水器", "cooker": "家用灶具", "range_hood": "吸油烟机",
               "microwave": "微波炉", "water_purifier": "净水器", "dishwasher": "洗碗机", "rice_cooker": "电饭煲",
               "phone": "手机", "tablet": "平板", "smartwatch": "智能手表/手环", "smart_glasses": "智能眼镜"}
CENT = Decimal("0.01")


class SaleMode(StrEnum):
    """How the subsidy reaches the buyer."""

    INSTANT = "instant"  # 立减: deducted at the till, the dealer is reimbursed by settlement
    CLAIM = "claim"  # the resident applies after purchase and is paid after review


class SaleState(StrEnum):
    """Where a subsidised sale stands."""

    GRANTED = "granted"  # instant discount given, waiting for settlement
    SETTLING = "settling"  # on a dealer statement
    CLAIMABLE = "claimable"  # recorded for a claim after purchase, no application yet
    CLAIMED = "claimed"  # an application was made for it
    RETURNED = "returned"  # refunded: subsidy clawed back, quota stays used
    REVOKED = "revoked"  # found false by a spot check (抽查): clawed back like a return, never settled again


class ParticipationStatus(StrEnum):
    """A dealer's or store's standing for one programme and category."""

    APPROVED = "approved"
    SUSPENDED = "suspended"


def programme_of(category: str) -> str | None:
    """Return the programme a category belongs to, or None for an unknown one."""
    if category in APPLIANCE_CATEGORIES:
        return "appliance"
    if category in DIGITAL_CATEGORIES:
        return "digital"
    return None


def recycling_category(category: str) -> str:
    """Return the recovery ledger's category code of an appliance category."""
    return f"appliance.{_RECYCLING_NAME.get(category, category)}"


# How a person reads each category (stores' posters, residents' pages, reviewers' pages).
CATEGORY_ZH = {"refrigerator": "冰箱", "washing_machine": "洗衣机", "television": "电视", "air_conditioner": "空调",
               "computer": "电脑", "water_heater": "热水器", "cooker": "家用灶具", "range_hood": "吸油烟机",
               "microwave": "微波炉", "water_purifier": "净水器", "dishwasher": "洗碗机", "rice_cooker": "电饭煲",
               "phone": "手机", "tablet": "平板", "smartwatch": "智能手表/手环", "smart_glasses": "智能眼镜"}


def parse_money(text: str) -> Decimal | None:
    """Parse a yuan amount with at most two decimals; None when it is not one."""
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > LARGEST_MONEY or value.quantize(CENT) != value:
        return None
    return value


def parse_grade(text: str) -> int | bool | None:
    """Parse an efficiency grade 1–5; blank is None; False when invalid."""
    raw = str(text or "").strip().replace("级", "")
    if not raw:
        return None
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 5 else False


@dataclass(frozen=True)
class FraudThresholds:
    """Configurable limits above which a pattern is flagged for reviewers (issue 5 §8)."""

    deliveries_per_address: int = 3  # subsidised deliveries to one address in the period
    sales_per_phone: int = 3  # subsidised sales to one phone in the period
    price_margin_percent: Decimal = Decimal("20")  # above the catalogue reference price
    store_buyer_sales: int = 3  # sales by one store to one buyer in the period
    window_days: int = 30


@dataclass(frozen=True)
class SaleFacts:
    """What the fraud checks look at for one sale."""

    price: Decimal
    reference_price: Decimal | None
    sold_at_local: dt.time | None  # None when only the day is known (a back-dated or bulk-filed sale)
    opens_at: dt.time | None
    closes_at: dt.time | None
    same_address: int = 0
    same_phone: int = 0
    same_store_buyer: int = 0
    serial_dealers: int = 1


@dataclass(frozen=True)
class Signal:
    """A fraud signal with its evidence."""

    code: str
    zh: str
    evidence: dict[str, str] = field(default_factory=dict)

    def stored(self) -> dict[str, Any]:
        """Return the signal as stored on a sale (dataclasses.asdict's deep copy was a bulk file's hot spot)."""
        return {"code": self.code, "zh": self.zh, "evidence": dict(self.evidence)}


# Each fraud signal's Chinese name, as reviewers, the dashboard and the stored signal give it.
SIGNAL_LABELS_ZH = {
    "fraud.address": "同一地址多次补贴配送", "fraud.phone": "同一手机号多次补贴购买",
    "fraud.price": "售价高于参考价超过允许幅度", "fraud.store_buyer": "同一门店向同一购买人多次销售",
    "fraud.serial_two_dealers": "同一序列号被两家经销商上报", "fraud.outside_hours": "销售时间不在门店营业时间内",
}


def _count(code: str, zh: str, count: int, limit: int, window_days: int) -> Signal:
    return Signal(code, zh, {"count": str(count), "limit": str(limit), "window_days": str(window_days)})


def _open(opens_at: dt.time, closes_at: dt.time, at: dt.time) -> bool:
    if opens_at <= closes_at:
        return opens_at <= at <= closes_at
    return at >= opens_at or at <= closes_at  # open past midnight, e.g. 18:00–02:00


def fraud_signals(facts: SaleFacts, limits: FraudThresholds) -> list[Signal]:
    """Return the patterns this sale shows (counts include the sale itself)."""
    found: list[Signal] = []
    if facts.same_address > limits.deliveries_per_address:
        found.append(_count("fraud.address", SIGNAL_LABELS_ZH["fraud.address"], facts.same_address,
                            limits.deliveries_per_address, limits.window_days))
    if facts.same_phone > limits.sales_per_phone:
        found.append(_count("fraud.phone", SIGNAL_LABELS_ZH["fraud.phone"], facts.same_phone, limits.sales_per_phone,
                            limits.window_days))
    if facts.reference_price is not None:
        ceiling = facts.reference_price * (100 + limits.price_margin_percent) / 100
        if facts.price > ceiling:
            found.append(Signal("fraud.price", SIGNAL_LABELS_ZH["fraud.price"],
                                {"price": f"{facts.price:.2f}", "reference": f"{facts.reference_price:.2f}",
                                 "margin_percent": str(limits.price_margin_percent)}))
    if facts.same_store_buyer > limits.store_buyer_sales:
        found.append(_count("fraud.store_buyer", SIGNAL_LABELS_ZH["fraud.store_buyer"], facts.same_store_buyer,
                            limits.store_buyer_sales, limits.window_days))
    if facts.serial_dealers > 1:
        found.append(Signal("fraud.serial_two_dealers", SIGNAL_LABELS_ZH["fraud.serial_two_dealers"],
                            {"dealers": str(facts.serial_dealers)}))
    if facts.sold_at_local is not None and facts.opens_at is not None and facts.closes_at is not None and \
            not _open(facts.opens_at, facts.closes_at, facts.sold_at_local):
        found.append(Signal("fraud.outside_hours", SIGNAL_LABELS_ZH["fraud.outside_hours"],
                            {"sold_at": facts.sold_at_local.isoformat(timespec="minutes"),
                             "hours": f"{facts.opens_at:%H:%M}-{facts.closes_at:%H:%M}"}))
    return found


# How reviewers read each evidence key (the values are stored as strings).
_EVIDENCE_ZH = {
    "count": "次数 {}", "limit": "阈值 {}", "window_days": "统计期 {} 天", "price": "售价 {} 元",
    "reference": "参考价 {} 元", "margin_percent": "允许上浮 {}%", "dealers": "上报经销商 {} 家",
    "other_dealer": "另一经销商:{}", "reported_at": "上报时间 {}", "sold_at": "销售时间 {}",
    "hours": "营业时间 {}",
}


def describe_zh(signal: Mapping[str, Any]) -> str:
    """Return a stored signal as one Chinese line: what it is, then its evidence."""
    evidence: Mapping[str, Any] = signal.get("evidence") or {}
    parts = [_EVIDENCE_ZH.get(key, key + " {}").format(value) for key, value in evidence.items()]
    title = str(signal.get("zh") or signal.get("code") or "")
    return f"{title}({','.join(parts)})" if parts else title
