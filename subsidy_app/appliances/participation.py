"""Dealer participation: stores, the county bureau's approval per programme and category, dealer accounts."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from subsidy_app.appliances.domain import ParticipationStatus, programme_of
from subsidy_app.appliances.models import DealerAccount, Participation, Store
from subsidy_app.audit import services as audit
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from subsidy_app.core.limits import MAX_ID
from subsidy_app.core.personal_data import mask_bank_card
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal, Role
from subsidy_app.identity.organisations import (
    OrganisationView,
    get_organisation,
    ids_in_counties,
    organisation_name,
    organisation_names,
)

BUREAU_ROLES = frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN})


@dataclass(frozen=True)
class StoreView:
    """A store as dealers, bureaus and the poster show it."""

    id: int
    dealer_org_id: int
    dealer_name: str
    name: str
    county_code: str
    address: str
    opens_at: dt.time | None
    closes_at: dt.time | None
    poster_code: str


@dataclass(frozen=True)
class ParticipationView:
    """One approval or suspension."""

    id: int
    dealer_org_id: int
    store_id: int | None
    programme: str
    category: str
    status: str
    reason: str | None
    decided_by: str
    decided_at: dt.datetime


def _dealer(uow: UnitOfWork, dealer_org_id: int) -> OrganisationView:
    org = get_organisation(uow, dealer_org_id, kind=OrgKind.DEALER)
    if org is None:
        raise NotFound("经销商不存在 / dealer not found", reason="dealer.not_found")
    return org


def _store_view(store: Store, dealer_name: str) -> StoreView:
    return StoreView(store.id, store.dealer_org_id, dealer_name, store.name, store.county_code, store.address,
                     store.opens_at, store.closes_at, store.poster_code)


def create_store(uow: UnitOfWork, *, principal: Principal, name: str, address: str,
                 dealer_org_id: int | None = None, opens_at: dt.time | None = None,
                 closes_at: dt.time | None = None) -> StoreView:
    """Open a store for a dealer (its own clerk, or bureau staff of its county)."""
    org_id = principal.organisation_id if principal.organisation_kind is OrgKind.DEALER else dealer_org_id
    if org_id is None:
        raise ValidationFailed.field("dealer_org_id", "请指定经销商 / name the dealer")
    dealer = _dealer(uow, org_id)
    if not principal.covers_organisation(dealer.id, dealer.county_code):
        raise NotFound("经销商不存在 / dealer not found", reason="dealer.not_found")
    if not name.strip() or not address.strip():
        raise ValidationFailed.field("name" if not name.strip() else "address", "不能为空 / required")
    if (opens_at is None) != (closes_at is None) or (opens_at and closes_at and opens_at >= closes_at):
        raise ValidationFailed.field("closes_at", "营业时间应为开门早于关门 / opening must be before closing")
    store = Store(dealer_org_id=dealer.id, name=name.strip()[:200], county_code=dealer.county_code,
                  address=address.strip()[:300], opens_at=opens_at, closes_at=closes_at,
                  poster_code=secrets.token_hex(16))
    uow.session.add(store)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="appliance_store.created", entity_type="appliance_store",
                 entity_id=store.id, after={"dealer": dealer.id, "name": store.name})
    return _store_view(store, dealer.name)


def get_store(uow: UnitOfWork, *, store_id: int, principal: Principal | None = None) -> StoreView:
    """Return a store; dealers see only their own, bureau staff their counties."""
    store = uow.session.get(Store, store_id)
    if store is None or (principal is not None and not principal.covers_organisation(store.dealer_org_id,
                                                                                      store.county_code)):
        raise NotFound("门店不存在 / store not found", reason="store.not_found")
    return _store_view(store, organisation_name(uow, store.dealer_org_id) or "")


def store_for_poster(uow: UnitOfWork, *, poster_code: str) -> StoreView:
    """Resolve the code a poster QR carries to its store."""
    store = uow.session.scalar(select(Store).where(Store.poster_code == poster_code))
    if store is None:
        raise NotFound("二维码对应的门店不存在 / no store for this QR code", reason="store.not_found")
    return get_store(uow, store_id=store.id)


def list_stores(uow: UnitOfWork, *, principal: Principal) -> list[StoreView]:
    """List the stores the caller may see."""
    query = select(Store)
    if principal.organisation_kind is OrgKind.DEALER:
        query = query.where(Store.dealer_org_id == principal.organisation_id)
    elif not principal.all_counties:
        query = query.where(Store.county_code.in_(principal.counties))
    stores = list(uow.session.scalars(query.order_by(Store.id)))
    names = organisation_names(uow, {s.dealer_org_id for s in stores})
    return [_store_view(s, names.get(s.dealer_org_id, "")) for s in stores]


def _pview(p: Participation) -> ParticipationView:
    return ParticipationView(p.id, p.dealer_org_id, p.store_id, p.programme, p.category, p.status, p.reason,
                             p.decided_by, p.decided_at)


def decide(uow: UnitOfWork, *, principal: Principal, dealer_org_id: int, store_id: int | None, category: str,
           status: str, reason: str | None = None) -> ParticipationView:
    """Approve or suspend a dealer (or one of its stores) for a category; the county bureau decides, audited."""
    if not principal.has_any(BUREAU_ROLES):
        raise Forbidden("须由区县商务主管部门审批 / the county bureau decides", reason="auth.forbidden")
    dealer = _dealer(uow, dealer_org_id)
    if not principal.covers_county(dealer.county_code):
        raise NotFound("经销商不存在 / dealer not found", reason="dealer.not_found")
    programme = programme_of(category)
    if programme is None:
        raise ValidationFailed.field("category", f"未知品类 {category} / unknown category")
    wanted = ParticipationStatus(status)
    if wanted is ParticipationStatus.SUSPENDED and not (reason or "").strip():
        raise ValidationFailed.field("reason", "暂停须说明原因 / a suspension needs a reason")
    if store_id is not None:
        store = uow.session.get(Store, store_id)
        if store is None or store.dealer_org_id != dealer.id:
            raise NotFound("门店不存在 / store not found", reason="store.not_found")
        if wanted is ParticipationStatus.APPROVED and _status(uow, f"dealer:{dealer.id}", category) != "approved":
            raise Conflict("须先批准经销商参与该品类 / approve the dealer for this category first",
                           reason="participation.dealer_first")
    scope = f"store:{store_id}" if store_id is not None else f"dealer:{dealer.id}"
    row = uow.session.scalar(select(Participation).where(
        Participation.scope_key == scope, Participation.category == category).with_for_update())
    before = {"status": row.status, "reason": row.reason} if row is not None else {"status": None}
    if row is None:
        row = Participation(scope_key=scope, dealer_org_id=dealer.id, store_id=store_id, programme=programme,
                            category=category, status=wanted.value, decided_by=principal.actor)
        uow.session.add(row)
    row.status, row.reason = wanted.value, (reason or "").strip()[:500] or None
    row.decided_by, row.decided_at = principal.actor, utcnow()
    uow.flush()
    audit.record(uow, actor=principal.actor, action=f"participation.{wanted.value}", entity_type="participation",
                 entity_id=row.id, before=before, after={"scope": scope, "category": category,
                                                         "status": row.status, "reason": row.reason})
    return _pview(row)


def _status(uow: UnitOfWork, scope: str, category: str) -> str | None:
    return uow.session.scalar(select(Participation.status).where(
        Participation.scope_key == scope, Participation.category == category))


# Built once: every sale at a till checks it.
_APPROVED_SCOPES = select(func.count()).select_from(Participation).where(
    Participation.scope_key.in_([bindparam("dealer"), bindparam("store")]),
    Participation.category == bindparam("category"), Participation.status == ParticipationStatus.APPROVED.value)


def require_approved(uow: UnitOfWork, *, dealer_org_id: int, store_id: int, category: str) -> None:
    """Refuse a subsidised sale unless both the dealer and the store are approved for the category."""
    approved = uow.session.scalar(_APPROVED_SCOPES, {"dealer": f"dealer:{dealer_org_id}", "store": f"store:{store_id}",
                                                     "category": category})
    if approved != 2:
        raise Conflict("该门店未获准以补贴销售此品类(或已暂停)/ this store is not approved (or is suspended) for "
                       "subsidised sales of this category", reason="dealer.not_approved")


def list_participations(uow: UnitOfWork, *, principal: Principal, dealer_org_id: int | None = None
                        ) -> list[ParticipationView]:
    """List decisions the caller may see."""
    query = select(Participation)
    if principal.organisation_kind is OrgKind.DEALER:
        query = query.where(Participation.dealer_org_id == principal.organisation_id)
    elif not principal.all_counties:
        query = query.where(Participation.dealer_org_id.in_(ids_in_counties(principal.counties)))
    if dealer_org_id is not None:
        query = query.where(Participation.dealer_org_id == dealer_org_id)
    return [_pview(p) for p in uow.session.scalars(query.order_by(Participation.id))]


@dataclass(frozen=True)
class PosterStanding:
    """What a store's poster stands for now: the categories it may sell with a subsidy and those suspended."""

    approved: list[str]
    suspended: list[str]

    @property
    def revoked(self) -> bool:
        """Tell whether the poster is revoked: the store had categories and every one is suspended now."""
        return not self.approved and bool(self.suspended)


