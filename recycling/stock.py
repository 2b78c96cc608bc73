"""Mass balance: stock per site and category, transfers between sites, and the recount that proves it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from recycling.domain import CATEGORIES, ZERO, Quantity, SiteLevel, check_quantity, transfer_direction_ok
from recycling.models import Intake, Site, SiteStock, Transfer
from recycling.sites import get_site, in_scope
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import is_postgres
from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import Principal

STOCK_TABLE = cast(Table, SiteStock.__table__)


@dataclass(frozen=True)
class StockLine:
    """What a site holds of one category."""

    site_id: int
    category: str
    units: int
    weight_kg: Decimal


def add_stock(uow: UnitOfWork, *, site_id: int, category: str, quantity: Quantity) -> None:
    """Add to a site's stock (creating the row on first use)."""
    insert = postgresql.insert if is_postgres(uow.session) else sqlite.insert
    table = STOCK_TABLE
    stmt = insert(table).values(site_id=site_id, category=category, units=quantity.units,
                                weight_kg=quantity.weight_kg)
    stmt = stmt.on_conflict_do_update(index_elements=["site_id", "category"], set_={
        "units": table.c.units + stmt.excluded.units, "weight_kg": table.c.weight_kg + stmt.excluded.weight_kg})
    uow.session.execute(stmt)


def take_stock(uow: UnitOfWork, *, site_id: int, category: str, quantity: Quantity) -> None:
    """Remove from a site's stock, or refuse when it holds less.

    The conditional UPDATE re-checks the row after any concurrent writer commits (PostgreSQL re-evaluates
    the WHERE on the newest row version), so two transfers can never together overdraw a site.
    """
    table = STOCK_TABLE
    result = uow.session.execute(
        update(table)
        .where(table.c.site_id == site_id, table.c.category == category,
               table.c.units >= quantity.units, table.c.weight_kg >= quantity.weight_kg)
        .values(units=table.c.units - quantity.units, weight_kg=table.c.weight_kg - quantity.weight_kg))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        held = stock_of(uow, site_id=site_id, category=category)
        raise Conflict(
            f"网点库存不足：现有 {held.units} 件 / {held.weight_kg} kg，需 {quantity.units} 件 / "
            f"{quantity.weight_kg} kg / the site holds less than this",
            reason="stock.insufficient",
            errors={"units": [f"available {held.units}"], "weight_kg": [f"available {held.weight_kg}"]},
        )


def stock_of(uow: UnitOfWork, *, site_id: int, category: str) -> Quantity:
    """Return what a site holds of a category."""
    row = uow.session.execute(select(SiteStock.units, SiteStock.weight_kg).where(
        SiteStock.site_id == site_id, SiteStock.category == category)).first()
    return ZERO if row is None else Quantity(int(row[0]), Decimal(row[1]))


def site_stock(uow: UnitOfWork, *, site_id: int, principal: Principal | None = None) -> list[StockLine]:
    """List a site's stock by category."""
    get_site(uow, site_id=site_id, principal=principal)
    rows = uow.session.execute(select(SiteStock.category, SiteStock.units, SiteStock.weight_kg)
                               .where(SiteStock.site_id == site_id).order_by(SiteStock.category))
    return [StockLine(site_id, c, int(u), Decimal(w)) for c, u, w in rows if u or w]


@dataclass(frozen=True)
class SiteHolding:
    """What one site holds of one category, with the site named."""

    site_id: int
    site_code: str
    site_name: str
    level: str
    category: str
    units: int
    weight_kg: Decimal


def stock_by_site(uow: UnitOfWork, *, principal: Principal | None) -> list[SiteHolding]:
    """List every visible site's stock by category (empty lines left out), site by site."""
    stmt = in_scope(select(Site.id, Site.code, Site.name, Site.level, SiteStock.category, SiteStock.units,
                           SiteStock.weight_kg).join(SiteStock, SiteStock.site_id == Site.id), principal)
    rows = uow.session.execute(stmt.order_by(Site.id, SiteStock.category))
    return [SiteHolding(i, code, name, level, c, int(u), Decimal(w)) for i, code, name, level, c, u, w in rows
            if u or w]


