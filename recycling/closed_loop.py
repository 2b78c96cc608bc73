"""The closed loop: subsidised trade-ins whose old item must reach a recycler within N days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased

from recycling import hand_in_tally
from recycling.domain import CATEGORIES, Domain, percent
from recycling.models import HandInObligation, Intake, RecyclingSetting, ScrapCertificate
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import insert_rows, slices, utcnow
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import COUNTIES, OrgKind, Principal
from subsidy_app.identity.organisations import ids_of_kind, organisation_names

DEFAULT_HAND_IN_DAYS = 15
KIND_DOMAINS = {"car": Domain.VEHICLES, "appliance": Domain.APPLIANCES}
SYSTEM = "system:recycling"


@dataclass(frozen=True)
class ObligationView:
    """A hand-in obligation as callers see it."""

    id: int
    trade_in_ref: str
    kind: str
    dealer_org_id: int
    county_code: str
    category: str
    occurred_on: dt.date
    due_on: dt.date
    certificate_id: int | None
    picked_up_on: dt.date | None
    matched_intake_id: int | None
    closed_on: dt.date | None
    status: str


@dataclass(frozen=True)
class ClosureRow:
    """Closure figures for one dealer or county."""

    key: str
    name: str
    total: int
    closed: int
    closed_on_time: int
    open: int
    overdue: int
    closure_rate: Decimal | None
    on_time_rate: Decimal | None


def hand_in_days(uow: UnitOfWork, *, kind: str) -> int:
    """Return the configured number of days to hand in an old item of a kind (default 15)."""
    value = uow.session.scalar(select(RecyclingSetting.value).where(RecyclingSetting.key == f"hand_in_days.{kind}"))
    return int(value) if value else DEFAULT_HAND_IN_DAYS


def set_hand_in_days(uow: UnitOfWork, *, actor: str, kind: str, days: int) -> None:
    """Configure the hand-in deadline for a trade-in kind (applies to obligations registered later)."""
    if kind not in KIND_DOMAINS:
        raise ValidationFailed.field("kind", "类型应为 car 或 appliance / kind must be car or appliance")
    if not 1 <= days <= 365:
        raise ValidationFailed.field("days", "天数应在 1–365 之间 / days must be 1–365")
    key = f"hand_in_days.{kind}"
    row = uow.session.get(RecyclingSetting, key)
    before = row.value if row else str(DEFAULT_HAND_IN_DAYS)
    if row is None:
        row = RecyclingSetting(key=key, value=str(days), updated_by=actor)
        uow.session.add(row)
    row.value, row.updated_by, row.updated_at = str(days), actor, utcnow()
    audit.record(uow, actor=actor, action="recycling.setting_changed", entity_type="recycling_setting",
                 entity_id=key, before={"value": before}, after={"value": str(days)})


def _live_intake(uow: UnitOfWork, *, certificate_id: int | None, trade_in_ref: str) -> Intake | None:
    reversal = aliased(Intake)
    by = (Intake.certificate_id == certificate_id) if certificate_id is not None else \
        (Intake.trade_in_ref == trade_in_ref)
    stmt = (select(Intake).where(by, Intake.reverses_id.is_(None))
            .where(~select(reversal.id).where(reversal.reverses_id == Intake.id).exists()).order_by(Intake.id))
    found = uow.session.scalars(stmt).first()
    if found is None and certificate_id is not None:
        return _live_intake(uow, certificate_id=None, trade_in_ref=trade_in_ref)
    return found


@dataclass(frozen=True)
class HandIn:
    """A subsidised trade-in whose old item must be handed in."""

    trade_in_ref: str
    kind: str
    dealer_org_id: int
    county_code: str
    category: str
    occurred_on: dt.date
    certificate_id: int | None = None


def hand_in_refusal(*, kind: str, category: str, county_code: str) -> ValidationFailed | None:
    """Say why a trade-in of this kind, category and county can't carry a hand-in duty (422), or None."""
    if kind not in KIND_DOMAINS:
        return ValidationFailed.field("kind", "类型应为 car 或 appliance / kind must be car or appliance")
    if category not in CATEGORIES or CATEGORIES[category][0] != KIND_DOMAINS[kind]:
        return ValidationFailed.field("category", "品类与类型不符 / category does not fit the kind")
    if county_code not in COUNTIES:
        return ValidationFailed.field("county_code", "不是吕梁市的区县代码 / not a Lüliang county code")
    return None


