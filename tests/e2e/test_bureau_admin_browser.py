"""A manager makes the ten-day workbook on its page (progress bar to done) and opens the download; the admin creates
an account and disables it; the audit page shows those events and its verify button reports the chain intact."""

from __future__ import annotations

import io
import os
import threading

from flask import Flask
from openpyxl import load_workbook

from subsidy_app.core.uow import UnitOfWork
from tests.e2e.conftest import desk_page
from tests.helpers import DEMO_PASSWORD

SHOTS = os.environ.get("SCREENSHOT_DIR", "/tmp")


class LaterDispatcher:
    """Runs each job a moment after its commit, on another thread, as a worker would: the page shows the bar first."""

    runs_inline = True

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def dispatch(self, message_ids: list[int]) -> None:
        """Hand the jobs to the in-process runner after a pause."""
        threading.Timer(1.5, self.inner.dispatch, [message_ids]).start()  # type: ignore[attr-defined]


def _no_sideways_scroll(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_manager_makes_a_workbook_and_admin_manages_an_account_then_audits(live: tuple[str, Flask], committed,
                                                                          cipher) -> None:
    from recycling import targets
    from subsidy_app.rules import services
    from subsidy_app.rules.ruleset import DATA_DIR
    from subsidy_app.seed import seed_demo

    base, app = live
    runtime = app.extensions["subsidy"]
    runtime.dispatcher = LaterDispatcher(runtime.dispatcher)
    with UnitOfWork(committed, None, cipher) as uow:
        seed_demo(uow)
        services.publish_rule_files(uow, actor="test", paths=sorted(DATA_DIR.glob("*.yaml")))
        targets.load_shipped(uow, actor="test")
        uow.commit()

    with desk_page() as page:
        page.goto(f"{base}/recovery/reports")
        page.fill("#username", "admin")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#generate")
        period = page.eval_on_selector("#period", "s => s.value")
        assert period.count("-") == 2  # the latest ended ten-day period (旬) is offered first
        page.click("#generate")
        page.wait_for_selector("#job-bar")  # the job is queued: the bar polls /api/v1/jobs/<id>
        page.screenshot(path=f"{SHOTS}/badmin-report-progress.png")
        page.wait_for_selector("#report-ready", timeout=30_000)
        page.screenshot(path=f"{SHOTS}/badmin-report-ready.png")
        with page.expect_download() as download:
            page.click("#download")
        assert download.value.suggested_filename == f"lvliang-recovery-{period}.xlsx"
        with open(download.value.path(), "rb") as saved:
            book = load_workbook(io.BytesIO(saved.read()))
        assert book.sheetnames and "报表" in (book.properties.title or "")
        page.goto(f"{base}/recovery/reports")
        assert page.locator(f'tr[data-period="{period}"]').count() == 1
        page.screenshot(path=f"{SHOTS}/badmin-reports.png", full_page=True)

        page.click("#nav-new-account")
        page.select_option("#organisation_id", label="离石区商务局(商务主管部门)")
        assert page.locator('label[data-role="dealer_clerk"]').is_hidden()  # roles fit the bureau's kind
        page.fill("#username", "auditor.browser")
        page.fill("#display_name", "浏览器审核员")
        page.fill("#password", "Browser-2026-pass")
        page.check('input[name="roles"][value="auditor"]')
        page.screenshot(path=f"{SHOTS}/badmin-account-new.png", full_page=True)
        page.click("#create-account")
        page.wait_for_selector("#toggle-active")
        page.click("#toggle-active")
        page.wait_for_selector("text=账号 auditor.browser 已停用")
        assert page.inner_text("#state") == "已停用"
        page.screenshot(path=f"{SHOTS}/badmin-account-disabled.png", full_page=True)
        page.click("#reset-password")
        assert len(page.inner_text("#temporary-password")) == 12  # shown once, on this page only

        page.click("#nav-audit")
        page.fill("#actor", "admin")
        page.select_option("#entity_type", "account")
        page.click("#filters button[type=submit]")
        page.wait_for_selector('#events tr[data-action="account.disabled"]')
        assert page.locator('#events tr[data-action="account.created"]').count() == 1
        assert _no_sideways_scroll(page)
        page.screenshot(path=f"{SHOTS}/badmin-audit.png", full_page=True)
        page.set_viewport_size({"width": 800, "height": 900})
        assert _no_sideways_scroll(page)
        page.screenshot(path=f"{SHOTS}/badmin-audit-tablet.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.click("#verify-chain")
        page.wait_for_selector("#job-bar")
        page.wait_for_selector('#chain-result[data-ok="1"]', timeout=30_000)
        assert "审计链完整" in page.inner_text("#chain-result")
        page.screenshot(path=f"{SHOTS}/badmin-verify.png")
        page.goto(f"{base}/rules")
        page.screenshot(path=f"{SHOTS}/badmin-rules.png", full_page=True)
        page.click('#versions tr[data-code="car_scrap-2025"] a')
        page.wait_for_selector('#clauses tr[data-clause="old_vehicle.owner_since"]')
        page.screenshot(path=f"{SHOTS}/badmin-rule-version.png", full_page=True)
        page.goto(f"{base}/rules/diff?from_=car_scrap-2024&to=car_scrap-2025")
        assert page.locator("#changes tbody tr").count() > 0
        page.screenshot(path=f"{SHOTS}/badmin-rule-diff.png", full_page=True)
        page.goto(f"{base}/recovery")
        assert page.locator("#progress tbody tr").count() == 3
        page.screenshot(path=f"{SHOTS}/badmin-recovery.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/admin/accounts")
        assert _no_sideways_scroll(page)
        page.screenshot(path=f"{SHOTS}/badmin-accounts-phone.png", full_page=True)