def poster_standing(uow: UnitOfWork, *, store_id: int) -> PosterStanding:
    """Return a store's standing: a category is approved when the store and its dealer both are, else suspended."""
    store = uow.session.get(Store, store_id)
    if store is None:
        return PosterStanding([], [])
    rows = uow.session.execute(select(Participation.scope_key, Participation.category, Participation.status).where(
        Participation.scope_key.in_((f"dealer:{store.dealer_org_id}", f"store:{store.id}")))).all()
    approved = ParticipationStatus.APPROVED.value
    dealer_ok = {c for s, c, status in rows if s.startswith("dealer:") and status == approved}
    own = {c: status for s, c, status in rows if s.startswith("store:")}
    ok = sorted(c for c, status in own.items() if status == approved and c in dealer_ok)
    return PosterStanding(ok, sorted(set(own) - set(ok)))


def approved_categories(uow: UnitOfWork, *, store_id: int) -> list[str]:
    """Return the categories a store may sell with a subsidy (for its poster)."""
    return poster_standing(uow, store_id=store_id).approved


def set_dealer_account(uow: UnitOfWork, *, principal: Principal, dealer_org_id: int, account_name: str,
                       bank_name: str, account_number: str) -> str:
    """Record the account settlements pay the dealer into; return it masked."""
    dealer = _dealer(uow, dealer_org_id)
    if not principal.covers_organisation(dealer.id, dealer.county_code):
        raise NotFound("经销商不存在 / dealer not found", reason="dealer.not_found")
    number = "".join(account_number.split())
    if not (8 <= len(number) <= 32 and number.isdigit()):
        raise ValidationFailed.field("account_number", "账号应为 8–32 位数字 / 8–32 digits")
    row = uow.session.scalar(select(DealerAccount).where(DealerAccount.dealer_org_id == dealer.id))
    if row is None:
        row = DealerAccount(dealer_org_id=dealer.id, account_name="", bank_name="", account_enc=b"",
                            account_masked="", updated_by=principal.actor)
        uow.session.add(row)
    row.account_name, row.bank_name = account_name.strip()[:200] or dealer.name, bank_name.strip()[:200]
    row.account_enc, row.account_masked = uow.cipher.encrypt(number), mask_bank_card(number)
    row.updated_by, row.updated_at = principal.actor, utcnow()
    audit.record(uow, actor=principal.actor, action="dealer_account.set", entity_type="organisation",
                 entity_id=dealer.id, after={"account": row.account_masked})
    return row.account_masked


