"""Build a complete car trade-in world through the services: dismantler, certificate, registry, sale, pool."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from flask.testing import FlaskClient

from recycling.domain import QualificationKind, SiteLevel
from recycling.issuing import CertificateDraft, issue_certificate
from recycling.sites import list_qualifications, register_qualification, register_site
from subsidy_app.applications import sales, submission
from subsidy_app.core.identifiers import vin_check_digit
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.identity.services import load_principal
from subsidy_app.rules import budget, budget_reports
from subsidy_app.rules import services as rules
from subsidy_app.rules.ruleset import DATA_DIR
from subsidy_app.vehicles.services import import_records
from tests.helpers import bearer

APPLICANT_ID = "11010519491231002X"
APPLICANT_NAME = "张三"
APPLICANT_PHONE = "13812345678"
CARD = "6222020000000000018"  # Luhn-valid (bank_card(1))
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(body17: str) -> str:
    """Complete a 17-digit ID body with its GB 11643 check character."""
    return body17 + "10X98765432"[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def vin(serial: int, prefix: str = "LSV") -> str:
    """Build a VIN with a correct check digit."""
    raw = f"{prefix}AB2C1{'0'}{'R'}{serial:07d}"[:17]
    draft = raw[:8] + "0" + raw[9:]
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def bank_card(serial: int) -> str:
    """Build a Luhn-valid 19-digit card number."""
    body = f"622202{serial:012d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


@dataclass
class CarWorld:
    """Ids of everything one car application needs."""

    dealer_org: int
    dismantler_org: int
    certificate_number: str
    old_vin: str
    new_vin: str
    sale: sales.SaleView
    person_id: int
    pool_id: int


REGISTRY_HEADER = ("车辆识别代号,号牌号码,车辆类型,使用性质,燃料种类,初次登记日期,所有人身份证明号码,所有人取得日期,"
                   "注销日期,注销证明编号,转出日期")


def publish_rules(uow: UnitOfWork) -> None:
    """Publish the shipped rule versions (idempotent)."""
    rules.publish_rule_files(uow, actor="test", paths=sorted(DATA_DIR.glob("*.yaml")))


def car_world(uow: UnitOfWork, demo: dict[str, int], *, serial: int = 1, owner_id: str = APPLICANT_ID,
              first_registration: dt.date = dt.date(2013, 6, 30), invoice_date: dt.date = dt.date(2026, 6, 1),
              licence_to: dt.date | None = None, pool_amount: str = "100000.00", deregistered: bool = True
              ) -> CarWorld:
    """Create a licensed dismantler, a certificate for the old car, its registry record, a sale and a pool."""
    publish_rules(uow)
    dismantler = demo["org:recycler:dismantler"]
    dealer = demo["org:dealer:car"]
    if not list_qualifications(uow, organisation_id=dismantler):
        register_qualification(uow, actor="t", organisation_id=dismantler, kind=QualificationKind.DISMANTLING,
                               number="JDCHJ-141100-001", valid_from=dt.date(2020, 1, 1), valid_to=licence_to)
        register_site(uow, actor="t", organisation_id=dismantler, code="YARD-1", name="拆解厂",
                      level=SiteLevel.SORTING, county_code="141102")
    old = vin(serial, "LFV")
    new = vin(serial, "LSV")
    number = f"BF2026{serial:06d}"
    issue_certificate(uow, actor="t", dismantler_org_id=dismantler, today=dt.date(2026, 5, 20), draft=CertificateDraft(
        number=number, owner_name=APPLICANT_NAME, owner_id_number=owner_id, handover_date=dt.date(2026, 5, 20),
        first_registration_date=first_registration, plate=f"晋J{serial:05d}", vehicle_type="vehicle.passenger",
        use_type="A", make_model="大众 桑塔纳", vin=old, curb_weight_kg=Decimal("1200"), fuel_type="1",
        engine_number="E123"))
    deregistration = f"2026-05-25,ZX2026{serial:06d}" if deregistered else ","
    csv_text = REGISTRY_HEADER + "\n" + (f"{old},晋J{serial:05d},K33,A,1,{first_registration},{owner_id},2020-01-01,"
                                         f"{deregistration},\n")
    import_records(uow, actor="t", filename="registry.csv", data=csv_text.encode("utf-8"))
    principal = load_principal(uow, account_id=demo["dealer.car"])
    assert principal is not None
    sale = sales.register_car_sale(
        uow, principal=principal, new_vin=new, invoice_number=f"25140000000{serial:09d}", invoice_code=None,
        invoice_date=invoice_date, invoice_total=Decimal("150000.00"), price_excl_tax=None, new_vehicle_type="nev",
        nev_catalogue_ref="2026-第3批", displacement_l=None, buyer_name=APPLICANT_NAME, buyer_id_number=owner_id)
    person = persons.register_person(uow, actor="t", name=APPLICANT_NAME, id_number=owner_id, phone=APPLICANT_PHONE)
    pool = budget_reports.list_pool_ids(uow, counties=frozenset({"141102"}), programme="car_scrap")
    pool_id = pool[0] if pool else budget.create_pool(uow, actor="t", programme="car_scrap", county_code="141102",
                                                        name="2026")
    if not pool:
        budget.allocate(uow, actor="t", pool_id=pool_id, amount=Decimal(pool_amount), source="central")
    uow.commit()
    return CarWorld(dealer, dismantler, number, old, new, sale, person, pool_id)


def submit(uow: UnitOfWork, world: CarWorld, *, programme: str = "car_scrap", card: str = CARD) -> submission.Submitted:
    """Submit the world's application through the service (checks run in-process after commit)."""
    done = submission.submit_car_application(
        uow, sale=world.sale, person_id=world.person_id, actor=f"person:{world.person_id}",
        versions=rules.published_versions(uow),
        data=submission.CarApplicationInput(programme=programme, county_code="141102",
                                            certificate_number=world.certificate_number,
                                            old_vin=world.old_vin if programme == "car_replace" else None,
                                            bank_card_number=card, bank_name="中国工商银行", consent=True))
    uow.commit()
    return done


