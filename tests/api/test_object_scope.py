"""Every route that loads an object by id refuses staff of another county or organisation: 403 or 404, never data."""

# The table names each id route of the URL map with a request for one object of 离石区 (141102), owned by the
# demo dealers and the demo dismantler. A route missing from both the table and the exemptions fails the
# coverage test, so a new id route cannot land without its scope probe.

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from recycling import imports
from recycling.closed_loop import register_hand_in_obligation
from recycling.models import Intake, ScrapCertificate, Site
from recycling.reports import request_report
from reverse_invoice import filing, sellers
from subsidy_app.appliances.models import Participation
from subsidy_app.applications import payments, review
from subsidy_app.applications.models import Application, ApplicationCheck, PaymentBatch
from subsidy_app.core.clock import business_date
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.documents.services import store_document
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import OrgKind, Role
from subsidy_app.identity.services import issue_api_token, load_principal
from subsidy_app.oversight import complaint_services, spot_services
from subsidy_app.oversight.complaint_domain import WorkingCalendar
from subsidy_app.oversight.spot_models import SpotItem
from subsidy_app.rules import budget_proposals
from subsidy_app.seed import DEMO_PASSWORD, demo_credit_code
from tests.appliance_fixtures import AC, TABLET, appliance_world, buyer_token, sale_body, sell
from tests.car_fixtures import APPLICANT_ID, APPLICANT_NAME, APPLICANT_PHONE, car_world, resident_id, submit
from tests.doc_files import png_bytes
from tests.helpers import bearer
from tests.integration.ri_support import DAY, issue, purchase, qualify, seller

OTHER_COUNTY = ("auditor.xiaoyi", "senior.xiaoyi", "admin.xiaoyi", "finance.xiaoyi")
OTHER_ORGS = ("dealer.xiaoyi", "recycler.renewable", "dealer.car", "dealer.appliance")
W = dict[str, Any]


@dataclass(frozen=True)
class Probe:
    """One id route: how to request the 141102 object, and who legitimately sees it."""

    path: Callable[[W], str]
    insider: str | None = None  # a GET must answer this user 200, so the probed id is real
    owners: frozenset[str] = frozenset()  # other-organisation users who legitimately see the object
    json: Callable[[W], dict[str, Any]] | None = None
    files: bool = False  # multipart upload with a `file` field
    form: dict[str, str] = field(default_factory=dict)


def _own(*users: str) -> frozenset[str]:
    return frozenset(users)


