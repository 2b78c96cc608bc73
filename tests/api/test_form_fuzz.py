"""Staff HTML forms never answer 5xx or the API's JSON: a valid submission with one field at a time replaced by
garbage.

One field at a time from a *valid* base, so every later field is reached: a fuzzer starting from an empty form
stops at the first required field (that is how a non-numeric site on the certificate form hid its 500)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from tests.api.test_recycling_api import CERTIFICATE, YESTERDAY
from tests.api.test_staff_pages import SALE_FORM
from tests.appliance_fixtures import appliance_world
from tests.car_fixtures import resident_id, vin
from tests.helpers import bearer, csrf_token, login
from tests.recycling_support import build_network

GARBAGE = ["", " ", "x" * 5000, "y" * 501, "1e400", "-1", "NaN", "0000-01-01", "99999999999999999999999", "\x00",
           "１２３", "<script>alert(1)</script>"]
_serial = itertools.count(1)


def _fuzz(client: FlaskClient, path: str, base: Callable[[], dict[str, Any]], csrf: str) -> list[str]:
    """Post the valid form once per field and garbage value; return what answered 5xx."""
    first = client.post(path, data={**base(), "csrf_token": csrf})
    assert first.status_code == 302, first.get_data(as_text=True)[:500]  # the base really is valid
    failures = []
    for name in base():
        for value in GARBAGE:
            response = client.post(path, data={**base(), name: value, "csrf_token": csrf})
            if response.status_code >= 500 or response.is_json:  # a clerk must get the form back, not JSON
                failures.append(f"{path} {name}={value[:20]!r}: {response.status_code} {response.content_type}")
    return failures


def test_the_dealers_car_sale_form(client: FlaskClient, demo: dict[str, int]) -> None:
    def sale() -> dict[str, Any]:
        n = next(_serial)
        return {**SALE_FORM, "new_vin": vin(7000 + n), "invoice_number": f"2614{n:016d}"}

    csrf = login(client, "dealer.car")
    failures = _fuzz(client, "/dealer/car-sales/new", sale, csrf)
    assert failures == [], "\n".join(failures)
    # The select's options are checked on the server too: a made-up vehicle type used to be stored.
    odd = client.post("/dealer/car-sales/new", data={**sale(), "new_vehicle_type": "NaN", "csrf_token": csrf})
    assert odd.status_code == 422 and "车辆类型" in odd.get_data(as_text=True)


def test_the_recyclers_certificate_and_intake_forms(client: FlaskClient, uow, demo: dict[str, int]) -> None:
    network = build_network(uow, demo)

    def certificate() -> dict[str, Any]:
        n = next(_serial)
        return {**CERTIFICATE, "site_id": str(network.sorting), "number": f"FZ-{n:05d}", "vin": vin(8000 + n)}

    failures = _fuzz(client, "/recycling/certificates/new", certificate, login(client, "recycler.dismantler"))
    assert failures == [], "\n".join(failures)

    def intake() -> dict[str, Any]:
        return {"site_id": str(network.drop_off), "source": "resident", "category": "office.printer", "units": "1",
                "weight_kg": "8.5", "occurred_on": YESTERDAY}

    assert _fuzz(client, "/recycling/intake", intake, login(client, "recycler.dismantler")) == []


def test_the_recycler_portals_forms(client: FlaskClient, uow, demo: dict[str, int]) -> None:
    from decimal import Decimal

    from recycling.intake import record_intake
    from tests.recycling_support import IntakeDraftFactory

    network = build_network(uow, demo)
    held = IntakeDraftFactory(site_id=network.drop_off, units=1000, weight_kg=Decimal("50000"))
    record_intake(uow, actor="t", acting_org_id=network.org_id, draft=held)
    csrf = login(client, "recycler.dismantler")

    def site() -> dict[str, Any]:
        return {"code": f"FZ-S{next(_serial)}", "name": "模糊测试网点", "level": "transfer", "kind": "general",
                "county_code": "141102", "address": "滨河路"}

    def transfer() -> dict[str, Any]:
        return {"from_site_id": str(network.drop_off), "to_site_id": str(network.sorting),
                "category": "appliance.refrigerator", "units": "1", "weight_kg": "50", "occurred_on": YESTERDAY}

    failures = _fuzz(client, "/recycling/sites", site, csrf) + _fuzz(client, "/recycling/transfers", transfer, csrf)
    intake_id = record_intake(uow, actor="t", acting_org_id=network.org_id,
                              draft=IntakeDraftFactory(site_id=network.drop_off))
    for value in GARBAGE:
        response = client.post(f"/recycling/intakes/{intake_id}/reverse", data={"reason": value, "csrf_token": csrf})
        if response.status_code >= 500 or response.is_json:
            failures.append(f"reverse reason={value[:20]!r}: {response.status_code} {response.content_type}")
    row = f"site_code,source,category,units,weight_kg,occurred_on\nT-drop_off,resident,office.printer,1,8,{YESTERDAY}\n"
    for name, value in [*(("mode", v) for v in GARBAGE), *(("file", v) for v in GARBAGE)]:
        content = (value if name == "file" else row + f"# {next(_serial)}\n").encode()
        data = {"mode": value if name == "mode" else "valid_only", "csrf_token": csrf,
                "file": (io.BytesIO(content), "fuzz.csv")}
        response = client.post("/recycling/imports", data=data, content_type="multipart/form-data")
        if response.status_code >= 500 or response.is_json:
            failures.append(f"import {name}={value[:20]!r}: {response.status_code} {response.content_type}")
    assert failures == [], "\n".join(failures)


def test_the_residents_claim_pages(app: Flask, uow, demo: dict[str, int]) -> None:
    from tests.integration.test_appliance_claims import CARD, ID_NUMBER, NAME, PHONE, _claim_sale, _verify

    world = appliance_world(uow, demo)
    till = bearer(app.test_client(), "dealer.appliance")
    failures: list[str] = []

    def check(what: str, response) -> None:
        if response.status_code >= 500 or response.is_json:  # a resident must get the page back, in Chinese
            failures.append(f"{what}: {response.status_code} {response.content_type}")

    page, _sale = _claim_sale(app, till, world)
    client = app.test_client()
    identity = {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE}
    for name in identity:
        for value in GARBAGE:
            form = {**identity, name: value, "csrf_token": csrf_token(client, page)}
            check(f"code {name}={value[:20]!r}", client.post(f"{page}/code", data=form))
            check(f"verify {name}={value[:20]!r}", client.post(f"{page}/verify", data={**form, "code": "123456"}))
    for value in GARBAGE:
        form = {**identity, "code": value, "csrf_token": csrf_token(client, page)}
        check(f"verify code={value[:20]!r}", client.post(f"{page}/verify", data=form))

    claim = {"bank_card_number": CARD, "bank_name": "中国工商银行", "consent": "yes"}
    for name, value in [("consent", "yes"), *((n, v) for n in claim for v in GARBAGE)]:  # the base first
        # A fresh sale and buyer each time: a claimed sale shows its claim, a used quota refuses the claim,
        # and a phone may only ask for so many codes.
        n = next(_serial)
        page, _sale = _claim_sale(app, till, world)
        client = app.test_client()
        _verify(client, uow, page, id_number=resident_id(f"14110219800102{n % 1000:03d}"), phone=f"137{n:08d}")
        data = {**claim, name: value, "csrf_token": csrf_token(client, f"{page}/apply")}
        response = client.post(f"{page}/apply", data=data)
        check(f"apply {name}={value[:20]!r}", response)
        if (name, value) == ("consent", "yes"):
            assert response.status_code == 302  # the base really is valid
    assert failures == [], "\n".join(failures)


def test_the_bureaus_review_and_finance_forms(client: FlaskClient, uow, demo: dict[str, int]) -> None:
    from tests.api.test_staff_pages import _approved, _pending

    failures: list[str] = []

    def check(what: str, response) -> None:
        if response.status_code >= 500 or response.is_json:
            failures.append(f"{what}: {response.status_code} {response.content_type}")

    csrf = login(client, "auditor.lishi")
    for value in GARBAGE:
        n = next(_serial) % 1000  # each application its own old car and owner (one scrap subsidy per person)
        app_id = _pending(uow, demo, serial=100 + n, owner_id=resident_id(f"11010519800101{n:03d}"))
        check(f"decision action={value[:20]!r}", client.post(f"/review/{app_id}/decision", data={
            "csrf_token": csrf, "action": value, "reason": "材料不全"}))
        check(f"decision reason={value[:20]!r}", client.post(f"/review/{app_id}/decision", data={
            "csrf_token": csrf, "action": "return", "reason": value}))
        check(f"batch-approve ids={value[:20]!r}", client.post("/review/batch-approve", data={
            "csrf_token": csrf, "application_ids": [value]}))
        check(f"assign assignee={value[:20]!r}", client.post(f"/review/{app_id}/assign", data={
            "csrf_token": csrf, "assignee": value}))
    for name in ("state", "county", "programme", "category", "dealer_org", "from", "to", "failed_check", "fraud",
                 "assigned", "overdue", "q", "sort", "page"):
        for value in GARBAGE:
            check(f"queue {name}={value[:20]!r}", client.get("/review", query_string={name: value}))
    app_id = _approved(uow, demo, client)
    csrf = login(client, "finance.city")
    base = {"csrf_token": csrf, "application_ids": [str(app_id)], "declared_count": "1", "declared_total": "17000.00"}
    for name in ("application_ids", "declared_count", "declared_total"):
        for value in GARBAGE:
            check(f"batch {name}={value[:20]!r}", client.post("/finance/batches", data={**base, name: value}))
    assert failures == [], "\n".join(failures)


def test_the_residents_car_application_page(app: Flask, uow, demo: dict[str, int]) -> None:
    from subsidy_app.applications import sales
    from tests.car_fixtures import APPLICANT_NAME, CARD, car_world
    from tests.conftest import TEST_SECRET_KEY
    from tests.integration.test_appliance_claims import _verify

    documents = ("id_card", "vehicle_invoice", "registration_certificate", "bank_card", "scrap_certificate")
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(image, format="PNG")
    png = image.getvalue()

    def apply(**changed: str):
        # Each submission its own old car, sale and buyer: an application uses them up.
        n = next(_serial) % 1000
        owner = resident_id(f"11010519700101{n:03d}")
        world = car_world(uow, demo, serial=300 + n, owner_id=owner)
        page = f"/m/car/{sales.apply_token(TEST_SECRET_KEY, world.sale, days=30)}"
        client = app.test_client()
        _verify(client, uow, page, name=APPLICANT_NAME, id_number=owner, phone=f"136{n:08d}")
        form = {"programme": "car_scrap", "county_code": "141102", "certificate_number": world.certificate_number,
                "old_vin": "", "bank_card_number": CARD, "bank_name": "中国工商银行", "consent": "yes", **changed,
                "csrf_token": csrf_token(client, f"{page}/apply")}
        files = {kind: (io.BytesIO(png), f"{kind}.png") for kind in documents}
        return client.post(f"{page}/apply", data={**form, **files}, content_type="multipart/form-data")

    valid = apply()
    assert valid.status_code == 302, valid.get_data(as_text=True)[:3000]  # the base really is valid
    failures: list[str] = []
    for name in ("programme", "county_code", "certificate_number", "old_vin", "bank_card_number", "bank_name",
                 "consent"):
        for value in GARBAGE:
            response = apply(**{name: value})
            if response.status_code >= 500 or response.is_json:
                failures.append(f"apply {name}={value[:20]!r}: {response.status_code} {response.content_type}")
    assert failures == [], "\n".join(failures)


def test_the_admins_account_and_report_forms(client: FlaskClient, demo: dict[str, int]) -> None:
    def account() -> dict[str, Any]:
        return {"organisation_id": str(demo["org:bureau:141102"]), "username": f"fuzz.{next(_serial)}",
                "display_name": "模糊测试", "password": "Long-enough-2026", "roles": "auditor",
                "counties": "141102"}

    csrf = login(client, "admin")
    target = demo["auditor.lishi"]
    failures = _fuzz(client, "/admin/accounts/new", account, csrf)
    failures += _fuzz(client, f"/admin/accounts/{target}/active", lambda: {"active": "1"}, csrf)
    failures += _fuzz(client, f"/admin/accounts/{target}/counties", lambda: {"counties": "141102"}, csrf)
    failures += _fuzz(client, "/recovery/reports", lambda: {"period": "2025-01-1", "replace": "1"}, csrf)
    assert failures == [], "\n".join(failures)


def test_the_bureaus_participation_catalogue_and_budget_forms(client: FlaskClient, uow, demo: dict[str, int]) -> None:
    from subsidy_app.rules import budget

    world = appliance_world(uow, demo)
    spare = budget.create_pool(uow, actor="t", programme="digital", county_code="141102", name="fuzz")
    uow.commit()
    csrf = login(client, "admin")
    decision = {"scope": f"store:{world.store_id}", "category": "television", "status": "approved", "reason": ""}
    failures = _fuzz(client, "/bureau/participations", lambda: dict(decision), csrf)
    pool = world.pools["appliance"]
    for kind, extra in (("top_up", {"source": "city"}), ("reallocate", {"from_pool_id": str(spare)})):
        proposal = {"kind": kind, "amount": "1.00", "reason": "fuzz", **extra}
        failures += _fuzz(client, f"/budget/pools/{pool}/proposals", lambda p=proposal: dict(p), csrf)
    for value in GARBAGE:
        response = client.post(f"/budget/pools/{pool}/proposals/1/reject", data={"csrf_token": csrf, "note": value})
        if response.status_code >= 500 or response.is_json:
            failures.append(f"reject note={value[:20]!r}: {response.status_code}")
        upload = client.post("/bureau/catalogue", content_type="multipart/form-data", data={
            "csrf_token": csrf, "file": (io.BytesIO(value.encode()), "c.csv")})
        if upload.status_code >= 500 or upload.is_json:
            failures.append(f"catalogue file={value[:20]!r}: {upload.status_code}")
    assert failures == [], "\n".join(failures)


def test_the_reverse_invoicing_forms(client: FlaskClient, uow, demo: dict[str, int]) -> None:
    from reverse_invoice.sellers import consent_text
    from tests.api.test_reverse_invoice_pages import purchase_form, seller_form
    from tests.integration.ri_support import qualify

    qualify(uow, demo["org:recycler:dismantler"])
    uow.commit()
    csrf = login(client, "recycler.dismantler")
    version, _text = consent_text()
    failures = _fuzz(client, "/reverse-invoice/sellers/new", lambda: {**seller_form(41), "text_version": version},
                     csrf)
    seller_path = client.post("/reverse-invoice/sellers/new", data={**seller_form(41), "text_version": version,
                                                                     "csrf_token": csrf}).headers["Location"]
    failures += _fuzz(client, f"{seller_path}/purchases/new", purchase_form, csrf)
    failures += _fuzz(client, "/reverse-invoice/filings", lambda: {"month": "2026-01"}, csrf)
    purchase_path = client.post(f"{seller_path}/purchases/new", data={**purchase_form(), "csrf_token": csrf}
                                ).headers["Location"]
    failures += _fuzz(client, f"{purchase_path}/invoice", lambda: {"invoice_type": "ordinary"}, csrf)
    invoice_path = _last_invoice(client)
    failures += _fuzz(client, f"{invoice_path}/reversal", lambda: {"reason": "01"}, csrf)
    filing_path = client.post("/reverse-invoice/filings", data={"month": "2026-02", "csrf_token": csrf}
                              ).headers["Location"]
    failures += _fuzz(client, f"{filing_path}/payment", lambda: {"payment_reference": "JK-0001"}, csrf)
    failures += _fuzz(client, "/reverse-invoice/filings/prepare-all", lambda: {"month": "2026-01"},
                      login(client, "admin"))
    assert failures == [], "\n".join(failures)


def _last_invoice(client: FlaskClient) -> str:
    """The path of the newest invoice on the clerk's list."""
    import re

    found = re.search(r'href="(/reverse-invoice/invoices/\d+)"', client.get("/reverse-invoice/invoices").get_data(
        as_text=True))
    assert found
    return found.group(1)