@dataclass(frozen=True)
class ParticipationRow:
    """A decision as the bureau's list shows it: whose, for what, and where it stands."""

    decision: ParticipationView
    dealer_name: str
    store_name: str | None
    county_code: str


@dataclass(frozen=True)
class HistoryLine:
    """One past decision on a participation, from the audit trail."""

    at: dt.datetime
    actor: str
    status: str
    reason: str | None


def participation_page(uow: UnitOfWork, *, principal: Principal, status: str | None = None,
                       category: str | None = None, dealer_org_id: int | None = None, limit: int = 50,
                       offset: int = 0) -> tuple[list[ParticipationRow], int]:
    """One page of the decisions in the caller's counties, newest first, filtered; with the number in all."""
    query = select(Participation)
    if not principal.all_counties:
        query = query.where(Participation.dealer_org_id.in_(ids_in_counties(principal.counties)))
    for column, value in ((Participation.status, status), (Participation.category, category),
                          (Participation.dealer_org_id, dealer_org_id)):
        if value is not None:
            query = query.where(column == value)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(uow.session.scalars(query.order_by(Participation.decided_at.desc(), Participation.id.desc())
                                    .limit(limit).offset(offset)))
    stores = {s.id: s for s in uow.session.scalars(select(Store).where(
        Store.id.in_({r.store_id for r in rows if r.store_id is not None})))}
    dealers = {i: get_organisation(uow, i) for i in {r.dealer_org_id for r in rows}}  # a page names a few
    return [ParticipationRow(_pview(r), getattr(dealers[r.dealer_org_id], "name", ""),
                             stores[r.store_id].name if r.store_id in stores else None,
                             getattr(dealers[r.dealer_org_id], "county_code", "")) for r in rows], int(total)