BANK_RESULT = "序号,申请编号,金额,结果,银行流水号,说明\n1,X,1.00,成功,B1,\n"
PROBES: dict[tuple[str, str], Probe] = {
    # identity and jobs
    ("DELETE", "/api/v1/tokens/<int:token_id>"): Probe(lambda w: f"/api/v1/tokens/{w['token']}",
                                                       owners=_own("dealer.car")),
    ("GET", "/api/v1/organisations/<int:organisation_id>"): Probe(
        lambda w: f"/api/v1/organisations/{w['dealer_car']}", "auditor.lishi", _own("dealer.car")),
    ("GET", "/api/v1/persons/<int:person_id>"): Probe(lambda w: f"/api/v1/persons/{w['person']}", "auditor.lishi"),
    ("GET", "/api/v1/jobs/<int:job_id>"): Probe(lambda w: f"/api/v1/jobs/{w['job']}", "admin"),
    ("GET", "/documents/<int:document_id>"): Probe(lambda w: f"/documents/{w['document']}", "auditor.lishi"),
    # budget pools
    ("GET", "/api/v1/budget-pools/<int:pool_id>"): Probe(lambda w: f"/api/v1/budget-pools/{w['pool']}",
                                                         "auditor.lishi"),
    ("GET", "/api/v1/budget-pools/<int:pool_id>/proposals"): Probe(
        lambda w: f"/api/v1/budget-pools/{w['pool']}/proposals", "finance.city"),
    ("POST", "/api/v1/budget-pools/<int:pool_id>/proposals"): Probe(
        lambda w: f"/api/v1/budget-pools/{w['pool']}/proposals",
        json=lambda w: {"kind": "top_up", "amount": "1.00", "source": "city", "reason": "追加资金"}),
    ("POST", "/api/v1/budget-proposals/<int:proposal_id>/approval"): Probe(
        lambda w: f"/api/v1/budget-proposals/{w['proposal']}/approval", json=lambda w: {}),
    ("POST", "/api/v1/budget-proposals/<int:proposal_id>/rejection"): Probe(
        lambda w: f"/api/v1/budget-proposals/{w['proposal']}/rejection", json=lambda w: {"note": "不予追加"}),
    # vehicles
    ("GET", "/api/v1/vehicles/<string:vin>"): Probe(lambda w: f"/api/v1/vehicles/{w['vin']}", "auditor.lishi"),
    ("PUT", "/api/v1/vehicles/<string:vin>/deregistration"): Probe(
        lambda w: f"/api/v1/vehicles/{w['vin']}/deregistration",
        json=lambda w: {"certificate_number": "ZX2026999999", "deregistered_on": "2026-05-26"}),
    # car sales, applications, payments
    ("GET", "/api/v1/car-sales/<int:sale_id>"): Probe(lambda w: f"/api/v1/car-sales/{w['car_sale']}", "dealer.car",
                                                      _own("dealer.car")),
    ("GET", "/api/v1/car-sales/<int:sale_id>/qr.<fmt>"): Probe(lambda w: f"/api/v1/car-sales/{w['car_sale']}/qr.png",
                                                               "dealer.car", _own("dealer.car")),
    ("GET", "/dealer/car-sales/<int:sale_id>"): Probe(lambda w: f"/dealer/car-sales/{w['car_sale']}", "dealer.car",
                                                      _own("dealer.car")),
    ("GET", "/api/v1/applications/<int:application_id>"): Probe(
        lambda w: f"/api/v1/applications/{w['application']}", "auditor.lishi", _own("dealer.car")),
    ("POST", "/api/v1/applications/<int:application_id>/review"): Probe(
        lambda w: f"/api/v1/applications/{w['application']}/review",
        json=lambda w: {"action": "revoke", "reason": "越权测试"}),
    ("POST", "/api/v1/applications/<int:application_id>/checks/<int:check_id>/override"): Probe(
        lambda w: f"/api/v1/applications/{w['application']}/checks/{w['check']}/override",
        json=lambda w: {"reason": "越权测试"}),
    ("GET", "/review/<int:application_id>"): Probe(lambda w: f"/review/{w['application']}", "auditor.lishi"),
    ("POST", "/review/<int:application_id>/decision"): Probe(
        lambda w: f"/review/{w['application']}/decision", form={"action": "revoke", "reason": "越权测试"}),
    ("POST", "/review/<int:application_id>/checks/<int:check_id>/override"): Probe(
        lambda w: f"/review/{w['application']}/checks/{w['check']}/override", form={"reason": "越权测试"}),
    ("POST", "/review/<int:application_id>/assign"): Probe(
        lambda w: f"/review/{w['application']}/assign", form={"assignee": "me"}),
    ("GET", "/api/v1/payment-batches/<int:batch_id>"): Probe(lambda w: f"/api/v1/payment-batches/{w['batch']}",
                                                             "finance.city"),
    ("GET", "/api/v1/payment-batches/<int:batch_id>/bank-file"): Probe(
        lambda w: f"/api/v1/payment-batches/{w['batch']}/bank-file?format=csv", "finance.city"),
    ("POST", "/api/v1/payment-batches/<int:batch_id>/results"): Probe(
        lambda w: f"/api/v1/payment-batches/{w['batch']}/results", files=True),
    ("GET", "/finance/batches/<int:batch_id>"): Probe(lambda w: f"/finance/batches/{w['batch']}", "finance.city"),
    ("POST", "/finance/batches/<int:batch_id>/results"): Probe(lambda w: f"/finance/batches/{w['batch']}/results",
                                                               files=True),
    # appliances
    ("GET", "/api/v1/appliance-stores/<int:store_id>/poster.<fmt>"): Probe(
        lambda w: f"/api/v1/appliance-stores/{w['store']}/poster.png", "dealer.appliance", _own("dealer.appliance")),
    ("PUT", "/api/v1/appliance-dealers/<int:dealer_org_id>/account"): Probe(
        lambda w: f"/api/v1/appliance-dealers/{w['dealer_appliance']}/account", owners=_own("dealer.appliance"),
        json=lambda w: {"bank_name": "越权银行", "account_number": "6222000011112222"}),
    ("POST", "/api/v1/appliance-sales/<int:sale_id>/return"): Probe(
        lambda w: f"/api/v1/appliance-sales/{w['appliance_sale']}/return", owners=_own("dealer.appliance"),
        json=lambda w: {"reason": "越权测试"}),
    ("POST", "/api/v1/appliance-sales/<int:sale_id>/pickup"): Probe(
        lambda w: f"/api/v1/appliance-sales/{w['appliance_sale']}/pickup", owners=_own("dealer.appliance"),
        json=lambda w: {"picked_up_on": "2025-05-11"}),
    ("GET", "/api/v1/appliance-settlements/<int:application_id>"): Probe(
        lambda w: f"/api/v1/appliance-settlements/{w['statement']}", "auditor.lishi", _own("dealer.appliance")),
    ("GET", "/api/v1/appliance-sales/bulk/<int:upload_id>"): Probe(
        lambda w: f"/api/v1/appliance-sales/bulk/{w['bulk']}", "dealer.appliance", _own("dealer.appliance")),
    ("GET", "/dealer/appliances/sales/<int:sale_id>"): Probe(
        lambda w: f"/dealer/appliances/sales/{w['appliance_sale']}", "dealer.appliance", _own("dealer.appliance")),
    ("POST", "/dealer/appliances/sales/<int:sale_id>/return"): Probe(
        lambda w: f"/dealer/appliances/sales/{w['appliance_sale']}/return", owners=_own("dealer.appliance"),
        form={"reason": "越权测试"}),
    ("POST", "/dealer/appliances/sales/<int:sale_id>/pickup"): Probe(
        lambda w: f"/dealer/appliances/sales/{w['appliance_sale']}/pickup", owners=_own("dealer.appliance"),
        form={"picked_up_on": "2025-05-11"}),
    ("GET", "/dealer/appliances/uploads/<int:upload_id>"): Probe(
        lambda w: f"/dealer/appliances/uploads/{w['bulk']}", "dealer.appliance", _own("dealer.appliance")),
    ("GET", "/dealer/appliances/uploads/<int:upload_id>/rejected.xlsx"): Probe(
        lambda w: f"/dealer/appliances/uploads/{w['bulk']}/rejected.xlsx", "dealer.appliance",
        _own("dealer.appliance")),
    ("GET", "/dealer/appliances/settlements/<int:application_id>"): Probe(
        lambda w: f"/dealer/appliances/settlements/{w['statement']}", "dealer.appliance", _own("dealer.appliance")),
    ("POST", "/dealer/appliances/settlements/<int:application_id>/withdraw"): Probe(
        lambda w: f"/dealer/appliances/settlements/{w['statement']}/withdraw", owners=_own("dealer.appliance"),
        form={"x": "1"}),
    ("POST", "/api/v1/recovery/hand-ins/<trade_in_ref>/pickup"): Probe(
        lambda w: "/api/v1/recovery/hand-ins/SCOPE-HAND-1/pickup", owners=_own("dealer.appliance"),
        json=lambda w: {"picked_up_on": business_date().isoformat()}),
    # recycling
    ("GET", "/api/v1/recycling/recyclers/<int:organisation_id>/qualifications"): Probe(
        lambda w: f"/api/v1/recycling/recyclers/{w['dismantler']}/qualifications", "recycler.dismantler"),
    ("POST", "/api/v1/recycling/recyclers/<int:organisation_id>/qualifications"): Probe(
        lambda w: f"/api/v1/recycling/recyclers/{w['dismantler']}/qualifications",
        json=lambda w: {"kind": "dismantling", "number": "SCOPE-LIC-1", "valid_from": "2026-01-01"}),
    ("GET", "/api/v1/recycling/sites/<int:site_id>/stock"): Probe(
        lambda w: f"/api/v1/recycling/sites/{w['site']}/stock", "recycler.dismantler"),
    ("GET", "/api/v1/recycling/certificates/<int:certificate_id>"): Probe(
        lambda w: f"/api/v1/recycling/certificates/{w['certificate']}", "auditor.lishi"),
    ("POST", "/api/v1/recycling/certificates/<int:certificate_id>/revoke"): Probe(
        lambda w: f"/api/v1/recycling/certificates/{w['certificate']}/revoke", json=lambda w: {"reason": "越权测试"}),
    ("GET", "/api/v1/recycling/certificates/<int:certificate_id>/qr.png"): Probe(
        lambda w: f"/api/v1/recycling/certificates/{w['certificate']}/qr.png", "auditor.lishi"),
    ("GET", "/api/v1/recycling/certificates/<int:certificate_id>/qr.svg"): Probe(
        lambda w: f"/api/v1/recycling/certificates/{w['certificate']}/qr.svg", "auditor.lishi"),
    ("GET", "/recycling/certificates/<int:certificate_id>"): Probe(
        lambda w: f"/recycling/certificates/{w['certificate']}", "recycler.dismantler"),
    ("GET", "/api/v1/recycling/intakes/<int:intake_id>"): Probe(
        lambda w: f"/api/v1/recycling/intakes/{w['intake']}", "auditor.lishi"),
    ("POST", "/api/v1/recycling/intakes/<int:intake_id>/corrections"): Probe(
        lambda w: f"/api/v1/recycling/intakes/{w['intake']}/corrections", json=lambda w: {"reason": "越权测试"}),
    ("GET", "/api/v1/recycling/intake-imports/<int:import_id>"): Probe(
        lambda w: f"/api/v1/recycling/intake-imports/{w['intake_import']}", "auditor.lishi"),
    # reverse invoicing
    ("GET", "/api/v1/reverse-invoice/recyclers/<int:recycler_id>"): Probe(
        lambda w: f"/api/v1/reverse-invoice/recyclers/{w['dismantler']}", "auditor.lishi"),
    ("PUT", "/api/v1/reverse-invoice/recyclers/<int:recycler_id>"): Probe(
        lambda w: f"/api/v1/reverse-invoice/recyclers/{w['dismantler']}", json=lambda w: {
            "qualification": "vehicle_dismantling", "qualification_no": "SCOPE-Q-1", "vat_method": "general",
            "location_class": "city"}),
    ("POST", "/api/v1/reverse-invoice/recyclers/<int:recycler_id>/decision"): Probe(
        lambda w: f"/api/v1/reverse-invoice/recyclers/{w['dismantler']}/decision", json=lambda w: {"approve": False}),
    ("GET", "/api/v1/reverse-invoice/sellers/<int:seller_id>"): Probe(
        lambda w: f"/api/v1/reverse-invoice/sellers/{w['seller']}", "recycler.dismantler"),
    ("GET", "/api/v1/reverse-invoice/sellers/<int:seller_id>/corrections"): Probe(
        lambda w: f"/api/v1/reverse-invoice/sellers/{w['seller']}/corrections?month=2026-03", "auditor.lishi"),
    # Another recycler's clerk who knows only the seller's id cannot link the seller to their own recycler.
    ("POST", "/api/v1/reverse-invoice/sellers/<int:seller_id>/consents"): Probe(
        lambda w: f"/api/v1/reverse-invoice/sellers/{w['seller']}/consents",
        json=lambda w: {"text_version": w["consent_version"], "agreed": True}),
    ("POST", "/api/v1/reverse-invoice/sellers/<int:seller_id>/corrections"): Probe(
        lambda w: f"/api/v1/reverse-invoice/sellers/{w['seller']}/corrections", json=lambda w: {"month": "2026-03"}),
    ("GET", "/api/v1/reverse-invoice/sellers/<int:seller_id>/annual-statements/<int:year>"): Probe(
        lambda w: f"/api/v1/reverse-invoice/sellers/{w['seller']}/annual-statements/2026", "auditor.lishi"),
    ("POST", "/api/v1/reverse-invoice/purchases/<int:purchase_id>/invoice"): Probe(
        lambda w: f"/api/v1/reverse-invoice/purchases/{w['purchase']}/invoice", json=lambda w: {}),
    ("GET", "/api/v1/reverse-invoice/invoices/<int:invoice_id>"): Probe(
        lambda w: f"/api/v1/reverse-invoice/invoices/{w['invoice']}", "auditor.lishi"),
    ("GET", "/api/v1/reverse-invoice/invoices/<int:invoice_id>/xml"): Probe(
        lambda w: f"/api/v1/reverse-invoice/invoices/{w['invoice']}/xml", "auditor.lishi"),
    ("GET", "/api/v1/reverse-invoice/invoices/<int:invoice_id>/pdf"): Probe(
        lambda w: f"/api/v1/reverse-invoice/invoices/{w['invoice']}/pdf", "auditor.lishi"),
    ("POST", "/api/v1/reverse-invoice/invoices/<int:invoice_id>/reversals"): Probe(
        lambda w: f"/api/v1/reverse-invoice/invoices/{w['invoice']}/reversals", json=lambda w: {"reason": "01"}),
    ("GET", "/reverse-invoice/invoices/<int:invoice_id>"): Probe(
        lambda w: f"/reverse-invoice/invoices/{w['invoice']}", "auditor.lishi"),
    ("POST", "/reverse-invoice/invoices/<int:invoice_id>/reversal"): Probe(
        lambda w: f"/reverse-invoice/invoices/{w['invoice']}/reversal", form={"reason": "01"}),
    ("GET", "/reverse-invoice/sellers/<int:seller_id>"): Probe(
        lambda w: f"/reverse-invoice/sellers/{w['seller']}", "auditor.lishi"),
    ("GET", "/reverse-invoice/sellers/<int:seller_id>/statement"): Probe(
        lambda w: f"/reverse-invoice/sellers/{w['seller']}/statement", "auditor.lishi"),
    ("GET", "/reverse-invoice/sellers/<int:seller_id>/purchases/new"): Probe(
        lambda w: f"/reverse-invoice/sellers/{w['seller']}/purchases/new", "recycler.dismantler"),
    ("POST", "/reverse-invoice/sellers/<int:seller_id>/purchases/new"): Probe(
        lambda w: f"/reverse-invoice/sellers/{w['seller']}/purchases/new", form={"contract_no": "HT-1"}),
    ("GET", "/reverse-invoice/purchases/<int:purchase_id>"): Probe(
        lambda w: f"/reverse-invoice/purchases/{w['purchase']}", "recycler.dismantler"),
    ("POST", "/reverse-invoice/purchases/<int:purchase_id>/invoice"): Probe(
        lambda w: f"/reverse-invoice/purchases/{w['purchase']}/invoice", form={"invoice_type": "ordinary"}),
    ("GET", "/reverse-invoice/purchases/<int:purchase_id>/evidence/<int:document_id>"): Probe(
        lambda w: f"/reverse-invoice/purchases/{w['purchase']}/evidence/{w['document']}"),
    ("GET", "/reverse-invoice/filings/<int:filing_id>"): Probe(
        lambda w: f"/reverse-invoice/filings/{w['filing']}", "auditor.lishi"),
    ("POST", "/reverse-invoice/filings/<int:filing_id>/filed"): Probe(
        lambda w: f"/reverse-invoice/filings/{w['filing']}/filed", form={"x": "1"}),
    ("POST", "/reverse-invoice/filings/<int:filing_id>/payment"): Probe(
        lambda w: f"/reverse-invoice/filings/{w['filing']}/payment", form={"payment_reference": "JK-0001"}),
    ("GET", "/api/v1/reverse-invoice/filings/<int:filing_id>"): Probe(
        lambda w: f"/api/v1/reverse-invoice/filings/{w['filing']}", "auditor.lishi"),
    ("GET", "/api/v1/reverse-invoice/filings/<int:filing_id>/xlsx"): Probe(
        lambda w: f"/api/v1/reverse-invoice/filings/{w['filing']}/xlsx", "auditor.lishi"),
    ("POST", "/api/v1/reverse-invoice/filings/<int:filing_id>/filed"): Probe(
        lambda w: f"/api/v1/reverse-invoice/filings/{w['filing']}/filed"),
    ("POST", "/api/v1/reverse-invoice/filings/<int:filing_id>/payment"): Probe(
        lambda w: f"/api/v1/reverse-invoice/filings/{w['filing']}/payment",
        json=lambda w: {"payment_reference": "SCOPE-PAY-1"}),
    # the recycler portal
    ("GET", "/recycling/intakes/<int:intake_id>/reverse"): Probe(
        lambda w: f"/recycling/intakes/{w['intake']}/reverse", "recycler.dismantler"),
    ("POST", "/recycling/intakes/<int:intake_id>/reverse"): Probe(
        lambda w: f"/recycling/intakes/{w['intake']}/reverse", form={"reason": "越权测试"}),
    ("GET", "/recycling/imports/<int:import_id>"): Probe(
        lambda w: f"/recycling/imports/{w['intake_import']}", "recycler.dismantler"),
    # bureau pages: an account of 离石区, the admin's report job
    ("GET", "/admin/accounts/<int:account_id>"): Probe(lambda w: f"/admin/accounts/{w['account_lishi']}", "admin"),
    ("POST", "/admin/accounts/<int:account_id>/active"): Probe(
        lambda w: f"/admin/accounts/{w['account_lishi']}/active", form={"active": "0"}),
    ("POST", "/admin/accounts/<int:account_id>/password"): Probe(
        lambda w: f"/admin/accounts/{w['account_lishi']}/password", form={"reset": "1"}),
    ("POST", "/admin/accounts/<int:account_id>/counties"): Probe(
        lambda w: f"/admin/accounts/{w['account_lishi']}/counties", form={"counties": "141181"}),
    ("GET", "/recovery/reports/jobs/<int:job_id>"): Probe(lambda w: f"/recovery/reports/jobs/{w['job']}", "admin"),
    # bureau pages: budget pools and their proposals, appliance participation
    ("GET", "/budget/pools/<int:pool_id>"): Probe(lambda w: f"/budget/pools/{w['pool']}", "auditor.lishi"),
    ("POST", "/budget/pools/<int:pool_id>/proposals"): Probe(
        lambda w: f"/budget/pools/{w['pool']}/proposals",
        form={"kind": "top_up", "amount": "1.00", "source": "city", "reason": "越权测试"}),
    ("POST", "/budget/pools/<int:pool_id>/proposals/<int:proposal_id>/approve"): Probe(
        lambda w: f"/budget/pools/{w['pool']}/proposals/{w['proposal']}/approve"),
    ("POST", "/budget/pools/<int:pool_id>/proposals/<int:proposal_id>/reject"): Probe(
        lambda w: f"/budget/pools/{w['pool']}/proposals/{w['proposal']}/reject", form={"note": "越权测试"}),
    ("GET", "/bureau/participations/<int:participation_id>"): Probe(
        lambda w: f"/bureau/participations/{w['participation']}", "auditor.lishi"),
    # spot checks (issue 16): a plan is drawn by the city only; an item belongs to its trade-in's county
    ("POST", "/api/v1/oversight/spot-checks/<int:plan_id>/draw"): Probe(
        lambda w: f"/api/v1/oversight/spot-checks/{w['spot_plan']}/draw", json=lambda w: {}),
    ("POST", "/bureau/spot-checks/<int:plan_id>/draw"): Probe(
        lambda w: f"/bureau/spot-checks/{w['spot_plan']}/draw", form={"seed": "越权测试"}),
    ("POST", "/api/v1/oversight/spot-check-items/<int:item_id>/results"): Probe(
        lambda w: f"/api/v1/oversight/spot-check-items/{w['spot_item']}/results",
        json=lambda w: {"task": "callback", "outcome": "confirmed"}),
    ("POST", "/api/v1/oversight/spot-check-items/<int:item_id>/conclusion"): Probe(
        lambda w: f"/api/v1/oversight/spot-check-items/{w['spot_item']}/conclusion",
        json=lambda w: {"conclusion": "genuine"}),
    ("GET", "/bureau/spot-checks/items/<int:item_id>"): Probe(
        lambda w: f"/bureau/spot-checks/items/{w['spot_item']}", "auditor.lishi"),
    ("POST", "/bureau/spot-checks/items/<int:item_id>/results"): Probe(
        lambda w: f"/bureau/spot-checks/items/{w['spot_item']}/results",
        form={"task": "callback", "outcome": "confirmed"}),
    ("POST", "/bureau/spot-checks/items/<int:item_id>/conclusion"): Probe(
        lambda w: f"/bureau/spot-checks/items/{w['spot_item']}/conclusion", form={"conclusion": "genuine"}),
    # complaints and appeals (a phone complaint recorded in 离石区)
    ("GET", "/api/v1/oversight/cases/<int:case_id>"): Probe(
        lambda w: f"/api/v1/oversight/cases/{w['case']}", "auditor.lishi"),
    ("POST", "/api/v1/oversight/cases/<int:case_id>/assign"): Probe(
        lambda w: f"/api/v1/oversight/cases/{w['case']}/assign", json=lambda w: {}),
    ("POST", "/api/v1/oversight/cases/<int:case_id>/answer"): Probe(
        lambda w: f"/api/v1/oversight/cases/{w['case']}/answer", json=lambda w: {"reply": "越权测试"}),
    ("POST", "/api/v1/oversight/cases/<int:case_id>/close"): Probe(
        lambda w: f"/api/v1/oversight/cases/{w['case']}/close"),
    ("GET", "/oversight/cases/<int:case_id>"): Probe(lambda w: f"/oversight/cases/{w['case']}", "auditor.lishi"),
    ("POST", "/oversight/cases/<int:case_id>/assign"): Probe(
        lambda w: f"/oversight/cases/{w['case']}/assign", form={"assignee": "1"}),
    ("POST", "/oversight/cases/<int:case_id>/answer"): Probe(
        lambda w: f"/oversight/cases/{w['case']}/answer", form={"reply": "越权测试"}),
    ("POST", "/oversight/cases/<int:case_id>/close"): Probe(
        lambda w: f"/oversight/cases/{w['case']}/close", form={"x": "1"}),
}

