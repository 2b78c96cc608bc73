"""Every page is a page in a real browser: login and back, Chinese 403 and 404 pages with a way back, a favicon."""

from __future__ import annotations

from flask import Flask

from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import DEMO_PASSWORD
from tests.e2e.conftest import desk_page, phone_page


def _log_in(page, username: str) -> None:
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")


def test_a_logged_out_visitor_of_a_staff_page_logs_in_and_lands_on_it(live: tuple[str, Flask], committed,
                                                                     cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    with UnitOfWork(committed, None, cipher) as uow:
        seed_demo(uow)
        uow.commit()
    with desk_page() as page:
        page.goto(f"{base}/review?state=pending_review")
        assert page.url.startswith(f"{base}/login?next=") and page.inner_text("h1") == "工作人员登录"
        page.screenshot(path="/tmp/resident-login-next.png", full_page=True)
        _log_in(page, "auditor.lishi")
        page.wait_for_url(f"{base}/review?state=pending_review")
        assert page.inner_text("h1") == "补贴申请审核"


def test_a_wrong_role_gets_a_chinese_403_page_with_ways_back(live: tuple[str, Flask], committed, cipher) -> None:
    from subsidy_app.seed import seed_demo

    base, _app = live
    with UnitOfWork(committed, None, cipher) as uow:
        seed_demo(uow)
        uow.commit()
    with desk_page() as page:
        page.goto(f"{base}/login")
        _log_in(page, "dealer.car")
        page.wait_for_load_state()
        refused = page.goto(f"{base}/review")
        assert refused is not None and refused.status == 403
        assert page.inner_text("h1") == "无权访问" and page.get_attribute("#error-page", "data-code") == "403"
        assert "forbidden" not in page.inner_text("#error-page > p:first-of-type").lower()
        page.screenshot(path="/tmp/resident-403.png", full_page=True)
        page.click("text=以其他账号登录")
        page.wait_for_url(f"{base}/login")
        page.go_back()
        page.click("text=返回首页")
        page.wait_for_url(f"{base}/")
        assert page.title() == "吕梁市以旧换新服务平台"


def test_an_unknown_address_gets_a_chinese_404_page_on_a_phone_and_the_site_has_a_favicon(
        live: tuple[str, Flask]) -> None:
    base, _app = live
    with phone_page() as page:
        missing = page.goto(f"{base}/no-such-page")
        assert missing is not None and missing.status == 404
        assert page.inner_text("h1") == "页面不存在" and page.title() == "页面不存在"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
        page.screenshot(path="/tmp/resident-404.png", full_page=True)
        icon = page.get_attribute("link[rel=icon]", "href")
        assert icon
        answer = page.request.get(base + icon)
        assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
        assert page.request.get(f"{base}/favicon.ico").status == 200  # browsers ask for it on their own
        page.click("text=返回首页")
        page.wait_for_url(f"{base}/")