def register_many(uow: UnitOfWork, *, items: list[HandIn], actor: str = SYSTEM, fresh: bool = False) -> list[int]:
    """Record the hand-in duty of each trade-in in one statement; return their ids (idempotent per trade_in_ref).

    `fresh` says the caller has just made the refs up (new sales): no duty or intake can name them yet, so
    neither is looked for. The first invalid item refuses the whole batch (422 naming the field).
    """
    refs = [item.trade_in_ref.strip() for item in items]
    if not all(refs):
        raise ValidationFailed.field("trade_in_ref", "以旧换新单号不能为空 / trade_in_ref is required")
    ids: dict[str, int] = {} if fresh else {
        ref: i for chunk in slices(set(refs)) for i, ref in uow.session.execute(
            select(HandInObligation.id, HandInObligation.trade_in_ref).where(HandInObligation.trade_in_ref.in_(chunk)))}
    new = list({ref: item for ref, item in zip(refs, items, strict=True) if ref not in ids}.items())
    _check(uow, [item for _, item in new])
    days = {kind: hand_in_days(uow, kind=kind) for kind in {item.kind for _, item in new}}
    written = insert_rows(uow.session, HandInObligation, [
        {"trade_in_ref": ref, "kind": item.kind, "dealer_org_id": item.dealer_org_id, "county_code": item.county_code,
         "category": item.category, "occurred_on": item.occurred_on, "certificate_id": item.certificate_id,
         "due_on": item.occurred_on + dt.timedelta(days=days[item.kind]), "status": "open", "created_at": utcnow()}
        for ref, item in new], returning=("id", "trade_in_ref"))
    ids.update({w["trade_in_ref"]: w["id"] for w in written})
    for _, item in new:
        hand_in_tally.move(uow, county_code=item.county_code, occurred_on=item.occurred_on, before=None, after="open")
    if new:
        first, kind = new[0][0], new[0][1].kind
        after = {"ref": first, "kind": kind, "due_on": new[0][1].occurred_on + dt.timedelta(days=days[kind])} \
            if len(new) == 1 else {"refs": [ref for ref, _ in new], "kind": kind}
        audit.record(uow, actor=actor, action="recycling.hand_in_registered", entity_type="hand_in_obligation",
                     entity_id=ids[first], after=after)
    for ref, item in [] if fresh else new:
        intake = _live_intake(uow, certificate_id=item.certificate_id, trade_in_ref=ref)
        if intake is not None:
            row = uow.session.get(HandInObligation, ids[ref])
            assert row is not None
            _close(uow, row, intake.id, intake.occurred_on, actor)
    return [ids[ref] for ref in refs]


def _check(uow: UnitOfWork, items: list[HandIn]) -> None:
    """Refuse the first item with a kind, category, county, dealer or certificate that does not exist (422)."""
    for item in items:
        refused = hand_in_refusal(kind=item.kind, category=item.category, county_code=item.county_code)
        if refused is not None:
            raise refused
    dealers = {item.dealer_org_id for item in items}
    if dealers and ids_of_kind(uow, dealers, kind=OrgKind.DEALER) != dealers:
        raise ValidationFailed.field("dealer_org_id", "经销商不存在 / dealer not found")
    certificates = {item.certificate_id for item in items if item.certificate_id is not None}
    if certificates and len(set(uow.session.scalars(select(ScrapCertificate.id).where(
            ScrapCertificate.id.in_(certificates))))) != len(certificates):
        raise ValidationFailed.field("certificate_id", "回收证明不存在 / certificate not found")


def register_hand_in_obligation(
    uow: UnitOfWork, *, trade_in_ref: str, kind: str, dealer_org_id: int, county_code: str, category: str,
    occurred_on: dt.date, certificate_id: int | None = None, actor: str = SYSTEM, fresh: bool = False,
) -> int:
    """Record that a subsidised trade-in's old item must be handed in (see `register_many`); idempotent per ref."""
    return register_many(uow, items=[HandIn(trade_in_ref, kind, dealer_org_id, county_code, category, occurred_on,
                                            certificate_id)], actor=actor, fresh=fresh)[0]


def _close(uow: UnitOfWork, row: HandInObligation, intake_id: int, day: dt.date, actor: str) -> None:
    before = hand_in_tally.standing(row.status, row.closed_on, row.due_on)
    row.matched_intake_id, row.closed_on, row.status = intake_id, day, "closed"
    _counted(uow, row, before)
    audit.record(uow, actor=actor, action="recycling.hand_in_closed", entity_type="hand_in_obligation",
                 entity_id=row.id, after={"intake": intake_id, "on_time": day <= row.due_on})