# Id routes that carry no county object of their own, each with the reason.
CAPABILITY = "capability URL: the signed token in the path is the credential, checked by the resident's own pages"
EXEMPT: dict[tuple[str, str], str] = {
    ("GET", "/static/<path:filename>"): "static files",
    ("GET", "/api/docs/assets/<path:filename>"): "the packaged Swagger UI's files",
    ("GET", "/api/v1/rule-versions/<code>"): "published rule versions are public",
    ("GET", "/api/v1/appliance-products/<gtin>"): "the city-wide product catalogue, no county data",
    ("DELETE", "/api/v1/appliance-products/<gtin>"): "the city-wide product catalogue, no county data",
    ("GET", "/api/v1/recovery/reports/<int:report_id>/download"):
        "the city's ten-day/monthly circular (旬报/月通报) goes to every county; volumes only, no personal data",
    ("GET", "/verify/certificate/<token>"): "public certificate check by signed QR token, masked details only",
    ("GET", "/rules/versions/<code>"): "published rule versions are public (the API serves them to anyone)",
    ("GET", "/recovery/reports/<int:report_id>.xlsx"):
        "the city's ten-day/monthly circular, as its API download: volumes only, no personal data",
    ("GET", "/admin/audit/verify/<int:job_id>"):
        "city-level admins only (403 for every other account, test_bureau_admin_pages): the chain is the whole city's",
    **{(method, rule): "a city-wide sampling plan (programme, period, rate, seed and counts); its items and figures "
                       "are the caller's own counties only (test_spot_check_api)"
       for method, rule in (("GET", "/api/v1/oversight/spot-checks/<int:plan_id>"),
                            ("GET", "/api/v1/oversight/spot-checks/<int:plan_id>/items"),
                            ("GET", "/api/v1/oversight/spot-checks/<int:plan_id>/rollup"),
                            ("GET", "/bureau/spot-checks/<int:plan_id>"))},
    ("GET", "/staff/dashboard/<key>.<any(csv, xlsx):kind>"):
        "a panel's name, not an object: the figures are the caller's own counties (test_dashboard_pages)",
    **{(method, rule): CAPABILITY for method, rule in (
        ("GET", "/m/appliance/<token>"), ("GET", "/m/appliance/<token>/apply"),
        ("POST", "/m/appliance/<token>/apply"), ("POST", "/m/appliance/<token>/code"),
        ("GET", "/m/appliance/<token>/qr.png"), ("POST", "/m/appliance/<token>/verify"),
        ("GET", "/m/car/<token>"), ("GET", "/m/car/<token>/apply"), ("POST", "/m/car/<token>/apply"),
        ("POST", "/m/car/<token>/code"), ("POST", "/m/car/<token>/verify"), ("GET", "/m/s/<token>"),
        ("POST", "/m/s/<token>/card"), ("GET", "/m/s/<token>/qr.png"), ("POST", "/m/s/<token>/resubmit"),
        ("GET", "/m/store/<token>"), ("POST", "/m/store/<token>/code"), ("GET", "/m/store/<token>/confirmed"),
        ("POST", "/m/store/<token>/verify"), ("GET", "/m/s/<token>/cases"), ("POST", "/m/s/<token>/cases"),
        ("POST", "/m/s/<token>/cases/<int:case_id>/withdraw"))},
}


