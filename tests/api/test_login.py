"""Staff login: argon2 passwords, lockout after repeated failures, session cookies."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from subsidy_app.identity.models import Account
from subsidy_app.seed import DEMO_PASSWORD
from tests.helpers import csrf_token


def _attempt(client: FlaskClient, password: str, username: str = "auditor.lishi") -> int:
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)}).status_code


def test_demo_accounts_log_in_and_reach_their_workbench(client: FlaskClient, demo: dict[str, int]) -> None:
    assert _attempt(client, DEMO_PASSWORD) == 302
    page = client.get("/staff").get_data(as_text=True)
    assert "离石区审核员" in page
    assert "离石区" in page


def test_passwords_are_stored_as_argon2_hashes(uow, demo: dict[str, int]) -> None:
    hashes = uow.session.scalars(select(Account.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(DEMO_PASSWORD not in h for h in hashes)


def test_wrong_password_is_refused_in_chinese(client: FlaskClient, demo: dict[str, int]) -> None:
    response = client.post("/login", data={"username": "auditor.lishi", "password": "nope",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_account_locks_after_five_failures_even_for_the_right_password(client: FlaskClient,
                                                                         demo: dict[str, int]) -> None:
    for _ in range(5):
        assert _attempt(client, "wrong-password") == 401
    assert _attempt(client, DEMO_PASSWORD) == 401
    locked = client.post("/login", data={"username": "auditor.lishi", "password": DEMO_PASSWORD,
                                         "csrf_token": csrf_token(client)})
    assert "账号已锁定" in locked.get_data(as_text=True)
    assert _attempt(client, DEMO_PASSWORD, username="auditor.xiaoyi") == 302


def test_login_form_without_csrf_token_is_refused(client: FlaskClient, demo: dict[str, int]) -> None:
    response = client.post("/login", data={"username": "auditor.lishi", "password": DEMO_PASSWORD})
    assert response.status_code == 403