def another_sale(uow: UnitOfWork, demo: dict[str, int], *, serial: int = 77, buyer_id: str = APPLICANT_ID
                 ) -> sales.SaleView:
    """Another new car the dealer sold to a buyer (a second purchase, on which an old certificate is tried again)."""
    principal = load_principal(uow, account_id=demo["dealer.car"])
    assert principal is not None
    sale = sales.register_car_sale(
        uow, principal=principal, new_vin=vin(serial, "LSV"), invoice_number=f"25140000000{serial:09d}",
        invoice_code=None, invoice_date=dt.date(2026, 6, 2), invoice_total=Decimal("120000.00"), price_excl_tax=None,
        new_vehicle_type="nev", nev_catalogue_ref="2026-第3批", displacement_l=None, buyer_name=APPLICANT_NAME,
        buyer_id_number=buyer_id)
    uow.commit()
    return sale


def pay_over_http(client: FlaskClient, application_id: int, number: str, amount: str = "18000.00") -> None:
    """Approve an application, put it in a payment batch, export the bank file and import the bank's 'paid'."""
    auditor, finance = bearer(client, "auditor.lishi"), bearer(client, "finance.city")
    assert client.post("/api/v1/applications/batch-approve", json={"application_ids": [application_id]},
                       headers=auditor).get_json()["approved"] == [application_id]
    batch = client.post("/api/v1/payment-batches", headers=finance, json={
        "application_ids": [application_id], "declared_count": 1, "declared_total": amount}).get_json()
    assert client.get(f"/api/v1/payment-batches/{batch['id']}/bank-file?format=csv", headers=finance).status_code == 200
    result = f"序号,申请编号,金额,结果,银行流水号,说明\n1,{number},{amount},成功,B1,\n".encode()
    paid = client.post(f"/api/v1/payment-batches/{batch['id']}/results", headers=finance,
                       data={"file": (io.BytesIO(result), "result.csv")}, content_type="multipart/form-data")
    assert paid.get_json()["paid"] == [number]