def _id_routes(app: Flask) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.arguments
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}


def test_every_id_route_of_the_url_map_has_a_scope_probe_or_a_stated_exemption(app: Flask) -> None:
    routes = _id_routes(app)
    assert sorted(routes - set(PROBES) - set(EXEMPT)) == []
    assert sorted((set(PROBES) | set(EXEMPT)) - routes) == []  # no stale rows


def _outsider_accounts(uow: UnitOfWork, demo: dict[str, int]) -> None:
    """Add a senior auditor, an admin and a finance officer whose scope is 孝义市 (141181) only."""
    finance_org = identity.register_organisation(uow, actor="t", kind=OrgKind.FINANCE, name="孝义市财政局",
                                                 credit_code=demo_credit_code(880001), county_code="141181").id
    for username, org, role in (("senior.xiaoyi", demo["org:bureau:141181"], Role.SENIOR_AUDITOR),
                                ("admin.xiaoyi", demo["org:bureau:141181"], Role.ADMIN),
                                ("finance.xiaoyi", finance_org, Role.FINANCE_OFFICER)):
        identity.create_account(uow, actor="t", organisation_id=org, username=username, display_name=username,
                                password=DEMO_PASSWORD, roles=[role])


def _principal(uow: UnitOfWork, demo: dict[str, int], username: str) -> Any:
    principal = load_principal(uow, account_id=demo[username])
    assert principal is not None
    return principal


