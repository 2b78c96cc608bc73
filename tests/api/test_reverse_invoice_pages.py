"""Reverse-invoicing pages: a clerk's seller, purchase, invoice, red letter and filing, scoped and refused by field."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from reverse_invoice.demo import SCRAP_STEEL_CODE, make_bank_card, make_resident_id
from reverse_invoice.domain import add_months
from reverse_invoice.models import Consent, Filing, Invoice, Purchase, Seller
from subsidy_app.core.clock import business_date, instant_on
from subsidy_app.core.uow import UnitOfWork
from tests.doc_files import png_bytes
from tests.helpers import freeze_clock, login
from tests.integration.ri_support import qualify

CLERK, OTHER_CLERK = "recycler.dismantler", "recycler.renewable"


def seller_form(serial: int) -> dict[str, str]:
    """A valid seller registration with consent."""
    return {"name": "王五", "id_number": make_resident_id(serial), "phone": "13800000001",
            "bank_card": make_bank_card(serial), "bank_name": "吕梁农商行", "text_version": "2024-04",
            "agreed": "yes"}


def purchase_form(amount: str = "4900.00") -> dict[str, Any]:
    """A valid one-line purchase with a photo and a weighbridge slip."""
    return {"purchased_on": business_date().isoformat(), "lines.0.product_name": "废钢",
            "lines.0.tax_code": SCRAP_STEEL_CODE, "lines.0.unit": "吨", "lines.0.quantity": "2",
            "lines.0.unit_price": str(float(amount) / 2), "contract_no": "HT-9", "weighbridge_ticket": "BD-9",
            "vehicle_plate": "晋J12345", "payment_reference": "PAY-9", "paid_amount": amount,
            "paid_at": f"{business_date().isoformat()}T10:00",
            "photos": (io.BytesIO(png_bytes()), "site.png"), "weighbridge_slip": (io.BytesIO(png_bytes("blue")),
                                                                                 "slip.png")}


def _version(client: FlaskClient) -> str:
    page = client.get("/reverse-invoice/sellers/new").get_data(as_text=True)
    found = re.search(r'name="text_version" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _ready(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> str:
    qualify(uow, demo["org:recycler:dismantler"])
    qualify(uow, demo["org:recycler:renewable"])
    uow.commit()
    return login(client, CLERK)


def _enrol(client: FlaskClient, csrf: str, serial: int = 31) -> int:
    response = client.post("/reverse-invoice/sellers/new",
                           data={**seller_form(serial), "text_version": _version(client), "csrf_token": csrf})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_a_seller_is_registered_only_with_consent_and_found_by_id_number(client: FlaskClient, uow: UnitOfWork,
                                                                         demo: dict[str, int]) -> None:
    csrf = _ready(client, uow, demo)
    form = client.get("/reverse-invoice/sellers/new").get_data(as_text=True)
    assert "代办税费授权书" in form and 'id="consent-text"' in form
    refused = client.post("/reverse-invoice/sellers/new", data={**seller_form(31), "agreed": "", "csrf_token": csrf,
                                                                 "text_version": _version(client)})
    assert refused.status_code == 422 and 'id="agreed-error"' in refused.get_data(as_text=True)
    assert uow.session.scalar(select(func.count()).select_from(Seller)) == 0  # nothing written
    bad_card = client.post("/reverse-invoice/sellers/new", data={**seller_form(31), "bank_card": "123",
                                                                  "csrf_token": csrf, "text_version": _version(client)})
    assert bad_card.status_code == 422 and "本人银行卡号:" in bad_card.get_data(as_text=True)
    seller_id = _enrol(client, csrf)
    page = client.get(f"/reverse-invoice/sellers/{seller_id}").get_data(as_text=True)
    assert "近12个月反向开票销售额" in page and 'id="remaining">5000000.00<' in page
    consent = uow.session.scalar(select(Consent).where(Consent.seller_id == seller_id))
    assert consent is not None and consent.recycler_id == demo["org:recycler:dismantler"]
    found = client.get(f"/reverse-invoice/sellers?id_number={make_resident_id(31)}")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/sellers/{seller_id}")
    login(client, OTHER_CLERK)  # another recycler: neither the page nor the lookup shows the seller
    assert client.get(f"/reverse-invoice/sellers/{seller_id}").status_code == 404
    missing = client.get(f"/reverse-invoice/sellers?id_number={make_resident_id(31)}")
    assert missing.status_code == 422 and "身份证号码:" in missing.get_data(as_text=True)
    login(client, "dealer.car")
    assert client.get("/reverse-invoice/sellers").status_code == 403


def test_a_purchase_with_evidence_shows_the_headroom_then_issues_and_reverses(client: FlaskClient, uow: UnitOfWork,
                                                                              demo: dict[str, int]) -> None:
    csrf = _ready(client, uow, demo)
    seller_id = _enrol(client, csrf)
    path = f"/reverse-invoice/sellers/{seller_id}/purchases/new"
    no_photo = {**purchase_form(), "csrf_token": csrf}
    del no_photo["photos"]
    refused = client.post(path, data=no_photo, content_type="multipart/form-data")
    assert refused.status_code == 422 and "现场照片:" in refused.get_data(as_text=True)
    assert uow.session.scalar(select(func.count()).select_from(Purchase)) == 0
    made = client.post(path, data={**purchase_form(), "csrf_token": csrf}, content_type="multipart/form-data")
    assert made.status_code == 302, made.get_data(as_text=True)[:800]
    purchase_path = made.headers["Location"]
    page = client.get(purchase_path).get_data(as_text=True)
    assert 'id="window-sales">0.00<' in page
    assert 'id="remaining-after">4995100.00<' in page and "磅单 slip.png" in page
    photo = re.search(r'href="(/reverse-invoice/purchases/\d+/evidence/\d+)"', page)
    assert photo and client.get(photo.group(1)).data == png_bytes()
    issued = client.post(f"{purchase_path}/invoice", data={"invoice_type": "ordinary", "csrf_token": csrf})
    assert issued.status_code == 302, issued.get_data(as_text=True)[:800]
    invoice_path = issued.headers["Location"]
    assert 'id="window-sales">4900.00<' in client.get(f"/reverse-invoice/sellers/{seller_id}").get_data(as_text=True)
    statement = client.get(f"/reverse-invoice/sellers/{seller_id}/statement").get_data(as_text=True)
    assert "年度反向开票收入明细" in statement and 'id="total-sales">4900.00<' in statement
    allowance = client.post(f"{invoice_path}/reversal", data={"reason": "04", "amount": "99999", "csrf_token": csrf})
    assert allowance.status_code == 422 and "折让金额:" in allowance.get_data(as_text=True)
    red = client.post(f"{invoice_path}/reversal", data={"reason": "01", "csrf_token": csrf})
    assert red.status_code == 302
    assert uow.session.scalar(select(func.count()).where(Invoice.colour == "red")) == 1
    login(client, OTHER_CLERK)
    assert client.get(purchase_path).status_code == 404 and client.get(photo.group(1)).status_code == 404


def test_the_months_filing_is_prepared_reviewed_filed_and_paid(client: FlaskClient, uow: UnitOfWork,
                                                               demo: dict[str, int],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    csrf = _ready(client, uow, demo)
    future = client.post("/reverse-invoice/filings", data={"month": "2099-01", "csrf_token": csrf})
    assert future.status_code == 422 and "所属期:" in future.get_data(as_text=True)
    assert uow.session.scalar(select(func.count()).select_from(Filing)) == 0
    made = client.post("/reverse-invoice/filings", data={"month": business_date().strftime("%Y-%m"),
                                                          "csrf_token": csrf})
    assert made.status_code == 302
    filing_path = made.headers["Location"]
    assert "待申报" in client.get(filing_path).get_data(as_text=True)
    # The month is still running: its later invoices would miss a report filed now.
    early = client.post(f"{filing_path}/filed", data={"csrf_token": csrf})
    assert early.status_code == 409 and "尚未结束" in early.get_data(as_text=True)
    early_pay = client.post(f"{filing_path}/payment", data={"payment_reference": "JK-2026-1", "csrf_token": csrf})
    assert early_pay.status_code == 409
    freeze_clock(monkeypatch, instant_on(add_months(business_date().replace(day=1), 1) + dt.timedelta(days=2)))
    assert client.post(f"{filing_path}/filed", data={"csrf_token": csrf}).status_code == 302
    short = client.post(f"{filing_path}/payment", data={"payment_reference": "x", "csrf_token": csrf})
    assert short.status_code == 422 and "缴款凭证号:" in short.get_data(as_text=True)
    assert client.post(f"{filing_path}/payment", data={"payment_reference": "JK-2026-1", "csrf_token": csrf}
                       ).status_code == 302
    assert "已缴款" in client.get("/reverse-invoice/filings").get_data(as_text=True)
    auditor = login(client, "auditor.lishi")
    assert client.get(filing_path).status_code == 200
    assert client.post(f"{filing_path}/filed", data={"csrf_token": auditor}).status_code == 403
    login(client, OTHER_CLERK)
    assert client.get(filing_path).status_code == 404


def test_an_admin_prepares_every_recyclers_filing_as_a_job_with_progress(client: FlaskClient, uow: UnitOfWork,
                                                                         demo: dict[str, int]) -> None:
    _ready(client, uow, demo)
    csrf = login(client, "admin")
    bad = client.post("/reverse-invoice/filings/prepare-all", data={"month": "12/2026", "csrf_token": csrf})
    assert bad.status_code == 422 and "所属期:" in bad.get_data(as_text=True)
    queued = client.post("/reverse-invoice/filings/prepare-all", data={"month": business_date().strftime("%Y-%m"),
                                                                       "csrf_token": csrf})
    assert queued.status_code == 302 and "job=" in queued.headers["Location"]
    job_id = queued.headers["Location"].rsplit("job=", 1)[1]
    page = client.get(queued.headers["Location"]).get_data(as_text=True)
    assert 'id="job-progress"' in page and f"/api/v1/jobs/{job_id}" in page
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 200
    clerk = login(client, CLERK)
    assert client.post("/reverse-invoice/filings/prepare-all", data={"month": "2026-01", "csrf_token": clerk}
                       ).status_code == 403


def test_a_photo_reference_never_opens_a_document_stored_for_something_else(client: FlaskClient, uow: UnitOfWork,
                                                                             demo: dict[str, int]) -> None:
    from subsidy_app.documents.services import store_document
    from tests.helpers import bearer
    from tests.integration.ri_support import seller

    qualify(uow, demo["org:recycler:dismantler"])
    seller_id = seller(uow, 51, demo["org:recycler:dismantler"])
    scan = store_document(uow, actor="t", kind="id_card", filename="id.png", data=png_bytes("green"),
                          owner_ref="application:X-1")
    uow.commit()
    body = {"seller_id": seller_id, "purchased_on": business_date().isoformat(), "lines": [
        {"product_name": "废钢", "tax_code": SCRAP_STEEL_CODE, "unit": "吨", "quantity": "1", "unit_price": "10"}],
        "contract_no": "HT-1", "weighbridge_ticket": "BD-1", "vehicle_plate": "晋J12345",
        "photos": [f"document:{scan.id}"], "payment_reference": "PAY-1", "paid_amount": "10.00",
        "paid_at": "2026-03-01T10:00:00+08:00"}
    made = client.post("/api/v1/reverse-invoice/purchases", json=body, headers=bearer(client, CLERK))
    assert made.status_code == 201, made.get_json()
    purchase_id = made.get_json()["id"]
    login(client, CLERK)
    assert client.get(f"/reverse-invoice/purchases/{purchase_id}/evidence/{scan.id}").status_code == 404
    assert "/evidence/" not in client.get(f"/reverse-invoice/purchases/{purchase_id}").get_data(as_text=True)
