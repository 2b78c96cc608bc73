"""Reverse-invoicing over HTTP: a recycler's day from registration to filing, scopes and exports."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from reverse_invoice.demo import SCRAP_STEEL_CODE, make_bank_card, make_resident_id
from reverse_invoice.domain import add_months
from subsidy_app.core.clock import business_date, instant_on
from tests.helpers import bearer, freeze_clock, login, statements_starting


def _qualified(client: FlaskClient, demo: dict[str, int]) -> tuple[dict[str, str], int]:
    admin = bearer(client, "admin")
    recycler_id = demo["org:recycler:renewable"]
    profile = {"qualification": "renewable_resource_filing", "qualification_no": "ZSBA-0001",
               "vat_method": "simplified", "location_class": "county_town"}
    response = client.put(f"/api/v1/reverse-invoice/recyclers/{recycler_id}", json=profile, headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["may_issue"] is False
    decided = client.post(f"/api/v1/reverse-invoice/recyclers/{recycler_id}/decision", json={"approve": True},
                          headers=admin)
    assert decided.get_json()["may_issue"] is True
    return bearer(client, "recycler.renewable"), recycler_id


def _seller(client: FlaskClient, clerk: dict[str, str], serial: int = 1) -> int:
    response = client.post("/api/v1/reverse-invoice/sellers", headers=clerk, json={
        "name": "李四", "id_number": make_resident_id(serial), "bank_card": make_bank_card(serial)})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert "*" in body["id_number"] and "*" in body["bank_card"] and body["revealed"] is False
    return int(body["id"])


def _purchase_body(seller_id: int) -> dict[str, object]:
    return {
        "seller_id": seller_id, "purchased_on": business_date().isoformat(),
        "lines": [{"product_name": "废钢", "tax_code": SCRAP_STEEL_CODE, "unit": "吨", "quantity": "2.000001",
                   "unit_price": "2450.5", "specification": "重废"}],
        "contract_no": "HT-1", "weighbridge_ticket": "BD-1", "vehicle_plate": "晋J12345", "photos": ["p/1.jpg"],
        "payment_reference": "PAY-1", "paid_amount": "4900.00", "paid_at": "2026-03-01T10:00:00+08:00",
        "intake_ref": "intake-7"}


def _purchase(client: FlaskClient, clerk: dict[str, str], seller_id: int) -> int:
    response = client.post("/api/v1/reverse-invoice/purchases", headers=clerk, json=_purchase_body(seller_id))
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_a_recycler_issues_prints_exports_reverses_and_files(client: FlaskClient, demo: dict[str, int],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    clerk, recycler_id = _qualified(client, demo)
    seller_id = _seller(client, clerk)
    refused = client.post("/api/v1/reverse-invoice/purchases", headers=clerk, json=_purchase_body(seller_id))
    assert refused.status_code == 409 and refused.get_json()["reason"] == "seller.no_consent"
    text = client.get("/api/v1/reverse-invoice/consent-text", headers=clerk).get_json()
    consent = client.post(f"/api/v1/reverse-invoice/sellers/{seller_id}/consents", headers=clerk,
                          json={"text_version": text["text_version"], "agreed": True,
                                "id_number": make_resident_id(1)})
    assert consent.status_code == 201 and consent.get_json()["recycler_id"] == recycler_id
    purchase_id = _purchase(client, clerk, seller_id)
    special = client.post(f"/api/v1/reverse-invoice/purchases/{purchase_id}/invoice", headers=clerk,
                          json={"invoice_type": "special"})
    assert special.status_code == 422 and special.get_json()["reason"] == "recycler.invoice_type"
    issued = client.post(f"/api/v1/reverse-invoice/purchases/{purchase_id}/invoice", headers=clerk, json={})
    assert issued.status_code == 201, issued.get_json()
    body = issued.get_json()
    assert body["amount"] == "4901.00" and body["vat"] == "0.00" and body["vat_exempt"] is True
    invoice_id = body["invoice_id"]
    listed = client.get("/api/v1/reverse-invoice/invoices", headers=clerk)
    assert listed.status_code == 200, listed.get_json()
    assert [i["number"] for i in listed.get_json()] == [body["number"]]

    doc = client.get(f"/api/v1/reverse-invoice/invoices/{invoice_id}", headers=clerk).get_json()
    assert doc["number"] == body["number"] and doc["income_tax"] == "24.51" and doc["lines"][0]["quantity"]
    xml = client.get(f"/api/v1/reverse-invoice/invoices/{invoice_id}/xml", headers=clerk)
    assert ET.fromstring(xml.data).findtext("number") == body["number"]
    pdf = client.get(f"/api/v1/reverse-invoice/invoices/{invoice_id}/pdf", headers=clerk)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and b"STSong-Light" in pdf.data

    red = client.post(f"/api/v1/reverse-invoice/invoices/{invoice_id}/reversals", headers=clerk,
                      json={"reason": "04", "amount": "1.00"})
    assert red.status_code == 201 and red.get_json()["amount"] == "1.00"
    too_much = client.post(f"/api/v1/reverse-invoice/invoices/{invoice_id}/reversals", headers=clerk,
                           json={"reason": "04", "amount": "4900.01"})
    assert too_much.status_code == 422 and too_much.get_json()["reason"] == "invoice.reversal_exceeds"

    admin = bearer(client, "admin")
    month = business_date().strftime("%Y-%m")
    job = client.post("/api/v1/reverse-invoice/filings/prepare", headers=admin, json={"month": month})
    assert job.status_code == 202
    filings = client.get(f"/api/v1/reverse-invoice/filings?month={month}", headers=clerk).get_json()
    assert [f["recycler_id"] for f in filings] == [recycler_id]
    filing_id = filings[0]["id"]
    detail = client.get(f"/api/v1/reverse-invoice/filings/{filing_id}", headers=clerk).get_json()
    assert detail["sales"] == "4900.00" and detail["lines"][0]["seller_id"] == seller_id
    workbook = load_workbook(io.BytesIO(client.get(f"/api/v1/reverse-invoice/filings/{filing_id}/xlsx",
                                                   headers=clerk).data))
    assert workbook.sheetnames == ["代办税费申报表", "代办税费明细"]
    assert workbook["代办税费明细"].max_row == 2
    early = client.post(f"/api/v1/reverse-invoice/filings/{filing_id}/filed", headers=clerk)
    assert early.status_code == 409 and early.get_json()["reason"] == "filing.month_open"  # the month still runs
    freeze_clock(monkeypatch, instant_on(add_months(business_date().replace(day=1), 1)))
    paid = client.post(f"/api/v1/reverse-invoice/filings/{filing_id}/payment", headers=clerk,
                       json={"payment_reference": "SJ-0001"})
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid"
    month_year = add_months(business_date().replace(day=1), -1).year

    statement = client.get(f"/api/v1/reverse-invoice/sellers/{seller_id}/annual-statements/{month_year}",
                           headers=bearer(client, "finance.city")).get_json()
    assert statement["total"]["sales"] == "4900.00" and statement["seller"]["revealed"] is True


def test_another_recycler_sees_nothing_of_this_one(client: FlaskClient, demo: dict[str, int]) -> None:
    clerk, recycler_id = _qualified(client, demo)
    seller_id = _seller(client, clerk, 2)
    other = bearer(client, "recycler.dismantler")
    assert client.get(f"/api/v1/reverse-invoice/recyclers/{recycler_id}", headers=other).status_code == 404
    purchase = client.post("/api/v1/reverse-invoice/purchases", headers=other, json={
        "seller_id": seller_id, "purchased_on": business_date().isoformat(), "lines": [], "contract_no": "x",
        "weighbridge_ticket": "x", "vehicle_plate": "x", "photos": [], "payment_reference": "x",
        "paid_amount": "1", "paid_at": "2026-03-01T10:00:00+08:00"})
    assert purchase.status_code == 422  # no lines: refused before anything is looked up
    dealer = bearer(client, "dealer.car")
    assert client.get("/api/v1/reverse-invoice/invoices", headers=dealer).status_code == 403


def test_printable_invoice_page_is_chinese_and_masked(client: FlaskClient, demo: dict[str, int]) -> None:
    from reverse_invoice.demo import seed_reverse_invoicing
    from subsidy_app.http import runtime

    with client.application.app_context(), runtime().unit_of_work() as tx:
        assert seed_reverse_invoicing(tx) == "3 invoices"
    login(client, "recycler.renewable")
    page = client.get("/reverse-invoice/invoices")
    assert page.status_code == 200 and "反向开票发票" in page.get_data(as_text=True)
    first = page.get_data(as_text=True).split('/reverse-invoice/invoices/')[1].split('"')[0]
    html = client.get(f"/reverse-invoice/invoices/{first}").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "普通发票" in html and "王*" in html and "实付售卖人" in html


def test_invoices_print_numbers_in_fixed_notation_and_the_recycler_as_issuer(client: FlaskClient,
                                                                              demo: dict[str, int]) -> None:
    from reverse_invoice.demo import seed_reverse_invoicing
    from subsidy_app.http import runtime

    with client.application.app_context(), runtime().unit_of_work() as tx:
        seed_reverse_invoicing(tx)
    login(client, "recycler.renewable")
    listing = client.get("/reverse-invoice/invoices").get_data(as_text=True)
    ids = sorted(set(re.findall(r'/reverse-invoice/invoices/(\d+)"', listing)))
    assert ids
    for invoice_id in ids:
        html = client.get(f"/reverse-invoice/invoices/{invoice_id}").get_data(as_text=True)
        assert not re.search(r"\d[Ee][+-]\d", html), invoice_id  # 2480, never 2.48E+3
        issuer = re.search(r"开票人:([^<]+)<", html)
        assert issuer is not None and "account:" not in issuer.group(1) and "回收" in issuer.group(1)
    unit_prices = re.findall(r'<td class="num">([\d.]+)</td>', html)
    assert unit_prices and all("E" not in price for price in unit_prices)


def test_month_correction_over_http_lists_then_corrects(client: FlaskClient, demo: dict[str, int]) -> None:
    clerk, _recycler_id = _qualified(client, demo)
    seller_id = _seller(client, clerk, 3)
    version = client.get("/api/v1/reverse-invoice/consent-text", headers=clerk).get_json()["text_version"]
    client.post(f"/api/v1/reverse-invoice/sellers/{seller_id}/consents", headers=clerk,
                json={"text_version": version, "agreed": True, "id_number": make_resident_id(3)})
    issued = []
    for price in ("40000", "40000", "30000"):  # the third takes the month over 100,000
        body = {**_purchase_body(seller_id), "lines": [{"product_name": "废钢", "tax_code": SCRAP_STEEL_CODE,
                                                        "unit": "吨", "quantity": "1", "unit_price": price}]}
        purchase_id = client.post("/api/v1/reverse-invoice/purchases", headers=clerk, json=body).get_json()["id"]
        issued.append(client.post(f"/api/v1/reverse-invoice/purchases/{purchase_id}/invoice", headers=clerk,
                                  json={}).get_json())
    assert issued[2]["corrections_needed"] == [issued[0]["invoice_id"], issued[1]["invoice_id"]]
    month = business_date().strftime("%Y-%m")
    listed = client.get(f"/api/v1/reverse-invoice/sellers/{seller_id}/corrections?month={month}", headers=clerk)
    assert listed.get_json()["invoice_ids"] == issued[2]["corrections_needed"]
    corrected = client.post(f"/api/v1/reverse-invoice/sellers/{seller_id}/corrections", headers=clerk,
                            json={"month": month})
    assert corrected.status_code == 200 and len(corrected.get_json()) == 2
    reissued = client.get(f"/api/v1/reverse-invoice/invoices/{corrected.get_json()[0]['reissued_id']}",
                          headers=clerk).get_json()
    assert reissued["vat"] == "400.00" and reissued["replaces_number"] == issued[0]["number"]
    again = client.get(f"/api/v1/reverse-invoice/sellers/{seller_id}/corrections?month={month}", headers=clerk)
    assert again.get_json()["invoice_ids"] == []


def test_monthly_filing_and_daily_suspension_check_are_scheduled() -> None:
    from subsidy_app.broker import BEAT_JOBS

    jobs = {job for _schedule, job in BEAT_JOBS.values()}
    assert {"reverse_invoice.prepare_filings", "reverse_invoice.check_suspensions"} <= jobs
    schedule, _ = BEAT_JOBS["reverse-invoice-filings-monthly"]
    assert schedule.day_of_month == {1}


def test_an_issued_invoices_answer_commits_with_it_and_a_retry_gets_it(client: FlaskClient, demo: dict[str, int],
                                                                       engine) -> None:
    clerk, _recycler_id = _qualified(client, demo)
    seller_id = _seller(client, clerk, 3)
    text = client.get("/api/v1/reverse-invoice/consent-text", headers=clerk).get_json()
    client.post(f"/api/v1/reverse-invoice/sellers/{seller_id}/consents", headers=clerk,
                json={"text_version": text["text_version"], "agreed": True, "id_number": make_resident_id(3)})
    purchase_id = _purchase(client, clerk, seller_id)
    headers = {**clerk, "Idempotency-Key": "issue-1"}
    with statements_starting(engine, "UPDATE idempotency_record") as later_answers:
        first = client.post(f"/api/v1/reverse-invoice/purchases/{purchase_id}/invoice", headers=headers, json={})
    assert first.status_code == 201 and later_answers == []  # stored by the invoice's own transaction
    again = client.post(f"/api/v1/reverse-invoice/purchases/{purchase_id}/invoice", headers=headers, json={})
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_first_consent_names_the_seller_by_id_number_not_by_id_alone(client: FlaskClient,
                                                                           demo: dict[str, int]) -> None:
    owner, _owner_id = _qualified(client, demo)
    seller_id = _seller(client, owner, 5)
    version = client.get("/api/v1/reverse-invoice/consent-text", headers=owner).get_json()["text_version"]
    url = f"/api/v1/reverse-invoice/sellers/{seller_id}/consents"
    # A clerk who only knows (or counts to) the seller's id gets what an unknown id gets, with or without a guess.
    for body in ({"text_version": version, "agreed": True},
                 {"text_version": version, "agreed": True, "id_number": make_resident_id(6)}):
        refused = client.post(url, headers=owner, json=body)
        assert refused.status_code == 404 and refused.get_json()["reason"] == "seller.not_found", body
    assert client.get(f"/api/v1/reverse-invoice/sellers/{seller_id}", headers=owner).status_code == 404
    malformed = client.post(url, headers=owner, json={"text_version": version, "agreed": True, "id_number": "12"})
    assert malformed.status_code == 422 and "id_number" in malformed.get_json()["errors"]
    # The seller in front of the clerk: the ID number names them, and the consent links them.
    linked = client.post(url, headers=owner, json={"text_version": version, "agreed": True,
                                                   "id_number": make_resident_id(5)})
    assert linked.status_code == 201
    assert client.get(f"/api/v1/reverse-invoice/sellers/{seller_id}", headers=owner).status_code == 200
    # Renewing a consent the recycler already holds needs no ID number.
    assert client.post(url, headers=owner, json={"text_version": version, "agreed": True}).status_code == 201
