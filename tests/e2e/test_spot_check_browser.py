"""Spot checks in Chromium: the city bureau makes a plan, draws it and reads the rollup chart; a county auditor
works an item from 我的抽查任务; the city's senior auditor finds another false, revoking the sale."""

from __future__ import annotations

import os

from flask import Flask

from subsidy_app.core.uow import UnitOfWork
from tests.appliance_fixtures import AC, appliance_world, buyer_token, sale_body, sell
from tests.e2e.conftest import desk_page
from tests.helpers import DEMO_PASSWORD, bearer

SHOTS = os.environ.get("SCREENSHOT_DIR", "/tmp")


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _sign_out(page) -> None:
    page.click("header form button[type=submit]")
    page.wait_for_load_state()


def _fits(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_the_city_draws_a_plan_and_a_county_auditor_works_its_items(live: tuple[str, Flask], committed,
                                                                     cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, app = live
    with UnitOfWork(committed, None, cipher) as uow:
        demo = seed_demo(uow)
        world = appliance_world(uow, demo)
        tokens = [buyer_token(uow, world.store_id, 500 + n) for n in range(6)]
        uow.commit()
    client = app.test_client()
    till = bearer(client, "dealer.appliance")
    for n, token in enumerate(tokens):
        status, body = sell(client, till, sale_body(world.store_id, token, AC, "5000.00" if n == 0 else "3999.00",
                                                    "2025-05-10"))
        assert status == 200, body

    with desk_page() as page:
        _sign_in(page, base, "senior.city")
        page.click("#nav-spot-checks")
        page.select_option("#programme", "appliance")
        page.fill("#period_start", "2025-05-31")
        page.fill("#period_end", "2025-05-01")
        page.fill("#rate_percent", "200")
        page.click("#create-plan")
        assert page.locator("#period_end-error").is_visible() and page.locator("#rate_percent-error").is_visible()
        page.fill("#period_start", "2025-05-01")
        page.fill("#period_end", "2025-05-31")
        page.fill("#rate_percent", "34")
        page.click("#create-plan")
        assert "抽查计划已创建" in page.inner_text(".flash.ok")
        page.fill("#seed", "吕梁-2025-05")
        page.click("#draw")
        assert "随机种子 吕梁-2025-05" in page.inner_text(".flash.ok")
        assert page.inner_text("#population") == "6"
        sampled = int(page.inner_text("#sampled"))
        assert sampled in (2, 3)  # 34 % of 6 is 2.04 → 2 at random, and the sale priced above the margin
        page.wait_for_selector("#chart-dealers svg")
        assert page.locator("#spot-items tbody tr").count() == sampled
        assert "存在风险信号" in page.inner_text("#spot-items")
        assert _fits(page)
        page.screenshot(path=f"{SHOTS}/spot-plan-city.png", full_page=True)
        page.set_viewport_size({"width": 800, "height": 900})
        assert _fits(page)
        page.screenshot(path=f"{SHOTS}/spot-plan-800.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        _sign_out(page)

        _sign_in(page, base, "auditor.lishi")
        page.click("#nav-spot-tasks")
        assert page.locator("#spot-items tbody tr").count() == sampled
        page.screenshot(path=f"{SHOTS}/spot-tasks-county.png", full_page=True)
        page.click("#spot-items tbody tr:has-text('随机抽取') td a >> nth=0")
        assert "*" in page.inner_text("#resident")
        assert page.locator("#conclusion-false").count() == 0  # a county auditor cannot find it false
        page.check("#callback-no_answer")
        page.click("#record-callback")
        assert "第 1 次未接通" in page.inner_text(".flash.ok")
        page.check("#callback-confirmed")
        page.click("#record-callback")
        page.check("#documents-consistent")
        page.click("#record-documents")
        page.check("#conclusion-genuine")
        page.click("#conclude-item")
        assert "结论:属实" in page.inner_text(".flash.ok")
        assert _fits(page)
        page.screenshot(path=f"{SHOTS}/spot-item-county.png", full_page=True)
        _sign_out(page)

        _sign_in(page, base, "senior.city")
        page.click("#nav-spot-checks")
        page.click("#plans tbody tr:first-child td a")
        page.select_option("#f-reason", "fraud_signal")
        page.click("#item-filter button[type=submit]")
        assert page.locator("#spot-items tbody tr").count() == 1
        page.click("#spot-items tbody tr:first-child td a")
        page.check("#site_visit-not_found")
        page.click("#record-site_visit")
        page.check("#conclusion-false")
        page.click("#conclude-item")
        assert page.locator("#reason-error").is_visible()  # a false finding needs a reason
        page.check("#conclusion-false")
        page.fill("#reason", "实地核查未见旧空调")
        page.click("#conclude-item")
        assert "已撤销并扣回 1000.00 元" in page.inner_text(".flash.ok")
        page.screenshot(path=f"{SHOTS}/spot-item-false.png", full_page=True)
        page.click("text=返回抽查计划")
        assert "1000.00" in page.inner_text("#table-dealers")
        page.wait_for_selector("#chart-counties svg")
        page.screenshot(path=f"{SHOTS}/spot-plan-rollup.png", full_page=True)
