"""Who may see an application, a car sale and a payment batch, and the persons and vehicles they name."""

from __future__ import annotations

from sqlalchemy import or_, select

from subsidy_app.applications.models import Application, CarSale, PaymentLine
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.documents.services import register_owner_check
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import OrgKind, Principal


def may_see_application(principal: Principal, app: Application) -> bool:
    """Tell whether the caller may see an application: its resident, its dealer, or staff of its county."""
    if principal.kind == "resident":
        return app.person_id is not None and app.person_id == principal.person_id
    if principal.kind != "staff" or principal.organisation_kind is OrgKind.RECYCLER:
        return False
    if principal.organisation_kind is OrgKind.DEALER:
        return app.dealer_org_id is not None and app.dealer_org_id == principal.organisation_id
    return principal.covers_county(app.county_code)


def may_see_car_sale(principal: Principal, sale: CarSale) -> bool:
    """Tell whether the caller may see a car sale: its dealer's clerks, or staff of its county."""
    return principal.kind == "staff" and principal.covers_organisation(sale.dealer_org_id, sale.county_code)


def may_see_batch(uow: UnitOfWork, principal: Principal, batch_id: int) -> bool:
    """Tell whether the caller may see a payment batch: only if they may see every application on it."""
    if visibility.sees_every_county(principal):
        return True  # city-level finance: no need to load a 100,000-line batch's applications to know
    apps = uow.session.scalars(select(Application).join(PaymentLine, PaymentLine.application_id == Application.id)
                               .where(PaymentLine.batch_id == batch_id))
    return principal.kind == "staff" and all(may_see_application(principal, a) for a in apps)


def _owns_application_document(uow: UnitOfWork, ref: str, principal: Principal) -> bool:
    app = uow.session.scalar(select(Application).where(Application.number == ref.partition(":")[2]))
    return app is not None and may_see_application(principal, app)


def _person_through_application(uow: UnitOfWork, principal: Principal, person: visibility.PersonRef) -> bool:
    apps = uow.session.scalars(select(Application).where(Application.person_id == person.id))
    return any(may_see_application(principal, a) for a in apps)


def _person_through_car_sale(uow: UnitOfWork, principal: Principal, person: visibility.PersonRef) -> bool:
    sales = uow.session.scalars(select(CarSale).where(CarSale.buyer_id_hash == person.id_number_hash))
    return any(may_see_car_sale(principal, s) for s in sales)


def _vehicle_through_application(uow: UnitOfWork, principal: Principal, vin: str) -> bool:
    # old_vin is the scrapped car's (from its certificate) or the replaced one's; new_vin the car bought.
    apps = uow.session.scalars(select(Application).where(or_(Application.old_vin == vin, Application.new_vin == vin)))
    return any(may_see_application(principal, a) for a in apps)


register_owner_check("application", _owns_application_document)
visibility.link_person("applications.application", _person_through_application)
visibility.link_person("applications.car_sale", _person_through_car_sale)
visibility.link_vehicle("applications.application", _vehicle_through_application)
