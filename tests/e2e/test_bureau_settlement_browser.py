"""The bureau's appliance work in Chromium: approve a store, review its dealer's statement with two reviewers,
pay it in a finance batch, and top up a budget pool with one officer proposing and another approving."""

from __future__ import annotations

import os
from decimal import Decimal

from flask import Flask

from subsidy_app.core.clock import business_date
from subsidy_app.core.uow import UnitOfWork
from tests.appliance_fixtures import AC, appliance_world, buyer_token, sale_body, sell
from tests.e2e.conftest import desk_page
from tests.helpers import DEMO_PASSWORD, bearer

SHOTS = os.environ.get("SCREENSHOT_DIR", "/tmp")


def _sign_in(page, base: str, path: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}{path}")


def _sign_out(page) -> None:
    page.click("header form button[type=submit]")
    page.wait_for_load_state()


def _fits(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_store_is_approved_its_statement_reviewed_twice_and_paid_and_a_pool_topped_up(
        live: tuple[str, Flask], committed, cipher) -> None:
    from subsidy_app.appliances import participation
    from subsidy_app.identity.services import load_principal
    from subsidy_app.rules.models import BudgetPool
    from subsidy_app.seed import seed_demo

    base, app = live
    with UnitOfWork(committed, None, cipher) as uow:
        demo = seed_demo(uow)
        world = appliance_world(uow, demo)
        admin = load_principal(uow, account_id=demo["admin"])
        assert admin is not None
        store = participation.create_store(uow, principal=admin, dealer_org_id=world.dealer_org, name="离石二店",
                                           address="吕梁市离石区龙凤南大街 8 号").id
        token = buyer_token(uow, store, 90)
        uow.commit()
    client = app.test_client()
    till = bearer(client, "dealer.appliance")
    refused = sell(client, till, sale_body(store, token, AC, "5999.00", "2025-05-10"))
    assert (refused[0], refused[1]["reason"]) == (409, "dealer.not_approved")  # not approved yet

    catalogue = ("商品条码,品类,品牌,型号,能效等级,水效等级,参考价\n6901234567892,refrigerator,海尔,BCD-2,1,,3999.00\n"
                 "123,refrigerator,海尔,BCD-3,1,,3999.00\n").encode()
    with desk_page() as page:
        _sign_in(page, base, "/staff", "admin")
        page.click("#nav-catalogue")
        page.set_input_files("#file", files=[{"name": "目录.csv", "mimeType": "text/csv", "buffer": catalogue}])
        page.click("#import")
        assert "新增 1 个商品" in page.inner_text("#import-counts")
        assert page.inner_text("#row-errors tbody tr td:nth-child(2)") == "商品条码"
        page.screenshot(path=f"{SHOTS}/bmoney-catalogue.png", full_page=True)
        page.click("#nav-participations")
        page.select_option("#scope", f"store:{store}")
        page.select_option("#category", "air_conditioner")
        page.check("#status-approved")
        page.click("#decide")
        assert "已批准:空调" in page.inner_text(".flash.ok")
        assert "离石二店" in page.inner_text("#participations")
        assert _fits(page)
        page.screenshot(path=f"{SHOTS}/bmoney-participations.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: the table scrolls inside its box
        assert _fits(page)
        page.screenshot(path=f"{SHOTS}/bmoney-participations-phone.png")
        page.set_viewport_size({"width": 1280, "height": 800})

        _sign_out(page)

        # The dealer's clerk sells at the new store on the till page, above the reference price (the statement
        # carries a failed check), with the buyer's phone confirmation, then makes the statement on its page.
        today = business_date().isoformat()
        _sign_in(page, base, "/staff", "dealer.appliance")
        page.click("#nav-till")
        page.select_option("#store_id", str(store))
        page.fill("#gtin", AC)
        page.fill("#price", "5999.00")
        page.fill("#serial_number", "SN-BUREAU-0001")
        page.fill("#invoice_number", "26140000000000088001")
        page.fill("#buyer_token", token)
        page.click("#sell")
        page.wait_for_selector("#receipt-qr")
        page.click("#nav-statements")
        page.select_option("#programme", "appliance")
        page.fill("#period_start", today)
        page.fill("#period_end", today)
        page.click("#create-statement")
        page.wait_for_selector("#statement-number")
        total = page.inner_text("#statement-totals strong")
        statement = {"application_id": page.url.rstrip("/").rsplit("/", 1)[1].split("?")[0],
                     "number": page.inner_text("#statement-number"), "total": total}
        _sign_out(page)

        _sign_in(page, base, "/staff", "auditor.lishi")
        page.click("#nav-statements")
        row = page.locator(f"#statements tr[data-id='{statement['application_id']}']")
        assert "需两人审核" in row.inner_text() and "待审核" in row.inner_text()
        page.screenshot(path=f"{SHOTS}/bmoney-statements.png", full_page=True)
        row.locator("a").click()
        assert f"{today} 至 {today}" in page.inner_text("#summary")
        page.fill("#checks input[name=reason]", "已电话核实成交价,属高配机型")
        page.click("#checks button[type=submit]")
        page.fill("#reason", "销售与发票一致")
        page.click("#action-approve")
        assert page.inner_text("#state") == "待复核"
        page.screenshot(path=f"{SHOTS}/bmoney-statement-review.png", full_page=True)
        _sign_out(page)

        _sign_in(page, base, f"/review/{statement['application_id']}", "senior.city")
        page.fill("#reason", "复核同意")
        page.click("#action-approve_second")
        assert page.inner_text("#state").startswith("审核通过")
        _sign_out(page)

        _sign_in(page, base, "/staff", "finance.city")
        page.click("#nav-batches")
        page.check(f"#payable input[value='{statement['application_id']}']")
        page.fill("#declared_count", "1")
        page.fill("#declared_total", statement["total"])
        page.click("#create-batch")
        page.wait_for_selector("#batch-number")
        with page.expect_download() as bank_file:  # the bank file goes to the bank before its result comes back
            page.click("#download-csv")
        assert statement["number"] in bank_file.value.path().read_text(encoding="utf-8-sig")
        result = (f"序号,申请编号,金额,结果,银行流水号,说明\n1,{statement['number']},{statement['total']},成功,"
                  f"B-ST-1,\n").encode()
        page.set_input_files("#file", files=[{"name": "result.csv", "mimeType": "text/csv", "buffer": result}])
        page.click("#upload-results")
        assert page.inner_text("#report-paid").startswith("1 笔")
        page.screenshot(path=f"{SHOTS}/bmoney-batch-paid.png", full_page=True)

        # A top-up: finance proposes, the admin approves; only then the pool's allocation moves.
        pool_id = world.pools["appliance"]
        page.click("#nav-pools")
        page.click(f"#pools tr[data-id='{pool_id}'] a")
        page.select_option("#kind", "top_up")
        page.fill("#amount", "50000.00")
        page.select_option("#source", "provincial")
        page.fill("#reason", "省级第二批资金下达")
        page.click("#propose")
        assert "须由另一名资金管理人员审批" in page.inner_text(".flash.ok")
        assert "须由他人审批" in page.inner_text("#proposal-list")
        _sign_out(page)

        _sign_in(page, base, f"/budget/pools/{pool_id}", "admin")
        page.click("#proposal-list button[id^=approve-]")
        assert "已批准资金申请" in page.inner_text(".flash.ok")
        assert "已批准" in page.inner_text("#proposal-list")
        assert "资金申请 #1:省级第二批资金下达(提出:finance.city)" in page.inner_text("#ledger-list tbody tr")
        assert _fits(page)
        page.screenshot(path=f"{SHOTS}/bmoney-pool-desk.png", full_page=True)
        page.set_viewport_size({"width": 800, "height": 900})
        assert _fits(page)
        page.screenshot(path=f"{SHOTS}/bmoney-pool-tablet.png", full_page=True)

    with UnitOfWork(committed, None, cipher) as uow:
        pool = uow.session.get(BudgetPool, pool_id)
        assert pool is not None and pool.allocated == Decimal("1050000.00") and pool.provincial == Decimal("50000.00")
        assert pool.spent == Decimal(statement["total"])
