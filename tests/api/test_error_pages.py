"""Every page is a page: the login page and back for a logged-out visitor, Chinese 403 and 404 pages, a favicon."""

from __future__ import annotations

from flask.testing import FlaskClient

from subsidy_app.seed import DEMO_PASSWORD
from tests.helpers import csrf_token


def test_a_logged_out_visitor_of_a_staff_page_logs_in_and_comes_back(client: FlaskClient, demo: dict[str, int]
                                                                     ) -> None:
    asked = client.get("/review?state=pending_review")
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/login?next=")
    login_page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/review?state=pending_review"' in login_page
    done = client.post("/login", data={"username": "auditor.lishi", "password": DEMO_PASSWORD,
                                       "csrf_token": csrf_token(client, "/login"),
                                       "next": "/review?state=pending_review"})
    assert done.status_code == 302 and done.headers["Location"] == "/review?state=pending_review"


def test_login_never_sends_anyone_to_another_site(client: FlaskClient, demo: dict[str, int]) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        done = client.post("/login", data={"username": "auditor.lishi", "password": DEMO_PASSWORD,
                                           "csrf_token": csrf_token(client, "/login"), "next": target})
        assert done.status_code == 302 and done.headers["Location"] == "/staff", target
        client.post("/logout", data={"csrf_token": csrf_token(client, "/staff")})


def test_a_wrong_role_and_a_missing_page_get_chinese_pages_and_the_api_keeps_json(
        client: FlaskClient, demo: dict[str, int]) -> None:
    client.post("/login", data={"username": "dealer.car", "password": DEMO_PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    refused = client.get("/review")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 403 and refused.mimetype == "text/html"
    assert "无权访问" in text and "返回首页" in text and "以其他账号登录" in text and "your role" not in text
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html" and "页面不存在" in missing.get_data(
        as_text=True)
    assert client.get("/review/999999").status_code == 403  # the role is checked before anything is looked up
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["reason"] == "not_found"


def test_the_site_has_a_favicon(client: FlaskClient) -> None:
    icon = client.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and b"<svg" in icon.data
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)


def test_the_refusal_pages_say_what_to_do_and_show_no_internal_codes(client: FlaskClient,
                                                                     demo: dict[str, int]) -> None:
    import re

    from tests.helpers import login

    login(client, "dealer.car")
    for path, words in (("/review", "联系本单位的系统管理员"), ("/no-such-page", "从工作台重新进入")):
        page = client.get(path).get_data(as_text=True)
        visible = re.sub(r"<[^>]+>", " ", page)  # the text a person reads, without the tags' attributes
        assert words in visible
        assert "auth.forbidden" not in visible and "not_found" not in visible
        assert visible.count("无权访问") <= 2  # the title (and the tab's title), not again as the message