def match_intake(uow: UnitOfWork, *, actor: str, intake_id: int, certificate_id: int | None,
                 trade_in_ref: str | None, occurred_on: dt.date) -> list[int]:
    """Close the open obligations an intake names (by certificate or trade-in ref); return their ids."""
    if certificate_id is None and not trade_in_ref:
        return []
    conditions = []
    if certificate_id is not None:
        conditions.append(HandInObligation.certificate_id == certificate_id)
    if trade_in_ref:
        conditions.append(HandInObligation.trade_in_ref == trade_in_ref)
    rows = list(uow.session.scalars(select(HandInObligation).where(
        or_(*conditions), HandInObligation.status.in_(("open", "overdue"))).with_for_update()))
    for row in rows:
        _close(uow, row, intake_id, occurred_on, actor)
    return [r.id for r in rows]


def unmatch_intake(uow: UnitOfWork, *, actor: str, intake_id: int, today: dt.date | None = None) -> list[int]:
    """Reopen obligations whose matching intake was reversed; return their ids."""
    day = today or business_date()
    rows = list(uow.session.scalars(select(HandInObligation).where(HandInObligation.matched_intake_id == intake_id)
                                    .with_for_update()))
    for row in rows:
        before = hand_in_tally.standing(row.status, row.closed_on, row.due_on)
        row.matched_intake_id, row.closed_on = None, None
        row.status = "overdue" if row.due_on < day else "open"
        _counted(uow, row, before)
        audit.record(uow, actor=actor, action="recycling.hand_in_reopened", entity_type="hand_in_obligation",
                     entity_id=row.id, after={"reversed_intake": intake_id, "status": row.status})
    return [r.id for r in rows]


def void_obligation(uow: UnitOfWork, *, trade_in_ref: str, actor: str, reason: str) -> bool:
    """Drop an open or overdue duty whose trade-in was undone (the sale returned): nothing is owed any more.

    A duty already closed by an intake stays: the old item did reach a recycler and counts as recovered. Return
    whether a duty was dropped; the audit event keeps what it was.
    """
    row = uow.session.scalar(select(HandInObligation).where(
        HandInObligation.trade_in_ref == trade_in_ref, HandInObligation.status.in_(("open", "overdue")))
        .with_for_update())
    if row is None:
        return False
    hand_in_tally.move(uow, county_code=row.county_code, occurred_on=row.occurred_on,
                       before=hand_in_tally.standing(row.status, row.closed_on, row.due_on), after=None)
    audit.record(uow, actor=actor, action="recycling.hand_in_voided", entity_type="hand_in_obligation",
                 entity_id=row.id, before={"ref": row.trade_in_ref, "status": row.status, "due_on": row.due_on},
                 after={"reason": reason[:300]})
    uow.session.delete(row)
    return True


def record_pickup_date(uow: UnitOfWork, *, actor: str, dealer_org_id: int | None, trade_in_ref: str,
                       picked_up_on: dt.date) -> HandInObligation:
    """Note that the dealer collected the old item (送新收旧); return the obligation."""
    row = uow.session.scalar(select(HandInObligation).where(HandInObligation.trade_in_ref == trade_in_ref.strip())
                             .with_for_update())
    if row is None or (dealer_org_id is not None and row.dealer_org_id != dealer_org_id):
        raise NotFound("以旧换新单号不存在 / trade-in not found", reason="hand_in.not_found")
    if picked_up_on < row.occurred_on:
        raise ValidationFailed.field("picked_up_on", "收旧日期早于交易日期 / pickup before the sale")
    if row.picked_up_on is not None and row.picked_up_on != picked_up_on:
        raise Conflict("已登记过收旧日期 / the pickup was already recorded", reason="hand_in.pickup_recorded")
    row.picked_up_on = picked_up_on
    audit.record(uow, actor=actor, action="recycling.dealer_pickup", entity_type="hand_in_obligation",
                 entity_id=row.id, after={"picked_up_on": picked_up_on})
    return row


def flag_overdue(uow: UnitOfWork, *, today: dt.date | None = None, actor: str = SYSTEM) -> int:
    """Mark open obligations past their due date as overdue and notify each county bureau; return how many."""
    day = today or business_date()
    rows = list(uow.session.scalars(select(HandInObligation).where(
        HandInObligation.status == "open", HandInObligation.due_on < day).order_by(HandInObligation.id)
        .with_for_update(skip_locked=True)))
    for row in rows:
        row.status, row.flagged_at = "overdue", utcnow()
        _counted(uow, row, "open")
        audit.record(uow, actor=actor, action="recycling.hand_in_overdue", entity_type="hand_in_obligation",
                     entity_id=row.id, after={"ref": row.trade_in_ref, "due_on": row.due_on})
        identity.notify_county(
            uow, county_code=row.county_code, kind="hand_in.overdue", title="以旧换新旧件逾期未交投",
            body=f"以旧换新单 {row.trade_in_ref} 的旧件应于 {row.due_on:%Y-%m-%d} 前交投回收企业，至今未见回收记录。",
            entity_type="hand_in_obligation", entity_id=row.id)
    return len(rows)