def participation_history(uow: UnitOfWork, *, principal: Principal, participation_id: int
                          ) -> tuple[ParticipationRow, list[HistoryLine]]:
    """A decision in the caller's counties and every approval and suspension it went through, newest first."""
    row = uow.session.get(Participation, participation_id)
    dealer = get_organisation(uow, row.dealer_org_id) if row is not None else None
    if row is None or dealer is None or not principal.covers_county(dealer.county_code):
        raise NotFound("参与记录不存在 / participation not found", reason="participation.not_found")
    store = uow.session.get(Store, row.store_id) if row.store_id is not None else None
    events = audit.list_events(uow.session, entity_type="participation", entity_id=str(row.id), limit=500)
    lines = [HistoryLine(e.occurred_at, e.actor, str((e.summary.get("after") or {}).get("status", "")),
                         (e.summary.get("after") or {}).get("reason")) for e in events]
    return ParticipationRow(_pview(row), dealer.name, store.name if store else None, dealer.county_code), lines


def decide_scope(uow: UnitOfWork, *, principal: Principal, scope: str, category: str, status: str,
                 reason: str | None = None) -> ParticipationView:
    """Decide for a scope as a form names it ("dealer:<id>" or "store:<id>"); see decide()."""
    kind, _, raw = scope.partition(":")
    if kind not in ("dealer", "store") or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise ValidationFailed.field("scope", "请选择经销商或门店 / choose a dealer or a store")
    if status not in {s.value for s in ParticipationStatus}:
        raise ValidationFailed.field("status", "请选择批准或暂停 / choose approve or suspend")
    if kind == "dealer":
        return decide(uow, principal=principal, dealer_org_id=int(raw), store_id=None, category=category,
                      status=status, reason=reason)
    store = get_store(uow, store_id=int(raw), principal=principal)
    return decide(uow, principal=principal, dealer_org_id=store.dealer_org_id, store_id=store.id, category=category,
                  status=status, reason=reason)


def store_standings(uow: UnitOfWork, *, principal: Principal) -> list[tuple[StoreView, PosterStanding]]:
    """The stores the caller may see, each with what its poster stands for now."""
    return [(store, poster_standing(uow, store_id=store.id)) for store in list_stores(uow, principal=principal)]


def dealer_account(uow: UnitOfWork, *, principal: Principal) -> dict[str, str] | None:
    """The caller's own dealer's settlement account as its page shows it (the number masked), or None."""
    if principal.organisation_kind is not OrgKind.DEALER:
        return None
    row = uow.session.scalar(select(DealerAccount).where(DealerAccount.dealer_org_id == principal.organisation_id))
    if row is None:
        return None
    return {"account_name": row.account_name, "bank_name": row.bank_name, "account_masked": row.account_masked}
