"""A buyer scans an appliance receipt's QR code and claims the subsidy on a phone-sized Chromium (Debian's)."""

from __future__ import annotations

import re

from flask import Flask

from subsidy_app.core.uow import UnitOfWork
from tests.appliance_fixtures import FRIDGE, appliance_world, sale_body, sell
from tests.car_fixtures import resident_id
from tests.e2e.conftest import decode_qr, phone_page
from tests.helpers import bearer

NAME, PHONE, CARD = "赵六", "13912349001", "6222020000000000018"


def test_buyer_scans_the_receipt_and_claims_on_a_phone(live: tuple[str, Flask], committed, cipher) -> None:
    from subsidy_app.messaging.services import list_outbox
    from subsidy_app.seed import seed_demo

    base, app = live
    with UnitOfWork(committed, None, cipher) as uow:
        world = appliance_world(uow, seed_demo(uow))
    client = app.test_client()
    status, sale = sell(client, bearer(client, "dealer.appliance"), sale_body(
        world.store_id, None, FRIDGE, "4599.00", "2026-03-01", mode="claim", delivery_address="离石区龙凤路 9 号"))
    assert status == 200 and sale["eligible"], sale
    receipt_png = client.get(sale["receipt_url"].replace(base, "") + "/qr.png")
    assert receipt_png.status_code == 200
    claim_url = decode_qr(receipt_png.data)  # what the buyer's phone reads off the printed receipt
    token = claim_url.rsplit("/", 1)[1]
    assert claim_url.startswith(f"{base}/m/appliance/") and token.count(".") == 2 and sale["number"] not in token

    with phone_page() as page:
        page.goto(claim_url)
        assert "购买后申请补贴" in page.content() and page.inner_text("#subsidy") == "689.85"
        page.fill("#name", NAME)
        page.fill("#id_number", resident_id("14110219850505001"))
        page.fill("#phone", PHONE)
        page.click("#send-code")
        assert "验证码已发送" in page.content()
        with UnitOfWork(committed, None, cipher) as uow:
            code = re.search(r"\d{6}", list_outbox(uow, limit=1, phone=PHONE)[0].text)
        assert code is not None
        page.fill("#id_number", resident_id("14110219850505001"))
        page.fill("#code", code.group(0))
        page.click("#verify")
        page.wait_for_selector("#claim-form")
        page.fill("#bank_card_number", CARD)
        page.fill("#bank_name", "中国农业银行")
        page.check("#consent")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
        page.click("#submit")
        page.wait_for_selector("#application-number")
        assert page.inner_text("#application-number").startswith("QA")
        assert "申请已提交" in page.inner_text("#receipt")
        status_png = page.request.get(base + (page.get_attribute("#status-qr", "src") or "")).body()
        page.goto(decode_qr(status_png))
        assert page.inner_text("#state") == "待审核"
        page.screenshot(path="/tmp/appliance-claim.png", full_page=True)
        page.goto(claim_url)  # the shop receipt scanned again by the claimant: their claim's progress
        assert page.inner_text("#state") == "待审核"
