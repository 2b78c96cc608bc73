"""The kinds of application and who each pays: a registry the packages that open applications fill."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select

from subsidy_app.applications.models import Application
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.identity.domain import Principal

CONSENT_VERSION = "2026-01"  # the resident's declaration accepted on the form
RESIDENT_PAYEE = "resident"


class WithFacts(Protocol):
    """What a payee another package registers reads of an application: the facts its kind stored on opening."""

    @property
    def facts(self) -> dict[str, Any]:
        """The kind's facts, as the application row holds them."""
        ...


class WithSale(Protocol):
    """What a kind's release hooks read of an application: the sale of the kind's own table it names."""

    @property
    def appliance_sale_id(self) -> int | None:
        """The appliance sale the application claims, if any."""
        ...


def _own_number(app: Application) -> list[str]:
    return [app.number]


def _no_clawbacks(app: Application) -> list[str]:
    return []


def _no_subject(uow: UnitOfWork, app: Application) -> list[tuple[str, str]]:
    return []


def _no_search(term: str) -> Select[int] | None:
    return None


def _nothing_held(uow: UnitOfWork, app: Application) -> None:
    return None


@dataclass(frozen=True)
class Payee:
    """Who an application pays and what it holds; a package whose applications pay someone else registers one."""

    name: str  # stored in application.payee_kind
    detail: Callable[[UnitOfWork, Application, Principal], dict[str, str]]  # applicant name, ID, account masked
    bank_line: Callable[[UnitOfWork, Application, Principal], list[str]]  # name, account, bank for the bank file
    # False: nothing is held under the application's own number (a dealer statement's sales took their quota
    # and budget at the till), so approval, refusal and revocation leave quota, certificate and budget alone.
    holds_own: bool = True
    budget_references: Callable[[Application], list[str]] = _own_number  # the reservations its payment spends
    clawback_references: Callable[[Application], list[str]] = _no_clawbacks  # paid subsidies it deducts


def _resident_detail(uow: UnitOfWork, app: Application, principal: Principal) -> dict[str, str]:
    person = persons.view_person(uow, person_id=app.person_id, principal=principal, owner_checked=True)
    return {"applicant_name": person.name, "applicant_id_number": person.id_number,
            "bank_card": persons.bank_card_masked(uow, card_id=app.bank_card_id)}


def _resident_bank_line(uow: UnitOfWork, app: Application, principal: Principal) -> list[str]:
    person = persons.view_person(uow, person_id=app.person_id, principal=principal, owner_checked=True)
    return [person.name, persons.bank_card_number(uow, card_id=app.bank_card_id),
            persons.bank_name(uow, card_id=app.bank_card_id)]


RESIDENT = Payee(RESIDENT_PAYEE, detail=_resident_detail, bank_line=_resident_bank_line)


@dataclass(frozen=True)
class Kind:
    """One way into the application table; the package that opens such applications registers it."""

    name: str  # recorded in the application's audit event
    prefix: str  # the number's letters: QC2026 00000001
    payee: Payee = RESIDENT
    consent_version: str = CONSENT_VERSION
    # True: the application takes its place in the budget pool on opening, like a till sale (appliance claims);
    # short of money it waits, first come first funded, and approval reuses the reservation.
    reserve_on_open: bool = False
    checks_actor: str | None = None  # who runs inline checks; None: whoever opened the application
    # What the application is for, as (label, value) rows of the reviewer's page: the car, or the purchase.
    subject: Callable[[UnitOfWork, Application], list[tuple[str, str]]] = _no_subject
    # The work queue's search in what the kind's own tables hold: a query of the ids of the sales matching the
    # term (an appliance claim's serial number, IMEI or invoice), which its applications name in
    # appliance_sale_id; None when the term cannot match. Run inside the queue's one statement.
    search_sales: Callable[[str], Select[int] | None] = _no_search
    categories: tuple[tuple[str, str], ...] = ()  # (stored category, Chinese label) for the queue's filter
    # What the kind's own tables hold for a live application, in the transition's transaction: on_release when it
    # is rejected, withdrawn or revoked (an appliance claim's sale becomes claimable again), on_reclaim when an
    # appeal reopens it (the sale is claimed again; the live-sale unique index refuses it if another claim holds it).
    on_release: Callable[[UnitOfWork, Application], None] = _nothing_held
    on_reclaim: Callable[[UnitOfWork, Application], None] = _nothing_held


_KINDS: dict[str, Kind] = {}
_PAYEES: dict[str, Payee] = {RESIDENT_PAYEE: RESIDENT}


def register_kind(kind: Kind) -> None:
    """Make a kind of application (and its payee) known to the door; one meaning per name."""
    if _KINDS.setdefault(kind.name, kind) != kind:
        raise ValueError(f"application kind {kind.name} is already registered differently")
    if _PAYEES.setdefault(kind.payee.name, kind.payee) != kind.payee:
        raise ValueError(f"payee {kind.payee.name} is already registered differently")


def registered_kinds() -> dict[str, Kind]:
    """Every registered kind by name."""
    return dict(_KINDS)


def payee_of(app: Application) -> Payee:
    """Return the registered payee of an application; an unknown one is a wiring fault, never a resident."""
    payee = _PAYEES.get(app.payee_kind)
    if payee is None:
        raise LookupError(f"no payee {app.payee_kind!r} is registered: import the package that opens its applications")
    return payee


def kind_of(app: Application) -> Kind | None:
    """Return the registered kind whose prefix the application's number carries (None before it is numbered)."""
    return next((k for k in _KINDS.values() if app.number.startswith(k.prefix)), None)


def kind_named(name: str) -> Kind:
    """Return a registered kind; an unknown one is a wiring fault."""
    kind = _KINDS.get(name)
    if kind is None:
        raise LookupError(f"application kind {name!r} is not registered: import the package that opens it")
    return kind
