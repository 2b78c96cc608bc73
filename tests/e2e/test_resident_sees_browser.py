"""What is for staff stays off the resident's phone: an approving note, a store's fraud signal (browser, both sides)."""

from __future__ import annotations

import re

from flask import Flask

from subsidy_app.core.jobs import InProcessDispatcher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import DEMO_PASSWORD
from tests.appliance_fixtures import FRIDGE, appliance_world, sale_body, sell
from tests.car_fixtures import car_world, resident_id, submit
from tests.e2e.conftest import decode_qr, desk_page, phone_page
from tests.helpers import bearer

NOTE = "已核对纸质注销证明"


def _log_in(page, base: str, username: str, then: str) -> None:
    page.goto(f"{base}{then}")  # logged out: the login page, and back to `then` after it
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}{then}")


def _status_path(app: Flask, status_code: str) -> str:
    from subsidy_app.applications.views import status_url

    with app.app_context():
        return "/" + status_url(status_code).split("://", 1)[1].split("/", 1)[1]


def test_the_reviewers_approving_note_is_not_on_the_residents_status_page(live: tuple[str, Flask], committed,
                                                                          cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, app = live
    with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as uow:
        world = car_world(uow, seed_demo(uow))
        done = submit(uow, world)  # the automatic checks run after this commit
    with desk_page() as desk:
        _log_in(desk, base, "auditor.lishi", f"/review/{done.application_id}")
        desk.fill("#reason", NOTE)
        desk.click("#action-approve")
        desk.wait_for_selector("#history")
        assert NOTE in desk.inner_text("#history")  # the note is recorded, for staff
        desk.screenshot(path="/tmp/resident-review-note.png", full_page=True)
    with phone_page() as phone:
        phone.goto(base + _status_path(app, done.status_code))
        assert phone.inner_text("#state") == "审核通过,待发放"
        assert NOTE not in phone.content()
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        phone.screenshot(path="/tmp/resident-approved-status.png", full_page=True)


def test_an_appliance_claimant_does_not_see_the_stores_fraud_signal(live: tuple[str, Flask], committed,
                                                                    cipher) -> None:
    from subsidy_app.messaging.services import list_outbox
    from subsidy_app.seed import seed_demo

    base, app = live
    with UnitOfWork(committed, None, cipher) as uow:
        world = appliance_world(uow, seed_demo(uow))
    client = app.test_client()
    # 5,999.00 for a fridge whose catalogue reference is 4,599.00: more than 20 % above it, a fraud signal.
    status, sale = sell(client, bearer(client, "dealer.appliance"), sale_body(
        world.store_id, None, FRIDGE, "5999.00", "2026-03-01", mode="claim", delivery_address="离石区龙凤路 9 号"))
    assert status == 200 and sale["eligible"], sale
    claim_url = decode_qr(client.get(sale["receipt_url"].replace(base, "") + "/qr.png").data)
    name, phone_number, id_number = "赵六", "13912349002", resident_id("14110219850505002")
    with phone_page() as phone:
        phone.goto(claim_url)
        phone.fill("#name", name)
        phone.fill("#id_number", id_number)
        phone.fill("#phone", phone_number)
        phone.click("#send-code")
        with UnitOfWork(committed, None, cipher) as uow:
            code = re.search(r"\d{6}", list_outbox(uow, limit=1, phone=phone_number)[0].text)
        assert code is not None
        phone.fill("#id_number", id_number)
        phone.fill("#code", code.group(0))
        phone.click("#verify")
        phone.wait_for_selector("#claim-form")
        phone.fill("#bank_card_number", "6222020000000000018")
        phone.fill("#bank_name", "中国农业银行")
        phone.check("#consent")
        phone.click("#submit")
        phone.wait_for_selector("#application-number")
        number = phone.inner_text("#application-number")
        claimant_sees = phone.content()
        phone.screenshot(path="/tmp/resident-claim-status.png", full_page=True)
    with desk_page() as desk:
        _log_in(desk, base, "auditor.lishi", "/review?state=pending_review")
        desk.click(f"text={number}")
        desk.wait_for_selector("#checks")
        signals = desk.locator("#checks tr[data-check^='fraud.'] td:nth-child(2)").all_inner_texts()
        desk.screenshot(path="/tmp/resident-claim-review.png", full_page=True)
    assert signals, "the sale should carry a fraud signal for the reviewer"
    for signal in signals:
        detail = signal.split("\n", 1)[0].strip()
        assert detail and detail not in claimant_sees