def test_the_appliance_dealers_till_return_pickup_upload_and_statement_forms(client: FlaskClient, uow,
                                                                            demo: dict[str, int]) -> None:
    from subsidy_app.core.clock import business_date
    from tests.api.test_appliance_dealer_pages import _bulk_file, till_form
    from tests.appliance_fixtures import buyer_token

    world = appliance_world(uow, demo)
    csrf = login(client, "dealer.appliance")
    buyers = itertools.count(600)  # each sale its own buyer; the fixture's ID numbers end in three digits

    def sale() -> dict[str, Any]:
        n = next(buyers)
        return till_form(world.store_id, buyer_token(uow, world.store_id, n), n=n)

    failures = _fuzz(client, "/dealer/appliances/till", sale, csrf)
    for name in sale():  # a quote, too, shows the till again rather than redirecting
        for value in GARBAGE:
            response = client.post("/dealer/appliances/till/quote", data={**sale(), name: value, "csrf_token": csrf})
            if response.status_code >= 500 or response.is_json:
                failures.append(f"till/quote {name}={value[:20]!r}: {response.status_code}")
    for value in GARBAGE:  # sending a code shows the till again (200) rather than redirecting: no _fuzz base
        response = client.post("/dealer/appliances/till/code",
                               data={**sale(), "buyer_phone": value, "csrf_token": csrf})
        if response.status_code >= 500 or response.is_json:
            failures.append(f"till/code buyer_phone={value[:20]!r}: {response.status_code}")
    sold = client.post("/dealer/appliances/till", data={**sale(), "csrf_token": csrf})
    sale_path = sold.headers["Location"]
    failures += _fuzz(client, f"{sale_path}/pickup", lambda: {"picked_up_on": business_date().isoformat()}, csrf)
    failures += _fuzz(client, f"{sale_path}/return", lambda: {"reason": "质量问题"}, csrf)
    client.post("/dealer/appliances/till", data={**sale(), "csrf_token": csrf})  # a sale for the statement
    today = business_date().isoformat()
    failures += _fuzz(client, "/dealer/appliances/settlements",
                      lambda: {"programme": "appliance", "period_start": today, "period_end": today}, csrf)
    failures += _fuzz(client, "/dealer/appliances/stores", lambda: {
        "name": f"分店{next(_serial)}", "address": "离石区永宁路 2 号", "opens_at": "09:00",
        "closes_at": "21:00"}, csrf)
    failures += _fuzz(client, "/dealer/appliances/settlements/account", lambda: {
        "account_name": "", "bank_name": "中国银行", "account_number": "6222000011112222"}, csrf)
    for value in GARBAGE:
        response = client.post("/dealer/appliances/uploads", content_type="multipart/form-data", data={
            "store_id": value, "file": (io.BytesIO(_bulk_file(900, good=1)), "day.csv"), "csrf_token": csrf})
        if response.status_code >= 500 or response.is_json:
            failures.append(f"uploads store_id={value[:20]!r}: {response.status_code}")
    assert failures == [], "\n".join(failures)