def _counted(uow: UnitOfWork, row: HandInObligation, before: str) -> None:
    """Move a duty's count from its former standing to its present one."""
    hand_in_tally.move(uow, county_code=row.county_code, occurred_on=row.occurred_on, before=before,
                       after=hand_in_tally.standing(row.status, row.closed_on, row.due_on))


def obligation_view(row: HandInObligation) -> ObligationView:
    """Describe an obligation."""
    return ObligationView(row.id, row.trade_in_ref, row.kind, row.dealer_org_id, row.county_code, row.category,
                          row.occurred_on, row.due_on, row.certificate_id, row.picked_up_on, row.matched_intake_id,
                          row.closed_on, row.status)


def list_obligations(uow: UnitOfWork, *, principal: Principal | None, status: str | None = None,
                     limit: int = 200) -> list[ObligationView]:
    """List obligations the caller may see, newest first."""
    stmt = select(HandInObligation).order_by(HandInObligation.id.desc()).limit(limit)
    if principal is not None and principal.organisation_kind == OrgKind.DEALER:
        stmt = stmt.where(HandInObligation.dealer_org_id == principal.organisation_id)
    elif principal is not None and not principal.all_counties:
        stmt = stmt.where(HandInObligation.county_code.in_(principal.counties))
    if status:
        stmt = stmt.where(HandInObligation.status == status)
    return [obligation_view(r) for r in uow.session.scalars(stmt)]


def closure_report(uow: UnitOfWork, *, by: str, counties: frozenset[str] | None = None,
                   date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[ClosureRow]:
    """Closure rate per dealer or per county for trade-ins made in a date range (per county: from the tally)."""
    if by == "dealer":
        tally = _dealer_tally(uow, counties, date_from, date_to)
    else:
        tally = {county: {"open": t["open"], "overdue": t["overdue"], "closed": t["closed_on_time"] + t["closed_late"],
                          "on_time": t["closed_on_time"]}
                 for county, t in hand_in_tally.totals(uow, counties=counties, date_from=date_from,
                                                       date_to=date_to).items()}
    names = _names(uow, by, tally)
    rows = []
    for key, t in sorted(tally.items()):
        due = t["closed"] + t["overdue"]
        rows.append(ClosureRow(key, names.get(key, key), sum(t[s] for s in ("open", "closed", "overdue")),
                               t["closed"], t["on_time"], t["open"], t["overdue"],
                               percent(Decimal(t["closed"]), Decimal(due)), percent(Decimal(t["on_time"]),
                                                                                    Decimal(due))))
    return rows


def _dealer_tally(uow: UnitOfWork, counties: frozenset[str] | None, date_from: dt.date | None,
                  date_to: dt.date | None) -> dict[str, dict[str, int]]:
    """Duties per dealer and status, counted from the duties (a dealer's figures are not tallied)."""
    group = HandInObligation.dealer_org_id
    on_time = func.sum(case((HandInObligation.closed_on <= HandInObligation.due_on, 1), else_=0))
    stmt = select(group, HandInObligation.status, func.count(), on_time).group_by(group, HandInObligation.status)
    if counties is not None:
        stmt = stmt.where(HandInObligation.county_code.in_(counties))
    if date_from is not None:
        stmt = stmt.where(HandInObligation.occurred_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(HandInObligation.occurred_on <= date_to)
    tally: dict[str, dict[str, int]] = {}
    for key, status, count, timely in uow.session.execute(stmt):
        entry = tally.setdefault(str(key), {"open": 0, "closed": 0, "overdue": 0, "on_time": 0})
        entry[status] += int(count)
        entry["on_time"] += int(timely or 0) if status == "closed" else 0
    return tally


def _names(uow: UnitOfWork, by: str, tally: dict[str, dict[str, int]]) -> dict[str, str]:
    if by != "dealer":
        return dict(COUNTIES)
    ids = [int(k) for k in tally]
    return {str(i): n for i, n in organisation_names(uow, ids).items()}


def obligations_by_ref(uow: UnitOfWork, *, dealer_org_id: int, refs: Iterable[str]) -> dict[str, ObligationView]:
    """Return a dealer's hand-in obligations for these trade-in refs (a sales list shows each one's pickup)."""
    wanted = list(refs)
    if not wanted:
        return {}
    rows = uow.session.scalars(select(HandInObligation).where(HandInObligation.dealer_org_id == dealer_org_id,
                                                              HandInObligation.trade_in_ref.in_(wanted)))
    return {row.trade_in_ref: obligation_view(row) for row in rows}
