"""Only administrators see the local SMS outbox, with phones masked."""

from __future__ import annotations

from flask.testing import FlaskClient

import subsidy_app.messaging.tasks  # noqa: F401  (registers the send job)
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.messaging import codes
from tests.helpers import bearer, login


def test_admin_lists_the_outbox_newest_first_with_masked_phones(client: FlaskClient, demo: dict[str, int],
                                                                 uow: UnitOfWork) -> None:
    codes.request_code(uow, phone="13912345678", purpose="verify_identity")
    codes.request_code(uow, phone="13700000000", purpose="verify_identity")
    uow.commit()
    body = client.get("/api/v1/sms/outbox", headers=bearer(client, "admin")).get_json()
    assert [m["phone"] for m in body] == ["137****0000", "139****5678"]
    assert "验证码" in body[0]["text"]
    assert "13912345678" not in str(body)


def test_auditor_may_not_read_the_outbox(client: FlaskClient, demo: dict[str, int]) -> None:
    assert client.get("/api/v1/sms/outbox", headers=bearer(client, "auditor.lishi")).status_code == 403


def test_admin_page_shows_the_code_for_the_demo(client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    codes.request_code(uow, phone="13912345678", purpose="verify_identity")
    uow.commit()
    login(client, "admin")
    page = client.get("/staff/sms").get_data(as_text=True)
    assert "139****5678" in page and "验证码为" in page
    assert "13912345678" not in page