def transfer_material(
    uow: UnitOfWork, *, actor: str, acting_org_id: int | None, from_site_id: int, to_site_id: int, category: str,
    units: int, weight_kg: Decimal, occurred_on: dt.date,
) -> int:
    """Move material up the network; refused when the sending site holds less."""
    if category not in CATEGORIES:
        raise ValidationFailed.field("category", "未知品类 / unknown category", reason="intake.category")
    problem = check_quantity(units, weight_kg)
    if problem:
        raise ValidationFailed.field(problem[0], problem[1], reason="transfer.quantity")
    if occurred_on > business_date():  # the clerk's today: a Beijing date
        raise ValidationFailed.field("occurred_on", "日期不能晚于今天 / the date is in the future",
                                     reason="transfer.date")
    if from_site_id == to_site_id:
        raise ValidationFailed.field("to_site_id", "调出与调入网点相同 / from and to are the same site")
    source = get_site(uow, site_id=from_site_id)
    target = get_site(uow, site_id=to_site_id)
    if acting_org_id is not None and source.organisation_id != acting_org_id:
        raise ValidationFailed.field("from_site_id", "只能从本企业网点调出 / only from your own sites",
                                     reason="site.not_yours")
    if not target.active:
        raise ValidationFailed.field("to_site_id", "调入网点已停用 / the receiving site is closed")
    if not transfer_direction_ok(SiteLevel(source.level), SiteLevel(target.level)):
        raise ValidationFailed.field("to_site_id", "物料只能由交投点→中转站→分拣中心流转 / material moves up "
                                                   "the network only", reason="transfer.direction")
    quantity = Quantity(units, weight_kg)
    take_stock(uow, site_id=source.id, category=category, quantity=quantity)
    add_stock(uow, site_id=target.id, category=category, quantity=quantity)
    row = Transfer(from_site_id=source.id, to_site_id=target.id, category=category, units=units,
                   weight_kg=weight_kg, occurred_on=occurred_on, recorded_by=actor)
    uow.session.add(row)
    uow.flush()
    audit.record(uow, actor=actor, action="recycling.transferred", entity_type="site_transfer", entity_id=row.id,
                 after={"from": source.id, "to": target.id, "category": category, "units": units,
                        "weight_kg": str(weight_kg)})
    return row.id


def recount_stock(uow: UnitOfWork) -> dict[tuple[int, str], Quantity]:
    """Derive every site's stock from intakes and transfers alone."""
    totals: dict[tuple[int, str], Quantity] = {}

    def add(key: tuple[int, str], q: Quantity) -> None:
        totals[key] = totals.get(key, ZERO) + q

    for site, category, units, weight in uow.session.execute(
            select(Intake.site_id, Intake.category, func.sum(Intake.units), func.sum(Intake.weight_kg))
            .group_by(Intake.site_id, Intake.category)):
        add((site, category), Quantity(int(units), Decimal(weight)))
    for src, dst, category, units, weight in uow.session.execute(
            select(Transfer.from_site_id, Transfer.to_site_id, Transfer.category, func.sum(Transfer.units),
                   func.sum(Transfer.weight_kg)).group_by(Transfer.from_site_id, Transfer.to_site_id,
                                                          Transfer.category)):
        moved = Quantity(int(units), Decimal(weight))
        add((src, category), -moved)
        add((dst, category), moved)
    return {k: v for k, v in totals.items() if v != ZERO}


def stored_stock(uow: UnitOfWork) -> dict[tuple[int, str], Quantity]:
    """Return the stock rows (zero rows left out)."""
    rows = uow.session.execute(select(SiteStock.site_id, SiteStock.category, SiteStock.units, SiteStock.weight_kg))
    return {(s, c): Quantity(int(u), Decimal(w)) for s, c, u, w in rows if u or w}