def _car_side(uow: UnitOfWork, demo: dict[str, int]) -> W:
    world = car_world(uow, demo)
    done = submit(uow, world)
    review.batch_approve(uow, principal=_principal(uow, demo, "auditor.lishi"), application_ids=[done.application_id])
    app = uow.session.get(Application, done.application_id)
    assert app is not None and app.state == "approved"
    batch = payments.create_batch(uow, principal=_principal(uow, demo, "finance.city"),
                                  application_ids=[app.id], declared_count=1, declared_total=app.amount)
    document = store_document(uow, actor="t", kind="id_card", filename="id.png", data=png_bytes(),
                              owner_ref=f"application:{app.number}")
    certificate = uow.session.scalar(select(ScrapCertificate)
                                     .where(ScrapCertificate.number == world.certificate_number))
    assert certificate is not None
    site = uow.session.scalar(select(Site.id).where(Site.organisation_id == world.dismantler_org))
    content = f"site_code,source,category,units,weight_kg,occurred_on\nYARD-1,resident,appliance.television,1,20," \
              f"{business_date() - dt.timedelta(days=1)}\n".encode()
    report = imports.import_intake_file(uow, actor="t", organisation_id=world.dismantler_org, filename="tv.csv",
                                        content=content, mode="valid_only")
    uow.commit()
    return {"person": world.person_id, "application": app.id, "batch": batch.id, "document": document.id,
            "check": uow.session.scalar(select(ApplicationCheck.id).where(ApplicationCheck.application_id == app.id)),
            "car_sale": world.sale.id, "pool": world.pool_id, "vin": world.old_vin, "certificate": certificate.id,
            "site": site, "intake_import": report.import_id, "dismantler": world.dismantler_org,
            "intake": uow.session.scalar(select(Intake.id).where(Intake.certificate_id == certificate.id))}


