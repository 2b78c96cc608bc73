"""Every application comes in through one door: the car form, the appliance claim and the dealer statement."""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

import subsidy_app
from subsidy_app.appliances import claims
from subsidy_app.appliances.domain import FraudThresholds
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.applications import services
from subsidy_app.applications.models import Application
from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.rules.models import BudgetReservation, QuotaHold
from subsidy_app.rules.services import VersionCache
from tests.appliance_fixtures import AC, FRIDGE, appliance_world, buyer_token, sale_body, sell
from tests.car_fixtures import car_world, resident_id, submit
from tests.helpers import bearer

ROOT = Path(subsidy_app.__file__).parent
CARD = "6222020000000000018"  # Luhn-valid


def _opened(uow: UnitOfWork, application_id: int) -> tuple[Application, dict[str, object]]:
    """The application and what the door's audit event recorded about it."""
    uow.session.expire_all()
    app = uow.session.get(Application, application_id)
    assert app is not None
    events = list(uow.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "application.submitted", AuditEvent.entity_id == str(application_id))))
    assert len(events) == 1, "the door records exactly one opening per application"
    return app, events[0].summary["after"]


def _common(app: Application, after: dict[str, object], *, kind: str, prefix: str, payee: str,
            consent: str) -> None:
    """What every application gets at the door, whatever its kind."""
    assert re.fullmatch(rf"{prefix}{app.submitted_at:%Y}\d{{8}}", app.number) and app.number.endswith(f"{app.id:08d}")
    assert re.fullmatch(r"[0-9a-f]{32}", app.status_code)
    assert (app.consent_version, app.payee_kind) == (consent, payee) and app.consent_at is not None
    assert (after["kind"], after["number"], after["amount"]) == (kind, app.number, str(app.amount))


def test_the_car_form_opens_its_application_through_the_door(uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = car_world(uow, demo, serial=71)
    done = submit(uow, world)
    app, after = _opened(uow, done.application_id)
    _common(app, after, kind="car", prefix="QC", payee="resident", consent=services.CONSENT_VERSION)
    hold = uow.session.scalar(select(QuotaHold).where(QuotaHold.reference == app.number))
    assert hold is not None  # the door held the quota under the final number


def test_the_appliance_claim_opens_its_application_through_the_door(app: Flask, uow: UnitOfWork,
                                                                    demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    client = app.test_client()
    status, body = sell(client, bearer(client, "dealer.appliance"),
                        sale_body(world.store_id, None, FRIDGE, "4599.00", "2026-03-01", mode="claim",
                                  delivery_address="离石区门路 1 号"))
    assert status == 200, body
    apply_code = uow.session.scalar(select(ApplianceSale.apply_code).where(ApplianceSale.id == body["sale_id"]))
    person_id = persons.register_person(uow, actor="t", name="王五", id_number=resident_id("14110219800101071"),
                                        phone="13912340071")
    done = claims.claim(uow, apply_code=str(apply_code), person_id=person_id,
                        data=claims.ClaimInput(CARD, "中国工商银行", True), versions=VersionCache().versions(uow),
                        limits=FraudThresholds(), actor=f"person:{person_id}")
    uow.commit()
    opened, after = _opened(uow, done.application_id)
    _common(opened, after, kind="appliance_claim", prefix="QA", payee="resident", consent=services.CONSENT_VERSION)
    assert after["appliance_sale"] == body["number"] and opened.state == "pending_review"
    reservation = uow.session.scalar(select(BudgetReservation).where(BudgetReservation.reference == opened.number))
    assert reservation is not None and reservation.amount == Decimal("689.85")  # reserved on opening, by the kind


def test_the_dealer_statement_opens_its_application_through_the_door(app: Flask, uow: UnitOfWork,
                                                                     demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    client = app.test_client()
    till = bearer(client, "dealer.appliance")
    sold = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 71), AC, "3999.00",
                                        "2025-05-10"))[1]
    response = client.post("/api/v1/appliance-settlements", headers=till, json={
        "dealer_org_id": world.dealer_org, "programme": "appliance", "period_start": "2025-05-01",
        "period_end": "2025-05-31"})
    assert response.status_code == 201, response.get_json()
    opened, after = _opened(uow, response.get_json()["application_id"])
    _common(opened, after, kind="dealer_statement", prefix="ST", payee="dealer", consent="dealer")
    assert (after["sales"], opened.person_id, opened.state) == (1, None, "pending_review")
    assert services.payee_of(opened).budget_references(opened) == [sold["number"]]
    assert uow.session.scalar(select(QuotaHold).where(QuotaHold.reference == opened.number)) is None


def _calls_named(path: Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == name]


def test_no_module_but_the_door_builds_an_application_row() -> None:
    sources = [*ROOT.rglob("*.py"), *(ROOT.parent / "recycling").rglob("*.py"),
               *(ROOT.parent / "reverse_invoice").rglob("*.py")]
    builders = {str(p.relative_to(ROOT.parent)): lines for p in sources if (lines := _calls_named(p, "Application"))}
    assert builders == {"subsidy_app/applications/services.py": builders.get("subsidy_app/applications/services.py")}
    assert len(builders["subsidy_app/applications/services.py"] or []) == 1


def test_applications_has_no_branch_on_a_particular_payee() -> None:
    """A payee's specifics are registered by the package that opens its applications (the dealer: appliances)."""
    found = []
    for path in (ROOT / "applications").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if "DEALER_PAYEE" in code or re.search(r"payee_kind\s*(==|!=|\bin\b)", code) or '"dealer"' in code:
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert found == []


def test_an_unregistered_payee_is_a_wiring_fault_never_a_resident() -> None:
    with pytest.raises(LookupError, match="no payee 'bank'"):
        services.payee_of(Application(payee_kind="bank"))
    with pytest.raises(LookupError, match="not registered"):
        services.kind_named("tractor")


def test_a_kind_keeps_one_meaning() -> None:
    services.register_kind(services.registered_kinds()["car"])  # registering the same kind again is harmless
    with pytest.raises(ValueError, match="already registered differently"):
        services.register_kind(services.Kind("car", prefix="XX"))
