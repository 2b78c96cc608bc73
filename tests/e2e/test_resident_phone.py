"""A resident scans the dealer's QR code and applies on a phone-sized headless Chromium (Debian's package)."""

from __future__ import annotations

import io
import re

from flask import Flask
from PIL import Image

from subsidy_app.core.uow import UnitOfWork
from tests.car_fixtures import APPLICANT_ID, APPLICANT_NAME, APPLICANT_PHONE, CARD, car_world
from tests.e2e.conftest import decode_qr, phone_page
from tests.helpers import bearer


def _tiny_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_resident_scans_applies_and_follows_status_on_a_phone(live: tuple[str, Flask], committed, cipher) -> None:
    from subsidy_app.messaging.services import list_outbox
    from subsidy_app.seed import seed_demo

    base, app = live
    with UnitOfWork(committed, None, cipher) as uow:
        demo = seed_demo(uow)
        world = car_world(uow, demo)
    client = app.test_client()
    png = client.get(f"/api/v1/car-sales/{world.sale.id}/qr.png", headers=bearer(client, "dealer.car")).data
    apply_url = decode_qr(png)
    token = apply_url.rsplit("/", 1)[1]
    assert apply_url.startswith(f"{base}/m/car/") and token.count(".") == 2  # a signed token, not a raw id

    with phone_page() as page:
        page.goto(apply_url)
        assert "汽车以旧换新补贴申请" in page.content()
        page.fill("#name", APPLICANT_NAME)
        page.fill("#id_number", APPLICANT_ID)
        page.fill("#phone", APPLICANT_PHONE)
        page.click("#send-code")
        assert "验证码已发送" in page.content()
        with UnitOfWork(committed, None, cipher) as uow:
            sms = list_outbox(uow, limit=1)[0]
        code = re.search(r"\d{6}", sms.text)
        assert code is not None
        page.fill("#name", APPLICANT_NAME)
        page.fill("#id_number", APPLICANT_ID)
        page.fill("#code", code.group(0))
        page.click("#verify")
        page.wait_for_selector("#apply-form")
        page.check("input[value=car_scrap]")
        page.fill("#certificate_number", world.certificate_number)
        for kind in ("id_card", "vehicle_invoice", "registration_certificate", "bank_card", "scrap_certificate"):
            page.set_input_files(f"#doc-{kind}", files=[{"name": f"{kind}.png", "mimeType": "image/png",
                                                           "buffer": _tiny_png()}])
        page.fill("#bank_card_number", CARD)
        page.fill("#bank_name", "中国工商银行")
        page.check("#consent")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
        page.click("#submit")
        page.wait_for_selector("#application-number")
        number = page.inner_text("#application-number")
        assert number.startswith("QC")
        assert "申请已提交" in page.inner_text("#receipt")
        status_png = page.request.get(base + (page.get_attribute("#status-qr", "src") or "")).body()
        status_url = decode_qr(status_png)
        page.goto(status_url)
        assert page.inner_text("#state") == "待审核"
        page.screenshot(path="/tmp/resident-status.png", full_page=True)