def _reverse_invoice_side(uow: UnitOfWork, dismantler: int) -> W:
    qualify(uow, dismantler)
    seller_id = seller(uow, 7, dismantler)
    invoice = issue(uow, dismantler, seller_id, "1000.00")
    filing_id = filing.prepare_filing(uow, recycler_id=dismantler, month=DAY.replace(day=1), actor="t")
    purchase_id = purchase(uow, dismantler, seller_id, "500.00")
    uow.commit()
    return {"seller": seller_id, "invoice": invoice.invoice_id, "filing": filing_id, "purchase": purchase_id,
            "consent_version": sellers.consent_text()[0]}


def _appliance_side(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> W:
    world = appliance_world(uow, demo)
    till = bearer(client, "dealer.appliance")
    status, sold = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 71), AC, "3999.00",
                                                "2025-05-10"))
    assert status == 200, sold
    statement = client.post("/api/v1/appliance-settlements", headers=till, json={
        "dealer_org_id": world.dealer_org, "programme": "appliance", "period_start": "2025-05-01",
        "period_end": "2025-05-31"})
    assert statement.status_code == 201, statement.get_json()
    row = (f"商品条码,序列号/IMEI,成交价,发票号码,销售日期,购买人姓名,购买人身份证号,购买人手机号\n"
           f"{TABLET},TB00000071,2699.00,25140000000000000071,2025-03-01,买家,{resident_id('14110219900101072')},"
           f"13900000072\n").encode()
    bulk = client.post("/api/v1/appliance-sales/bulk", headers=till, content_type="multipart/form-data",
                       data={"store_id": str(world.store_id), "file": (io.BytesIO(row), "day.csv")})
    assert bulk.status_code == 200, bulk.get_json()
    register_hand_in_obligation(uow, trade_in_ref="SCOPE-HAND-1", kind="appliance", dealer_org_id=world.dealer_org,
                                county_code="141102", category="appliance.refrigerator",
                                occurred_on=business_date() - dt.timedelta(days=2))
    uow.commit()
    return {"store": world.store_id, "appliance_sale": sold["sale_id"], "bulk": bulk.get_json()["upload_id"],
            "statement": statement.get_json()["application_id"], "dealer_appliance": world.dealer_org}


