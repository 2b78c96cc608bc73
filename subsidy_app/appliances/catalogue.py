"""The product catalogue: products by GTIN, kept through the API and imported from CSV/XLSX with row errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from subsidy_app.appliances.domain import parse_grade, parse_money, programme_of
from subsidy_app.appliances.models import Product
from subsidy_app.audit import services as audit
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import NotFound, ValidationFailed
from subsidy_app.core.identifiers_trade import normalise_gtin13
from subsidy_app.core.tables import RowError, header_index, named, read_table
from subsidy_app.core.uow import UnitOfWork

COLUMNS: dict[str, tuple[str, ...]] = {
    "gtin": ("商品条码", "条码"),
    "category": ("品类",),
    "brand": ("品牌",),
    "model": ("型号",),
    "energy_grade": ("能效等级",),
    "water_grade": ("水效等级",),
    "reference_price": ("参考价", "参考价格"),
}


@dataclass(frozen=True)
class ProductView:
    """A catalogue product."""

    gtin: str
    category: str
    brand: str
    model: str
    energy_grade: int | None
    water_grade: int | None
    reference_price: Decimal
    active: bool


@dataclass
class ImportReport:
    """What a catalogue import did: counts and each rejected row."""

    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


def _view(p: Product) -> ProductView:
    return ProductView(p.gtin, p.category, p.brand, p.model, p.energy_grade, p.water_grade, p.reference_price,
                       p.active)


def _clean(gtin: str, category: str, brand: str, model: str, energy_grade: object, water_grade: object,
           reference_price: object) -> dict[str, object]:
    """Validate one product's fields; raise ValidationFailed naming the first bad field."""
    code = normalise_gtin13(gtin, field="gtin")
    if programme_of(category) is None:
        raise ValidationFailed.field("category", f"未知品类 {category} / unknown category", reason="product.category")
    if not brand.strip() or not model.strip():
        raise ValidationFailed.field("brand" if not brand.strip() else "model", "不能为空 / required",
                                     reason="product.required")
    grades: dict[str, int | None] = {}
    for name, raw in (("energy_grade", energy_grade), ("water_grade", water_grade)):
        value = parse_grade("" if raw is None else str(raw))
        if value is False:
            raise ValidationFailed.field(name, "等级应为 1–5 / grade must be 1–5", reason="product.grade")
        grades[name] = value if isinstance(value, int) and not isinstance(value, bool) else None
    price = parse_money(str(reference_price))
    if price is None:
        raise ValidationFailed.field("reference_price", "参考价应为正数,最多两位小数 / a positive amount",
                                     reason="product.price")
    return {"gtin": code, "category": category, "brand": brand.strip()[:100], "model": model.strip()[:100],
            **grades, "reference_price": price}


def _store(uow: UnitOfWork, actor: str, values: dict[str, object]) -> bool:
    """Insert or update a product; return True when it was new."""
    row = uow.session.scalar(select(Product).where(Product.gtin == values["gtin"]))
    created = row is None
    if row is None:
        row = Product(updated_by=actor, active=True, **values)
        uow.session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_by, row.updated_at, row.active = actor, utcnow(), True
    return created


def upsert_product(uow: UnitOfWork, *, actor: str, gtin: str, category: str, brand: str, model: str,
                   energy_grade: int | None, water_grade: int | None, reference_price: Decimal) -> ProductView:
    """Create or update one product."""
    values = _clean(gtin, category, brand, model, energy_grade, water_grade, reference_price)
    created = _store(uow, actor, values)
    uow.flush()
    audit.record(uow, actor=actor, action="product.created" if created else "product.updated",
                 entity_type="appliance_product", entity_id=str(values["gtin"]),
                 after={k: str(v) for k, v in values.items()})
    return get_product(uow, gtin=str(values["gtin"]))


def import_products(uow: UnitOfWork, *, actor: str, filename: str, data: bytes) -> ImportReport:
    """Import a catalogue file; good rows are saved, every bad row is reported with its line and field."""
    table = read_table(filename, data)
    at = header_index(table.header, COLUMNS)
    report = ImportReport()
    seen: set[str] = set()
    for line, row in table.rows:
        try:
            values = _clean(**named(row, at))
        except ValidationFailed as exc:
            name = next(iter(exc.errors), "row")
            report.errors.append(RowError(line, name, exc.reason, exc.errors.get(name, [exc.message])[0]))
            continue
        if values["gtin"] in seen:
            report.errors.append(RowError(line, "gtin", "product.duplicate_row", "文件中重复的条码 / duplicate GTIN"))
            continue
        seen.add(str(values["gtin"]))
        if _store(uow, actor, values):
            report.created += 1
        else:
            report.updated += 1
    uow.flush()
    audit.record(uow, actor=actor, action="product.imported", entity_type="appliance_product", entity_id=filename,
                 after={"created": report.created, "updated": report.updated, "errors": len(report.errors)})
    return report


def get_product(uow: UnitOfWork, *, gtin: str) -> ProductView:
    """Return one product by GTIN."""
    row = uow.session.scalar(select(Product).where(Product.gtin == gtin))
    if row is None:
        raise NotFound("目录中没有该商品 / product not in the catalogue", reason="product.not_found")
    return _view(row)


def list_products(uow: UnitOfWork, *, category: str | None = None, limit: int = 100, offset: int = 0
                  ) -> list[ProductView]:
    """List products, optionally of one category."""
    query = select(Product).order_by(Product.gtin).limit(limit).offset(offset)
    if category:
        query = query.where(Product.category == category)
    return [_view(p) for p in uow.session.scalars(query)]


def deactivate_product(uow: UnitOfWork, *, actor: str, gtin: str) -> None:
    """Take a product off the catalogue (sales of it then get no subsidy)."""
    row = uow.session.scalar(select(Product).where(Product.gtin == gtin))
    if row is None:
        raise NotFound("目录中没有该商品 / product not in the catalogue", reason="product.not_found")
    row.active, row.updated_by, row.updated_at = False, actor, utcnow()
    audit.record(uow, actor=actor, action="product.deactivated", entity_type="appliance_product", entity_id=gtin)
