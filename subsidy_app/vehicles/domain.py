"""Vehicle registry rules: the record, the registry interface, fuel groups and import-row parsing."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from subsidy_app.core.tables import RowError


class FuelGroup(StrEnum):
    """Fuel groups the first-registration limits of the car rules use."""

    PETROL = "petrol"
    DIESEL = "diesel"
    OTHER = "other"
    NEV = "nev"


# Fuel-type codes on scrap certificates and registry files (DOMAIN.md §3), and the words offices write.
_CODE_GROUPS = {"1": FuelGroup.PETROL, "2": FuelGroup.DIESEL, "3": FuelGroup.OTHER, "4": FuelGroup.OTHER,
                "9": FuelGroup.NEV, "A": FuelGroup.NEV}
_WORD_GROUPS = (
    ("插电", FuelGroup.NEV), ("增程", FuelGroup.NEV), ("纯电", FuelGroup.NEV), ("燃料电池", FuelGroup.NEV),
    ("氢", FuelGroup.NEV), ("油电", FuelGroup.PETROL), ("柴油", FuelGroup.DIESEL), ("汽油", FuelGroup.PETROL),
    ("液化石油气", FuelGroup.OTHER), ("天然气", FuelGroup.OTHER), ("甲醇", FuelGroup.OTHER),
    ("电", FuelGroup.NEV),
)


def fuel_group(code: str, *, nev_plate: bool = False) -> FuelGroup:
    """Map a fuel code or name to its group; a bare hybrid (8, 混合动力) counts as NEV only on a green plate.

    Plug-in hybrids get new-energy (green) plates under GA 36-2018 and count as NEV; ordinary petrol-electric
    hybrids keep blue plates and count as petrol. Unknown codes fall into "other".
    """
    text = unicodedata.normalize("NFKC", code or "").strip().upper()
    if text in _CODE_GROUPS:
        return _CODE_GROUPS[text]
    if text == "8" or text == "混合动力":
        return FuelGroup.NEV if nev_plate else FuelGroup.PETROL
    for word, group in _WORD_GROUPS:
        if word in text:
            return group
    return FuelGroup.OTHER


@dataclass(frozen=True)
class VehicleRecord:
    """What the public-security registry says about one vehicle."""

    vin: str
    plate: str
    vehicle_type: str
    use_type: str
    fuel: str  # a FuelGroup value
    fuel_code: str
    first_registration: dt.date
    owner_id_hash: str
    owner_id_masked: str
    owner_since: dt.date
    deregistered_on: dt.date | None = None
    deregistration_certificate: str | None = None
    transferred_out_on: dt.date | None = None

    @property
    def deregistered(self) -> bool:
        """Tell whether the vehicle has been deregistered (scrapped)."""
        return self.deregistered_on is not None

    @property
    def transferred_out(self) -> bool:
        """Tell whether the vehicle was transferred out of the city."""
        return self.transferred_out_on is not None


class VehicleRegistry(Protocol):
    """Answers questions about a vehicle by VIN."""

    def lookup(self, vin: str) -> VehicleRecord | None:
        """Return the record for a VIN, or None when the registry has none."""


# Column headers of a public-security (车管所) export, mapped to field names.
HEADERS = {
    "车辆识别代号": "vin",
    "号牌号码": "plate",
    "车辆类型": "vehicle_type",
    "使用性质": "use_type",
    "燃料种类": "fuel",
    "初次登记日期": "first_registration",
    "所有人身份证明号码": "owner_id",
    "所有人取得日期": "owner_since",
    "注销日期": "deregistered_on",
    "注销证明编号": "deregistration_certificate",
    "转出日期": "transferred_out_on",
}
REQUIRED = ("vin", "plate", "vehicle_type", "use_type", "fuel", "first_registration", "owner_id", "owner_since")
FIELD_LABELS = {v: k for k, v in HEADERS.items()}


@dataclass
class ImportReport:
    """What an import did: rows accepted (created, updated or unchanged) and rows refused."""

    accepted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)


class RowProblem(ValueError):
    """A row cell that cannot be read: its field, why (Chinese / English) and a stable reason."""

    def __init__(self, field_name: str, message: str, *, reason: str = "registry.row") -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message
        self.reason = reason


def parse_date(value: object, field_name: str, *, required: bool) -> dt.date | None:
    """Read a date cell: a spreadsheet date, or text as 2020-01-31, 2020/1/31, 2020.01.31 or 20200131."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        if required:
            raise RowProblem(field_name, "必填 / required", reason="registry.required")
        return None
    text = text.split(" ")[0].replace("/", "-").replace(".", "-")
    try:
        if "-" in text:
            year, month, day = (int(p) for p in text.split("-"))
            return dt.date(year, month, day)
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) == 8 else _bad(field_name)
    except ValueError:
        return _bad(field_name)


def _bad(field_name: str) -> dt.date:
    raise RowProblem(field_name, "日期格式无效 / date is not valid", reason="registry.date")


def map_headers(cells: list[str]) -> dict[int, str]:
    """Map column positions to field names; raise naming the missing required headers."""
    mapping = {}
    for index, cell in enumerate(cells):
        name = unicodedata.normalize("NFKC", str(cell or "")).strip().lstrip("\ufeff")
        if name in HEADERS:
            mapping[index] = HEADERS[name]
    missing = [FIELD_LABELS[f] for f in REQUIRED if f not in mapping.values()]
    if missing:
        names = "、".join(missing)
        raise RowProblem("file", f"缺少列 {names} / missing columns {names}", reason="file.header")
    return mapping
