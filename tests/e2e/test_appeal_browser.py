"""A resident appeals a refused appliance claim on a phone and reads the outcome; the bureau decides it at a desk."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from subsidy_app.applications.models import Application
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import DEMO_PASSWORD
from tests.appliance_fixtures import FRIDGE, appliance_world, sale_body, sell
from tests.car_fixtures import resident_id
from tests.e2e.conftest import desk_page, phone_page
from tests.helpers import bearer

NAME, PHONE, CARD = "钱七", "13912349071", "6222020000000000018"
ID_NUMBER = resident_id("14110219850505071")


def _otp(committed, cipher) -> str:
    from subsidy_app.messaging.services import list_outbox

    with UnitOfWork(committed, None, cipher) as uow:
        code = re.search(r"\d{6}", list_outbox(uow, limit=1, phone=PHONE)[0].text)
    assert code is not None
    return code.group(0)


def _fits(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_resident_appeals_on_a_phone_and_the_bureau_decides_it(live: tuple[str, Flask], committed, cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, app = live
    with UnitOfWork(committed, None, cipher) as uow:
        world = appliance_world(uow, seed_demo(uow))
    client = app.test_client()
    status, sale = sell(client, bearer(client, "dealer.appliance"), sale_body(
        world.store_id, None, FRIDGE, "4599.00", "2026-03-01", mode="claim", delivery_address="离石区龙凤路 71 号"))
    assert status == 200, sale
    with phone_page() as page:
        page.set_viewport_size({"width": 375, "height": 812})
        page.goto(sale["receipt_url"])
        page.fill("#name", NAME)
        page.fill("#id_number", ID_NUMBER)
        page.fill("#phone", PHONE)
        page.click("#send-code")
        page.fill("#id_number", ID_NUMBER)
        page.fill("#code", _otp(committed, cipher))
        page.click("#verify")
        page.wait_for_selector("#claim-form")
        page.fill("#bank_card_number", CARD)
        page.fill("#bank_name", "中国农业银行")
        page.check("#consent")
        page.click("#submit")
        page.wait_for_selector("#application-number")
        status_url = page.url.split("?")[0]
        number = page.inner_text("#application-number")
        with UnitOfWork(committed, None, cipher) as uow:
            app_id = uow.session.scalar(select(Application.id).where(Application.number == number))
        refused = client.post(f"/api/v1/applications/{app_id}/review",
                              json={"action": "reject", "reason": "发票抬头与申请人不符"},
                              headers={**bearer(client, "auditor.lishi"), "Idempotency-Key": "e2e-reject"})
        assert refused.status_code == 200, refused.get_json()

        page.goto(status_url)
        assert page.inner_text("#state") == "未通过"
        page.click("#link-complaint")
        page.wait_for_selector("#case-form")
        page.click("#file-case")  # nothing chosen, nothing written: each field named
        page.wait_for_selector("#category-error")
        assert " / " in page.inner_text("#text-error")  # Chinese, then English
        page.check("#kind-appeal")
        page.select_option("#category", "refused_wrongly")
        page.fill("#text", "发票抬头是我本人,附件已补充,请复核。")
        page.check("#contact")
        assert _fits(page)
        page.screenshot(path="/tmp/appeal-form-phone.png", full_page=True)
        page.click("#file-case")
        page.wait_for_selector(".case-number")
        case_number = page.inner_text(".case-number")
        assert case_number.startswith("SS2026") and page.inner_text(".case-state") == "处理中"
        assert page.locator("#kind-appeal").count() == 0  # one open appeal at a time
        page.goto(status_url)
        assert page.inner_text("#state") == "待复核"

        cookies = page.context.cookies()  # the verified resident's session, for her next visit

    with desk_page() as desk:
        desk.goto(f"{base}/login")
        desk.fill("#username", "senior.city")
        desk.fill("#password", DEMO_PASSWORD)
        desk.click("button[type=submit]")
        desk.goto(f"{base}/oversight/cases?kind=appeal")
        assert case_number in desk.inner_text("#cases")
        desk.screenshot(path="/tmp/appeal-cases-desk.png", full_page=True)
        desk.click(f"text={case_number}")
        desk.wait_for_selector("#appeal-under-review")
        assert "发票抬头是我本人" in desk.inner_text("#case-text")
        assert "市商务局复核员" in desk.inner_text("#case-assignee")
        desk.click("#case-application")
        desk.wait_for_selector("#decision-form")
        assert "申诉复审" in desk.inner_text("#history")
        desk.fill("#reason", "核对发票原件,抬头无误")
        desk.click("#action-approve_second")
        desk.wait_for_selector("#state")
        desk.goto(f"{base}/oversight/cases?kind=appeal&state=closed")
        desk.click(f"text={case_number}")
        assert "申诉成立" in desk.inner_text("#case-outcome")
        desk.set_viewport_size({"width": 800, "height": 900})
        assert _fits(desk)
        desk.screenshot(path="/tmp/appeal-case-desk-800.png", full_page=True)

    with phone_page() as page:
        page.set_viewport_size({"width": 375, "height": 812})
        page.context.add_cookies(cookies)
        page.goto(status_url)
        assert "申诉成立" in page.inner_text(f'.status-case[data-number="{case_number}"]')  # on the status page too
        page.click("#link-complaint")
        assert "申诉成立" in page.inner_text(".case-reply") and page.inner_text(".case-state") == "已办结"
        assert _fits(page)
        page.screenshot(path="/tmp/appeal-reply-phone.png", full_page=True)


def test_a_clerk_records_a_phone_complaint_answers_and_closes_it_at_a_desk(live: tuple[str, Flask], committed,
                                                                            cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    with UnitOfWork(committed, None, cipher) as uow:
        seed_demo(uow)
    with desk_page() as desk:
        desk.goto(f"{base}/login")
        desk.fill("#username", "auditor.lishi")
        desk.fill("#password", DEMO_PASSWORD)
        desk.click("button[type=submit]")
        desk.click("#link-phone-complaint")
        desk.click("#file-phone")  # nothing filled in: every field named beside it
        desk.wait_for_selector("#category-error")
        assert "区县" in desk.inner_text("#county-error") and "内容" in desk.inner_text("#text-error")
        desk.select_option("#category", "dealer_misconduct")
        desk.select_option("#county", "141102")
        desk.fill("#text", "居民来电:门店送新时拒绝收走旧冰箱。")
        desk.click("#file-phone")
        desk.wait_for_selector("#case-number")
        number = desk.inner_text("#case-number")
        assert number.startswith("TS2026") and desk.inner_text("#case-state") == "已受理"
        desk.click("#assign")
        desk.wait_for_selector("#case-state")
        assert desk.inner_text("#case-state") == "处理中" and desk.inner_text("#case-assignee") == "离石区审核员"
        desk.fill("#reply", "已约谈门店,三日内上门回收旧冰箱。")
        desk.click("#answer")
        desk.wait_for_selector("#close")
        desk.click("#close")
        desk.wait_for_selector("#case-state")
        assert desk.inner_text("#case-state") == "已办结"
        desk.set_viewport_size({"width": 800, "height": 900})
        assert _fits(desk)
        desk.screenshot(path="/tmp/complaint-case-desk-800.png", full_page=True)
        desk.goto(f"{base}/oversight/cases?state=closed")
        assert number in desk.inner_text("#cases") and _fits(desk)
        desk.screenshot(path="/tmp/complaint-list-desk-800.png", full_page=True)
