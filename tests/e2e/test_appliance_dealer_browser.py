"""An appliance store's clerk works a day through the pages only (Debian's Chromium): the buyer confirms on a phone,
the clerk sells at the till, sees the sale, takes a return, uploads a file with a bad row, and settles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from subsidy_app.appliances import bulk
from subsidy_app.core.clock import business_date
from subsidy_app.core.jobs import InProcessDispatcher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import DEMO_PASSWORD
from tests.api.test_appliance_dealer_pages import _bulk_file
from tests.appliance_fixtures import AC, appliance_world
from tests.car_fixtures import resident_id
from tests.e2e.conftest import decode_qr, desk_page, phone_page
from tests.helpers import login

BUYER, BUYER_ID, BUYER_PHONE = "孙八", resident_id("14110219860606001"), "13912345606"


class HeldJobs:
    """A dispatcher that keeps the jobs it is given until the test runs them: the page meanwhile polls."""

    runs_inline = False

    def __init__(self) -> None:
        self.held: list[int] = []

    def dispatch(self, message_ids: list[int]) -> None:
        """Hold the messages."""
        self.held.extend(message_ids)


def _code(committed, cipher, phone: str) -> str:
    from subsidy_app.messaging.services import list_outbox

    with UnitOfWork(committed, None, cipher) as uow:
        found = re.search(r"\d{6}", list_outbox(uow, limit=1, phone=phone)[0].text)
    assert found is not None
    return found.group(0)


def _buyer_confirms_on_the_phone(base: str, poster_url: str, committed, cipher) -> str:
    """The buyer scans the store's poster, proves who they are, and shows the confirmation the till reads."""
    with phone_page() as phone:
        phone.goto(poster_url)
        phone.fill("#name", BUYER)
        phone.fill("#id_number", BUYER_ID)
        phone.fill("#phone", BUYER_PHONE)
        phone.click("#send-code")
        phone.fill("#id_number", BUYER_ID)
        phone.fill("#code", _code(committed, cipher, BUYER_PHONE))
        phone.click("#verify")
        phone.wait_for_selector("#confirmation-qr")
        return str(phone.text_content("#confirmation")).strip()  # inside a closed <details>: read, not seen


def test_a_clerk_sells_returns_uploads_and_settles_through_the_pages(
        live: tuple[str, Flask], committed, cipher, monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidy_app.seed import seed_demo

    base, app = live
    with UnitOfWork(committed, None, cipher) as uow:
        world = appliance_world(uow, seed_demo(uow))
    client = app.test_client()
    login(client, "dealer.appliance")
    poster = client.get(f"/api/v1/appliance-stores/{world.store_id}/poster.png")
    token = _buyer_confirms_on_the_phone(base, decode_qr(poster.data), committed, cipher)

    with desk_page() as page:
        page.goto(f"{base}/login")
        page.fill("#username", "dealer.appliance")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.click("#nav-till")
        page.fill("#gtin", AC)
        page.fill("#price", "3999.00")
        page.fill("#serial_number", "SN-E2E-0001")
        page.fill("#invoice_number", "26140000000000077001")
        page.fill("#buyer_token", token)
        page.screenshot(path="/tmp/dealer-till.png", full_page=True)
        page.click("#sell")
        page.wait_for_selector("#receipt-qr")
        assert page.inner_text("#subsidy") == "599.85"
        number = page.inner_text("#sale-number")
        receipt = page.request.get(base + (page.get_attribute("#receipt-qr", "src") or "")).body()
        assert decode_qr(receipt).startswith(f"{base}/m/appliance/")
        page.screenshot(path="/tmp/dealer-receipt.png", full_page=True)

        page.click("#nav-appliance-sales")
        row = page.locator(f"#sales tr[data-number='{number}']")
        assert "已立减" in row.inner_text()
        page.screenshot(path="/tmp/dealer-sales.png", full_page=True)
        row.locator(".return-link").click()
        page.fill("#reason", "外观划伤,顾客退货")
        page.click("#record-return")
        assert page.inner_text("#sale-state") == "已退货"
        page.click("#nav-appliance-returns")
        assert number in page.inner_text("#sales")

        jobs = HeldJobs()
        runtime = app.extensions["subsidy"]
        monkeypatch.setattr(bulk, "SYNC_ROWS", 1)  # this two-row file runs as the job a large one would
        monkeypatch.setattr(runtime, "dispatcher", jobs)
        day = Path("/tmp/dealer-day.csv")
        day.write_bytes(_bulk_file(700, good=1, bad_price=True))
        page.click("#nav-appliance-uploads")
        page.set_input_files("#file", str(day))
        page.click("#upload")
        page.wait_for_selector("#progress")
        assert page.inner_text("#progress-percent") == "0%" and jobs.held
        page.screenshot(path="/tmp/dealer-upload-running.png", full_page=True)
        InProcessDispatcher(committed, cipher).dispatch(jobs.held)  # the worker takes the job up
        page.wait_for_selector("#rejected", timeout=15000)
        assert page.inner_text("#progress-percent") == "100%"
        assert page.inner_text("#error-count") == "1" and page.inner_text("#accepted-count") == "1"
        assert "成交价" in page.inner_text("#rejected tr[data-line='3']")
        with page.expect_download() as download:
            page.click("#rejected-xlsx")
        assert download.value.suggested_filename.endswith("-rejected.xlsx")
        page.screenshot(path="/tmp/dealer-upload-done.png", full_page=True)

        page.click("#nav-statements")
        today = business_date().isoformat()
        page.fill("#period_start", today)
        page.fill("#period_end", today)
        page.click("#create-statement")
        page.wait_for_selector("#statement-number")
        assert page.inner_text("#statement-state") == "待审核"
        assert page.locator("#lines tr.sale").count() == 1  # the file's accepted row; the returned sale never settled
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path="/tmp/dealer-statement.png", full_page=True)
        page.set_viewport_size({"width": 800, "height": 900})
        page.click("#nav-appliance-sales")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path="/tmp/dealer-sales-800.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})  # a clerk at a small store's counter, on a phone
        page.click("#nav-till")
        page.fill("#gtin", AC)
        page.fill("#price", "3999.00")
        page.fill("#serial_number", "SN-E2E-0002")
        page.fill("#invoice_number", "26140000000000077002")
        page.click("#quote-button")
        assert page.inner_text("#quote-amount") == "599.85"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path="/tmp/dealer-till-phone.png", full_page=True)
