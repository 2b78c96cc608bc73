"""The bureau's day through the pages in Chromium: the auditor approves, finance pays a batch and imports the bank's
result, and the leader's dashboard shows the amount paid."""

from __future__ import annotations

import os

from flask import Flask

from subsidy_app.core.jobs import InProcessDispatcher
from subsidy_app.core.uow import UnitOfWork
from tests.car_fixtures import bank_card, car_world, submit
from tests.e2e.conftest import desk_page
from tests.helpers import DEMO_PASSWORD

SHOTS = os.environ.get("SCREENSHOT_DIR", "/tmp")


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#nav-home")


def _logout(page) -> None:  # type: ignore[no-untyped-def]
    page.click("header button.link")
    page.wait_for_selector("#username, h1")


def test_approve_pay_reconcile_and_see_it_on_the_dashboard(live: tuple[str, Flask], committed, cipher,
                                                           tmp_path) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as uow:
        demo = seed_demo(uow)
        done = submit(uow, car_world(uow, demo, serial=71), card=bank_card(971))  # checks run after this commit

    with desk_page() as page:
        _login(page, base, "auditor.lishi")
        page.click("#nav-review")
        page.click(f"text={done.number}")
        page.click("#action-approve")
        page.wait_for_selector(".flash.ok")
        assert "审核通过" in page.inner_text(".flash.ok")
        page.screenshot(path=f"{SHOTS}/walk-1-approved.png", full_page=True)
        _logout(page)

        _login(page, base, "finance.city")
        page.click("#nav-batches")
        page.check(f"#payable input[aria-label='选择 {done.number}']")
        total = page.inner_text("#selected-total")
        page.fill("#declared_count", page.inner_text("#selected-count"))
        page.fill("#declared_total", total)
        page.click("#create-batch")
        page.wait_for_selector("#batch-number")
        with page.expect_download() as downloaded:
            page.click("#download-csv")
        bank_file = downloaded.value.path().read_text(encoding="utf-8-sig")
        assert done.number in bank_file
        result = tmp_path / "bank-result.csv"  # what the bank sends back: every line paid
        result.write_text(f"序号,申请编号,金额,结果,银行流水号,说明\n1,{done.number},{total},成功,B0001,\n",
                          encoding="utf-8")
        page.set_input_files("#file", str(result))
        page.click("#upload-results")
        page.wait_for_selector("#report-paid")
        assert f"合计 {total} 元" in page.inner_text("#report-paid")
        page.screenshot(path=f"{SHOTS}/walk-2-reconciled.png", full_page=True)
        _logout(page)

        _login(page, base, "leader.city")
        page.click("#nav-dashboard")
        page.wait_for_selector("#chart-counties[data-drawn] svg")
        first_county = page.locator("#table-counties tbody tr").first.inner_text().split("\t")
        assert first_county[0] == "离石区" and first_county[-1] == total  # the paid amount, as the chart draws it
        page.screenshot(path=f"{SHOTS}/walk-3-dashboard.png", full_page=True)
