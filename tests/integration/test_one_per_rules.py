"""Each "one X per Y" rule raced with real concurrent connections on PostgreSQL: the database keeps one.

The README's table of rules points here (and to the older race tests it names). Each test releases its callers
together, so a rule held only by a check-then-insert in Python lets several through (it did for certificates).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from recycling import certificates, issuing
from recycling.intake import live_intake_for_certificate
from recycling.models import ScrapCertificate
from reverse_invoice import invoices
from reverse_invoice.models import Invoice
from subsidy_app.applications import payments, review, sales
from subsidy_app.applications.domain import Action
from subsidy_app.applications.models import CarSale, PaymentLine
from subsidy_app.core import constraints
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict
from subsidy_app.core.jobs import InProcessDispatcher
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from subsidy_app.seed import seed_demo
from tests.appliance_fixtures import FRIDGE, appliance_world, buyer_token, sale_body
from tests.car_fixtures import car_world, resident_id, submit, vin
from tests.helpers import bearer, race
from tests.integration.ri_support import DAY, clerk, purchase, qualify, seller
from tests.recycling_support import ACTOR, CertificateDraftFactory, build_network, make_vin

pytestmark = pytest.mark.usefixtures("postgres")
YESTERDAY = (business_date() - dt.timedelta(days=1)).isoformat()


def _certificate_body(number: str, vehicle: str) -> dict[str, str]:
    return {"number": number, "owner_name": "王小明", "owner_id_number": "11010519491231002X",
            "handover_date": YESTERDAY, "first_registration_date": "2012-05-01", "plate": "晋J12345",
            "vehicle_type": "vehicle.passenger", "use_type": "A", "make_model": "大众 桑塔纳", "vin": vehicle,
            "curb_weight_kg": "1180", "fuel_type": "1", "engine_number": "E0001"}


def test_thirty_concurrent_certificates_for_one_vin_leave_one_live(
        committed_app: Flask, committed_uow: UnitOfWork, committed: sessionmaker[Session]) -> None:
    build_network(committed_uow, seed_demo(committed_uow))
    committed_uow.commit()
    headers = bearer(committed_app.test_client(), "recycler.dismantler")
    vehicle = make_vin(4242)
    answers: list[dict] = []

    def attempt(i: int) -> str:
        response = committed_app.test_client().post("/api/v1/recycling/certificates", headers=headers,
                                                    json=_certificate_body(f"RACE-{i:03d}", vehicle))
        answers.append(response.get_json())
        return f"{response.status_code} {response.get_json().get('reason', '')}".strip()

    outcome = race(30, attempt)
    assert outcome == Counter({"201": 1, "409 certificate.vin_already_certified": 29}), outcome
    winner = next(a["number"] for a in answers if "id" in a)
    assert all(winner in a["message"] for a in answers if a.get("reason"))  # the loser is told which one is live
    with committed() as session:
        live = session.scalars(select(ScrapCertificate).where(ScrapCertificate.vin == vehicle)).all()
        assert [c.number for c in live] == [winner]
    with UnitOfWork(committed) as uow:
        assert live_intake_for_certificate(uow, live[0].id) is not None  # the car is counted once


def test_twenty_concurrent_certificates_with_one_number_leave_one(
        committed: sessionmaker[Session], committed_uow: UnitOfWork, cipher: PersonalDataCipher) -> None:
    network = build_network(committed_uow, seed_demo(committed_uow))
    committed_uow.commit()

    def attempt(i: int) -> str:
        with UnitOfWork(committed, cipher=cipher) as uow:
            issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id,
                                      draft=CertificateDraftFactory(number="SAME-NUMBER", vin=make_vin(5000 + i)))
            uow.commit()
        return "issued"

    assert race(20, attempt) == Counter({"issued": 1, "certificate.duplicate": 19})


def test_the_index_refuses_a_second_live_certificate_even_past_the_check(uow: UnitOfWork, demo: dict[str, int]
                                                                        ) -> None:
    network = build_network(uow, demo)
    first = uow.session.get(ScrapCertificate, issuing.issue_certificate(
        uow, actor=ACTOR, dismantler_org_id=network.org_id, draft=CertificateDraftFactory()))
    assert first is not None
    copy = {c.key: getattr(first, c.key) for c in ScrapCertificate.__table__.columns if c.key != "id"}
    uow.session.add(ScrapCertificate(**{**copy, "number": "OTHER-1", "verify_key": "another-key"}))
    with pytest.raises(IntegrityError) as caught:
        uow.session.flush()
    assert constraints.error_for(caught.value).reason == "certificate.vin_already_certified"


def test_a_revoked_certificate_frees_its_vin(uow: UnitOfWork, demo: dict[str, int]) -> None:
    network = build_network(uow, demo)
    vehicle = make_vin(6001)
    first = issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id,
                                      draft=CertificateDraftFactory(vin=vehicle))
    with pytest.raises(Conflict) as caught:
        issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id,
                                  draft=CertificateDraftFactory(vin=vehicle))
    assert caught.value.reason == "certificate.vin_already_certified" and "vin" in caught.value.errors
    issuing.revoke_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id, certificate_id=first,
                               reason="录入错误")
    assert issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id,
                                     draft=CertificateDraftFactory(vin=vehicle))
    assert certificates.live_duplicates(uow) == []


def test_twenty_concurrent_invoices_for_one_purchase_make_one(
        committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    with UnitOfWork(committed, None, cipher) as uow:
        recycler = seed_demo(uow)["org:recycler:dismantler"]
        qualify(uow, recycler)
        bought = purchase(uow, recycler, seller(uow, 1, recycler), "800.00")
        uow.commit()

    def attempt(_i: int) -> str:
        with UnitOfWork(committed, None, cipher) as uow:
            invoices.issue_invoice(uow, principal=clerk(recycler), purchase_id=bought, today=DAY)
            uow.commit()
        return "issued"

    assert race(20, attempt) == Counter({"issued": 1, "purchase.already_invoiced": 19})
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(Invoice).where(Invoice.purchase_id == bought)) == 1


def test_the_index_refuses_a_second_original_invoice_even_past_the_lock(uow: UnitOfWork, demo: dict[str, int]
                                                                       ) -> None:
    recycler = demo["org:recycler:dismantler"]
    qualify(uow, recycler)
    bought = purchase(uow, recycler, seller(uow, 2, recycler), "800.00")
    issued = invoices.issue_invoice(uow, principal=clerk(recycler), purchase_id=bought, today=DAY)
    first = uow.session.scalar(select(Invoice).where(Invoice.purchase_id == bought))
    assert first is not None and issued
    copy = {c.key: getattr(first, c.key) for c in Invoice.__table__.columns if c.key != "id"}
    uow.session.add(Invoice(**{**copy, "number": "99999999999999999999", "seq": first.seq + 1000}))
    with pytest.raises(IntegrityError) as caught:
        uow.session.flush()
    assert constraints.error_for(caught.value).reason == "purchase.already_invoiced"


def test_twenty_dealers_registering_one_new_car_make_one_sale(
        committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    with UnitOfWork(committed, None, cipher) as uow:
        dealer = load_principal(uow, account_id=seed_demo(uow)["dealer.car"])
        uow.commit()
    assert dealer is not None
    new_car = vin(8080, "LSV")

    def attempt(i: int) -> str:
        with UnitOfWork(committed, None, cipher) as uow:
            sales.register_car_sale(
                uow, principal=dealer, new_vin=new_car, invoice_number=f"26140000000{2000 + i:09d}",
                invoice_code=None, invoice_date=dt.date(2026, 6, 1), invoice_total=Decimal("150000.00"),
                price_excl_tax=None, new_vehicle_type="nev", nev_catalogue_ref="2026-第3批", displacement_l=None,
                buyer_name="王五", buyer_id_number=resident_id(f"14110219800101{i:03d}"))
            uow.commit()
        return "sold"

    assert race(20, attempt) == Counter({"sold": 1, "sale.vin_exists": 19})
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(CarSale).where(CarSale.new_vin == new_car)) == 1


def test_one_invoice_at_twenty_tills_funds_one_subsidy(committed_app: Flask, committed_uow: UnitOfWork) -> None:
    world = appliance_world(committed_uow, seed_demo(committed_uow))
    headers = bearer(committed_app.test_client(), "dealer.appliance")
    bodies = [sale_body(world.store_id, buyer_token(committed_uow, world.store_id, 300 + i), FRIDGE, "4599.00",
                        "2025-03-01", invoice="26149999999999999999") for i in range(20)]

    def attempt(i: int) -> str:
        response = committed_app.test_client().post("/api/v1/appliance-sales", json=bodies[i], headers=headers)
        return f"{response.status_code} {response.get_json().get('reason') or ''}".strip()

    assert race(20, attempt) == Counter({"200": 1, "409 invoice.already_subsidised": 19})


def test_ten_concurrent_batches_pay_one_application_once(
        committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as uow:  # checks run on commit
        demo = seed_demo(uow)
        application_id = submit(uow, car_world(uow, demo)).application_id
        auditor = load_principal(uow, account_id=demo["auditor.lishi"])
        finance = load_principal(uow, account_id=demo["finance.city"])
        assert auditor is not None and finance is not None
        review.review(uow, principal=auditor, application_id=application_id, action=Action.APPROVE)
        uow.commit()

    def attempt(_i: int) -> str:
        with UnitOfWork(committed, None, cipher) as uow:
            payments.create_batch(uow, principal=finance, application_ids=[application_id], declared_count=1,
                                  declared_total=Decimal("18000.00"))
            uow.commit()
        return "batched"

    # The application's row lock decides first; uq_payment_line_live would refuse a second live line if it didn't.
    assert race(10, attempt) == Counter({"batched": 1, "batch.not_payable": 9})
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(PaymentLine)
                              .where(PaymentLine.application_id == application_id)) == 1