@pytest.fixture
def world(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> W:
    """One object of every kind in 离石区, and outsiders of 孝义市 in every staff role."""
    _outsider_accounts(uow, demo)
    built = _car_side(uow, demo)
    built |= _reverse_invoice_side(uow, built["dismantler"])
    built |= _appliance_side(client, uow, demo)
    admin = _principal(uow, demo, "admin")
    built["job"] = request_report(uow, requested_by=admin.actor, period_code="2025-01", replace=False)
    dealer = _principal(uow, demo, "dealer.car")
    built["token"] = issue_api_token(uow, principal=dealer, account_id=dealer.account_id, name="pos").id
    built["dealer_car"] = demo["org:dealer:car"]
    built["account_lishi"] = demo["auditor.lishi"]
    built["proposal"] = budget_proposals.propose(uow, principal=admin, pool_id=built["pool"], kind="top_up",
                                                 amount=Decimal("1.00"), source="city", reason="范围测试").id
    built["participation"] = uow.session.scalar(select(Participation.id).where(
        Participation.dealer_org_id == built["dealer_appliance"]).limit(1))
    senior = _principal(uow, demo, "senior.city")
    built["spot_plan"] = spot_services.create_plan(uow, principal=senior, programme="appliance",
                                                   period_start=dt.date(2025, 5, 1), period_end=dt.date(2025, 5, 31),
                                                   rate_percent="100")
    spot_services.draw_plan(uow, principal=senior, plan_id=built["spot_plan"], seed="scope")
    built["spot_item"] = uow.session.scalar(select(SpotItem.id).where(SpotItem.plan_id == built["spot_plan"]))
    assert built["spot_item"] is not None
    built["case"] = complaint_services.file_by_phone(
        uow, principal=_principal(uow, demo, "auditor.lishi"), category="other", text="范围测试",
        application_number=None, county_code="141102",
        terms=complaint_services.Terms(15, WorkingCalendar(), 60)).case_id
    uow.commit()
    return built


def _send(client: FlaskClient, method: str, probe: Probe, w: W, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if probe.files:
        kwargs |= {"content_type": "multipart/form-data",
                   "data": {"file": (io.BytesIO(BANK_RESULT.encode()), "result.csv")}}
    elif probe.form:
        kwargs["data"] = probe.form
    elif probe.json is not None or method in ("POST", "PUT"):
        kwargs["json"] = probe.json(w) if probe.json else {}
    return client.open(probe.path(w), method=method, **kwargs)


def test_insiders_open_every_probed_object(client: FlaskClient, world: W) -> None:
    tokens: dict[str, dict[str, str]] = {}
    refused = []
    for (method, rule), probe in PROBES.items():
        if method != "GET" or probe.insider is None:
            continue
        headers = tokens.setdefault(probe.insider, bearer(client, probe.insider))
        response = _send(client, method, probe, world, headers)
        if response.status_code != 200:
            refused.append((rule, probe.insider, response.status_code))
    assert refused == []


def test_staff_of_another_county_or_organisation_get_403_or_404_on_every_id_route(
        client: FlaskClient, world: W) -> None:
    tokens = {user: bearer(client, user) for user in OTHER_COUNTY + OTHER_ORGS}
    leaked = []
    for (method, rule), probe in PROBES.items():
        for user in OTHER_COUNTY + OTHER_ORGS:
            if user in probe.owners:
                continue
            response = _send(client, method, probe, world, tokens[user])
            if response.status_code not in (403, 404):
                leaked.append((method, rule, user, response.status_code))
    assert leaked == []


def test_a_county_admin_creates_accounts_tokens_and_pools_only_within_their_county(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    _outsider_accounts(uow, demo)
    uow.commit()
    admin = bearer(client, "admin.xiaoyi")
    account = {"username": "scope.new", "display_name": "新账号", "password": DEMO_PASSWORD, "roles": ["admin"]}
    for org_key, extra in (("org:city_bureau", {}), ("org:bureau:141102", {}), ("org:bureau:141181",
                                                                               {"all_counties": True}),
                           ("org:bureau:141181", {"counties": ["141181", "141102"]})):
        wider = client.post("/api/v1/accounts", headers=admin,
                            json={**account, "organisation_id": demo[org_key], **extra})
        assert wider.status_code == 404, (org_key, extra, wider.get_json())
    own = client.post("/api/v1/accounts", headers=admin, json={**account, "organisation_id": demo["org:bureau:141181"]})
    assert own.status_code == 201, own.get_json()
    assert client.post("/api/v1/tokens", headers=admin, json={"name": "x", "account_id": demo["admin"]}
                       ).status_code == 403
    assert client.post("/api/v1/tokens", headers=admin, json={"name": "x", "account_id": demo["auditor.xiaoyi"]}
                       ).status_code == 201
    pool = {"programme": "car_scrap", "name": "越权"}
    assert client.post("/api/v1/budget-pools", headers=admin, json={**pool, "county_code": "141102"}).status_code == 404
    assert client.post("/api/v1/budget-pools", headers=admin, json={**pool, "county_code": "141181"}).status_code == 201


def test_registering_a_known_person_shows_another_countys_auditor_only_the_masked_record(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    car_world(uow, demo)  # the applicant bought and scrapped in 离石区 (141102)
    body = {"name": APPLICANT_NAME, "id_number": APPLICANT_ID, "phone": APPLICANT_PHONE}
    other = client.post("/api/v1/persons", headers=bearer(client, "auditor.xiaoyi"), json=body)
    assert other.status_code == 201 and other.get_json()["revealed"] is False
    assert APPLICANT_PHONE not in other.get_data(as_text=True)
    own = client.post("/api/v1/persons", headers=bearer(client, "auditor.lishi"), json=body).get_json()
    assert own["revealed"] is True and own["phone"] == APPLICANT_PHONE


LISTS = {  # list route -> (the world object it would show, a user who sees it there, users entitled to see it)
    "/api/v1/applications": ("application", "auditor.lishi", _own("dealer.car")),
    "/api/v1/recycling/certificates": ("certificate", "auditor.lishi", _own()),
    "/api/v1/recycling/intakes": ("intake", "auditor.lishi", _own()),
    "/api/v1/recycling/sites": ("site", "auditor.lishi", _own()),
    "/api/v1/reverse-invoice/invoices": ("invoice", "auditor.lishi", _own()),
    "/api/v1/reverse-invoice/filings": ("filing", "auditor.lishi", _own()),
    "/api/v1/organisations": ("dealer_car", "auditor.lishi", _own("dealer.car")),
    "/api/v1/budget-pools": ("pool", "auditor.lishi", _own()),
    "/api/v1/appliance-stores": ("store", "auditor.lishi", _own("dealer.appliance")),
}


def _listed_ids(response: Any) -> set[int]:
    return {item["id"] for item in response.get_json()} if response.status_code == 200 else set()


def test_lists_show_the_same_objects_as_the_items(client: FlaskClient, uow: UnitOfWork, world: W) -> None:
    tokens = {user: bearer(client, user) for user in {*OTHER_COUNTY, *OTHER_ORGS, "auditor.lishi", "finance.city"}}
    wrong = []
    for url, (key, insider, owners) in LISTS.items():
        if world[key] not in _listed_ids(client.get(url, headers=tokens[insider])):
            wrong.append((url, insider, "missing"))
        for user in (*OTHER_COUNTY, *OTHER_ORGS):
            if user not in owners and world[key] in _listed_ids(client.get(url, headers=tokens[user])):
                wrong.append((url, user, "listed"))
    assert wrong == []
    number = uow.session.get(PaymentBatch, world["batch"]).number
    assert number in client.get("/finance/batches", headers=tokens["finance.city"]).get_data(as_text=True)
    assert number not in client.get("/finance/batches", headers=tokens["finance.xiaoyi"]).get_data(as_text=True)
