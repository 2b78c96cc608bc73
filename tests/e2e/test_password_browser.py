"""A staff member given a temporary password chooses their own before anything else, in the browser."""

from __future__ import annotations

import os

from flask import Flask

from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import accounts
from subsidy_app.identity import services as identity
from tests.e2e.conftest import desk_page

SHOTS = os.environ.get("SCREENSHOT_DIR", "/tmp")


def test_a_temporary_password_leads_to_the_password_page_then_to_the_work(live: tuple[str, Flask], committed,
                                                                          cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    with UnitOfWork(committed, None, cipher) as uow:
        ids = seed_demo(uow)
        admin = identity.load_principal(uow, account_id=ids["admin"])
        assert admin is not None
        temporary = accounts.reset_password(uow, principal=admin, account_id=ids["auditor.lishi"])
        uow.commit()
    with desk_page() as page:
        page.goto(f"{base}/review?state=pending_review")
        page.fill("#username", "auditor.lishi")
        page.fill("#password", temporary)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_selector("#must-change")
        assert page.url.startswith(f"{base}/account/password")
        assert page.query_selector("nav.staff-menu") is None  # no menu of pages it would not open
        page.fill("#current_password", temporary)
        page.fill("#new_password", "my-own-pass-1")
        page.fill("#confirm_password", "my-own-pass-2")
        page.click("#change-password")
        page.wait_for_selector("#confirm_password-error")
        assert "不一致" in page.inner_text("#confirm_password-error")
        page.screenshot(path=f"{SHOTS}/password-refused.png", full_page=True)
        page.fill("#current_password", temporary)
        page.fill("#new_password", "my-own-pass-1")
        page.fill("#confirm_password", "my-own-pass-1")
        page.click("#change-password")
        page.wait_for_url(f"{base}/review?state=pending_review")  # back to the page that asked for the login
        assert "密码已修改" in page.inner_text(".flash.ok")
        page.click("#nav-password")
        page.wait_for_selector("#change-password")
        assert page.query_selector("#must-change") is None  # now an ordinary change, open from the header
        assert page.query_selector("nav.staff-menu") is not None
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=f"{SHOTS}/password-page.png", full_page=True)
