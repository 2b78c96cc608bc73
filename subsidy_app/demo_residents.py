"""The demo's residents: whose scrapped car the registry and a certificate know, what each buys, an appliance buyer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from subsidy_app.core.identifiers import vin_check_digit

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
NEW_CAR_PRICE = Decimal("150000.00")  # 价税合计 of every demo trade-in's new car (a catalogued NEV)
NEW_CAR_CATALOGUE = "2026-第3批"


def resident_id(body17: str) -> str:
    """Complete a 17-digit resident ID body with its GB 11643 check character."""
    return body17 + "10X98765432"[sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def luhn_card(body18: str) -> str:
    """Complete an 18-digit bank card body with its Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(body18)):
        d = int(ch) * 2 if i % 2 == 0 else int(ch)
        total += d - 9 if d > 9 else d
    return body18 + str((10 - total % 10) % 10)


def with_check_digit(draft: str) -> str:
    """Put the ISO 3779 check digit into position 9 of a 17-character VIN draft."""
    vin = draft[:8] + "0" + draft[9:]
    return vin[:8] + vin_check_digit(vin) + vin[9:]


@dataclass(frozen=True)
class DemoTradeIn:
    """A resident the registry knows, her scrapped petrol car's certificate, and the new car she buys."""

    serial: int
    name: str
    id_body: str
    county_code: str

    @property
    def id_number(self) -> str:
        """The resident's ID number."""
        return resident_id(self.id_body)

    @property
    def phone(self) -> str:
        """The resident's mobile number."""
        return f"1390358{self.serial:04d}"

    @property
    def card(self) -> str:
        """The resident's own debit card."""
        return luhn_card(f"622202058800{self.serial:06d}")

    @property
    def old_vin(self) -> str:
        """The scrapped car's VIN."""
        return with_check_digit(f"LSVAA2180C2{self.serial:06d}")

    @property
    def old_plate(self) -> str:
        """The scrapped car's plate."""
        return f"晋J{70000 + self.serial}"

    @property
    def first_registration(self) -> dt.date:
        """The scrapped car's first registration (petrol, before the 2013-06-30 cut-off)."""
        return dt.date(2012, 3, self.serial)

    @property
    def handover_date(self) -> dt.date:
        """The day the car was handed to the dismantler (fixed, so the registry file never changes)."""
        return dt.date(2026, 3, 1 + self.serial)

    @property
    def deregistered_on(self) -> dt.date:
        """The day the registry recorded the car as deregistered, after the certificate."""
        return dt.date(2026, 3, 10 + self.serial)

    @property
    def certificate_number(self) -> str:
        """The scrap certificate's number (a range no earlier demo used)."""
        return f"JL-BF-2026-{10000 + self.serial}"

    @property
    def new_vin(self) -> str:
        """The new car's VIN."""
        return with_check_digit(f"LGXCE4CB0S0{self.serial:06d}")

    @property
    def invoice_number(self) -> str:
        """The new car's fully digital invoice number (Shanxi, 14)."""
        return f"2614{self.serial:016d}"


# One scrap subsidy per person and year, so each certificate names a resident of its own.
DEMO_TRADE_INS = [
    DemoTradeIn(1, "王丽华", "14110219850312002", "141102"),
    DemoTradeIn(2, "李建军", "14118119780705011", "141181"),
    DemoTradeIn(3, "张秀英", "14118219690921024", "141182"),
    DemoTradeIn(4, "刘志强", "14110219820117035", "141102"),
    DemoTradeIn(5, "陈美玲", "14112119900228046", "141121"),
    DemoTradeIn(6, "杨卫东", "14112219750610057", "141122"),
    DemoTradeIn(7, "赵春梅", "14112419880803068", "141124"),
    DemoTradeIn(8, "郭志刚", "14112519721130079", "141125"),
]


@dataclass(frozen=True)
class DemoBuyer:
    """An appliance buyer (no registry record is needed to claim a till sale)."""

    name: str = "孙晓燕"
    id_number: str = resident_id("14110219910415002")
    phone: str = "13903589001"
    card: str = luhn_card("622848058800000001")


DEMO_BUYER = DemoBuyer()


def registry_csv() -> bytes:
    """The registry file of the trade-ins' old cars: each owned by its resident and deregistered."""
    lines = ["车辆识别代号,号牌号码,车辆类型,使用性质,燃料种类,初次登记日期,所有人身份证明号码,所有人取得日期,注销日期,"
             "注销证明编号,转出日期"]
    lines += [f"{t.old_vin},{t.old_plate},小型轿车,非营运,汽油,{t.first_registration},{t.id_number},"
              f"{t.first_registration},{t.deregistered_on},晋J注{t.deregistered_on:%Y%m%d}{t.serial:03d},"
              for t in DEMO_TRADE_INS]
    return ("\n".join(lines) + "\n").encode()
