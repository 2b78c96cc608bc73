"""What a reviewer reads: each check named in Chinese with its finding, no raw codes or English values (issue 14
item 10), and the finance form's control totals in Chinese."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from subsidy_app.applications.models import ApplicationCheck
from subsidy_app.core.uow import UnitOfWork
from tests.api.test_staff_pages import _approved, _pending
from tests.helpers import login

_CODE = re.compile(r"\b[a-z_]+\.[a-z_]+(?::\d+)?\b")  # certificate.unused, fraud.outside_hours:0


def _checks_text(page: str) -> str:
    table = re.search(r'<table id="checks">(.*?)</table>', page, re.S)
    assert table is not None
    return re.sub(r"<[^>]+>", " ", re.sub(r"<form.*?</form>", "", table.group(1), flags=re.S))


def test_the_review_page_names_each_check_in_chinese_without_codes(client: FlaskClient, demo: dict[str, int],
                                                                    uow: UnitOfWork) -> None:
    app_id = _pending(uow, demo)
    uow.session.add(ApplicationCheck(application_id=app_id, run=1, code="fraud.outside_hours:0", passed=False,
                                     explanation_zh="销售时间不在门店营业时间内(销售时间 23:10,营业时间 09:00-21:00)",
                                     explanation_en="fraud.outside_hours (sold_at=23:10)"))
    uow.session.flush()
    uow.commit()
    login(client, "auditor.lishi")
    text = _checks_text(client.get(f"/review/{app_id}").get_data(as_text=True))
    assert "回收证明使用情况" in text and "回收证明状态:有效（未使用）" in text and "issued" not in text
    assert "风险提示" in text and "销售时间不在门店营业时间内" in text
    assert _CODE.findall(text) == []


def test_the_batch_form_gives_the_control_totals_in_chinese(client: FlaskClient, demo: dict[str, int],
                                                          uow: UnitOfWork) -> None:
    app_id = _approved(uow, demo, client)
    csrf = login(client, "finance.city")
    wrong = client.post("/finance/batches", data={"csrf_token": csrf, "application_ids": [app_id],
                                                  "declared_count": "2", "declared_total": "17000.00"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "expected" not in page
    assert "核对金额:所选申请合计 18000.00 元" in page and "核对笔数:所选申请共 1 笔" in page


def test_the_history_names_who_acted_and_the_sms_outbox_names_each_texts_purpose(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    app_id = _approved(uow, demo, client)
    login(client, "auditor.lishi")
    history = re.search(r'<ol id="history">(.*?)</ol>', client.get(f"/review/{app_id}").get_data(as_text=True), re.S)
    assert history is not None
    text = re.sub(r"<[^>]+>", " ", history.group(1))
    assert "系统(自动核验)" in text and "auditor.lishi" in text
    assert not re.search(r"\b(person|system|account):", text)
    client.post("/logout", data={"csrf_token": login(client, "auditor.lishi")})
    login(client, "admin")
    outbox = re.sub(r"<[^>]+>", " ", client.get("/staff/sms").get_data(as_text=True))
    assert "申请进度通知" in outbox and "otp:" not in outbox and "application." not in outbox


def test_actor_and_purpose_labels() -> None:
    from subsidy_app.identity.domain import actor_label
    from subsidy_app.messaging.domain import sms_purpose_label

    assert actor_label("person:12") == "申请人本人"
    assert actor_label("account:5:auditor.lishi") == "auditor.lishi"
    assert actor_label("system:checks") == "系统(自动核验)" and actor_label("system:cli") == "系统"
    assert sms_purpose_label("otp:verify_identity") == "验证码(身份核验)"
    assert sms_purpose_label("application.approved") == "申请进度通知"
    assert sms_purpose_label("something.else") == "其他短信"
