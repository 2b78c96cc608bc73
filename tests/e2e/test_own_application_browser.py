"""On a phone: the certificate tried again names the resident's own application and links to it; a paid sale's QR
opens her application's status."""

from __future__ import annotations

import io
import re

from flask import Flask
from PIL import Image

from subsidy_app.core.jobs import InProcessDispatcher
from subsidy_app.core.uow import UnitOfWork
from tests.car_fixtures import (
    APPLICANT_ID,
    APPLICANT_NAME,
    APPLICANT_PHONE,
    CARD,
    another_sale,
    car_world,
    pay_over_http,
    submit,
)
from tests.e2e.conftest import decode_qr, phone_page
from tests.helpers import bearer


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _sale_qr(app: Flask, sale_id: int) -> str:
    client = app.test_client()
    return decode_qr(client.get(f"/api/v1/car-sales/{sale_id}/qr.png", headers=bearer(client, "dealer.car")).data)


def test_her_certificate_again_links_to_her_own_application_and_the_paid_sales_qr_opens_it(
        live: tuple[str, Flask], committed, cipher) -> None:
    from subsidy_app.messaging.services import list_outbox
    from subsidy_app.seed import seed_demo

    base, app = live
    with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as uow:
        demo = seed_demo(uow)
        world = car_world(uow, demo)
        first = submit(uow, world)  # her first car, on her scrap certificate
        second = another_sale(uow, demo)  # a second car bought later
    with phone_page() as page:
        page.goto(_sale_qr(app, second.id))
        page.fill("#name", APPLICANT_NAME)
        page.fill("#id_number", APPLICANT_ID)
        page.fill("#phone", APPLICANT_PHONE)
        page.click("#send-code")
        with UnitOfWork(committed, None, cipher) as uow:
            code = re.search(r"\d{6}", list_outbox(uow, limit=1, phone=APPLICANT_PHONE)[0].text)
        assert code is not None
        page.fill("#id_number", APPLICANT_ID)
        page.fill("#code", code.group(0))
        page.click("#verify")
        page.wait_for_selector("#apply-form")
        page.check("input[value=car_scrap]")
        page.fill("#certificate_number", world.certificate_number)  # the certificate her first car already used
        page.set_input_files("#doc-id_card", files=[{"name": "id.png", "mimeType": "image/png", "buffer": _png()}])
        page.fill("#bank_card_number", CARD)
        page.fill("#bank_name", "中国工商银行")
        page.check("#consent")
        page.click("#submit")
        page.wait_for_selector("#own-application")
        told = page.inner_text("#own-application")
        assert "该报废机动车回收证明已用于您本人的申请" in told and first.number in told
        assert "其他申请" not in page.content()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
        page.screenshot(path="/tmp/resident-own-application.png", full_page=True)
        page.click("#own-application-link")
        page.wait_for_selector("#application-number")
        assert page.inner_text("#application-number") == first.number and page.inner_text("#state") == "待审核"

        pay_over_http(app.test_client(), first.application_id, first.number)
        page.goto(_sale_qr(app, world.sale.id))  # the first car's QR, scanned again after payment
        page.wait_for_selector("#application-number")
        assert page.url.startswith(f"{base}/m/s/") and page.inner_text("#application-number") == first.number
        assert page.inner_text("#state") == "已发放"
        page.screenshot(path="/tmp/resident-paid-sale-qr.png", full_page=True)
