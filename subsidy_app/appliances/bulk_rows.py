"""Bulk sales rows in memory: parse, validate and evaluate each row exactly as the till would, without a query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from subsidy_app.appliances import selling
from subsidy_app.appliances.domain import parse_money, programme_of
from subsidy_app.appliances.models import Product
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import DomainError, ValidationFailed
from subsidy_app.core.identifiers import normalise_resident_id
from subsidy_app.core.identifiers_trade import check_invoice_number, normalise_gtin13, normalise_phone
from subsidy_app.core.tables import RowError
from subsidy_app.rules.domain import Decision, Facts
from subsidy_app.rules.evaluator import evaluate, select_version
from subsidy_app.rules.ruleset import RuleVersion

# Which column a refusal points at, by its reason.
REASON_FIELD = {"device.already_subsidised": "serial_number", "invoice.already_subsidised": "invoice_number",
                "quota.exhausted": "buyer_id_number", "product.not_in_catalogue": "gtin", "rules.no_version": "sold_on",
                "rule.price.unit_ceiling": "price", "rule.energy_grade.allowed": "gtin",
                "dealer.not_approved": "gtin", "person.name_mismatch": "buyer_name"}
_FILE_FIELD = {"id_number": "buyer_id_number", "phone": "buyer_phone", "name": "buyer_name"}


@dataclass(frozen=True)
class Row:
    """One row that earns a subsidy on paper: identifiers normalised, decision taken, buyer not yet looked up."""

    line: int
    product: Product
    serial_key: str
    invoice_key: str
    price: Decimal
    sold_on: dt.date
    decision: Decision
    buyer_name: str
    id_number: str
    birth_date: dt.date
    phone: str
    phone_raw: str
    delivery_address: str | None


def error(line: int, exc: DomainError) -> RowError:
    """Turn a refusal into a report line naming the file's column."""
    name = next(iter(exc.errors), None) or REASON_FIELD.get(exc.reason, "row")
    name = _FILE_FIELD.get(name, name)
    return RowError(line, name, exc.reason, exc.message)


def refusal(line: int, code: str, zh: str, en: str) -> RowError:
    """A row the rules give no subsidy, with the till's reason."""
    return RowError(line, REASON_FIELD.get(code, "row"), code, f"{zh} / {en}")


def _clean_name(name: str) -> str:
    # The same rule as identity.persons.register_person, checked here so a bad name never reaches the database.
    cleaned = " ".join(name.split())
    if not 2 <= len(cleaned) <= 40:
        raise ValidationFailed.field("name", "姓名应为 2–40 个字符 / name must be 2–40 characters")
    return cleaned


def _date(line: int, text: str) -> dt.date | RowError:
    try:
        sold_on = dt.date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        return RowError(line, "sold_on", "sale.date", "销售日期应为 YYYY-MM-DD / sold_on must be YYYY-MM-DD")
    if sold_on > business_date():
        return RowError(line, "sold_on", "sale.date", "销售日期不能晚于今天 / sold_on is in the future")
    return sold_on


def prepare(line: int, cells: dict[str, str], products: dict[str, Product], versions: tuple[RuleVersion, ...]
            ) -> Row | RowError:
    """Check one row in the order selling.check does, so a row's first fault is the one the till would name."""
    price = parse_money(cells["price"])
    if price is None:
        return RowError(line, "price", "sale.price", "价格应为正数,最多两位小数 / price must be a positive amount")
    sold_on = _date(line, cells["sold_on"])
    if isinstance(sold_on, RowError):
        return sold_on
    try:
        gtin = normalise_gtin13(cells["gtin"], field="gtin")
        invoice = check_invoice_number(cells["invoice_number"], cells.get("invoice_code") or None)
        product = products.get(gtin)
        if product is None or not product.active:
            return refusal(line, "product.not_in_catalogue", "该商品不在补贴产品目录中,不享受补贴",
                           "the product is not in the subsidy catalogue: no subsidy")
        serial_key = selling._serial(product.category, cells["serial_number"])
        programme = programme_of(product.category)
        version = select_version(versions, programme or "", product.category, sold_on)
        if version is None:
            return refusal(line, "rules.no_version", f"{sold_on} 没有覆盖该品类的补贴政策,不享受补贴",
                           f"no rule version covers {product.category} on {sold_on}: no subsidy")
        grade = product.energy_grade if product.energy_grade is not None else product.water_grade
        decision = evaluate(version, Facts(programme=version.programme.value, purchase_date=sold_on, price=price,
                                           category=product.category, energy_grade=grade))
        if not decision.eligible:
            failed = decision.failed[0]
            return refusal(line, f"rule.{failed.clause}", failed.explanation_zh, failed.explanation_en)
        # The buyer's identifiers, as identity.persons.register_person validates them.
        id_number = normalise_resident_id(cells["buyer_id_number"], field="id_number")
        name = _clean_name(cells["buyer_name"])
        phone = normalise_phone(cells["buyer_phone"], field="phone") if cells["buyer_phone"] else ""
    except DomainError as exc:
        return error(line, exc)
    # A validated ID number holds a real birth date (YYYYMMDD at 6–14): read it once, not re-validate it.
    born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    return Row(line, product, serial_key, invoice.key, price, sold_on, decision, name, id_number, born, phone,
               "".join(cells["buyer_phone"].split()), cells.get("delivery_address") or None)
