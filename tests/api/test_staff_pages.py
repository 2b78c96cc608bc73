"""Staff pages of the car path: dealers' sale form and QR page, the review queue and detail, finance batches."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from subsidy_app.applications.domain import State
from subsidy_app.applications.models import Application, ApplicationEvent, CarSale
from subsidy_app.core.uow import UnitOfWork
from tests.car_fixtures import APPLICANT_ID, bank_card, car_world, publish_rules, resident_id, submit, vin
from tests.helpers import login

SALE_FORM = {"invoice_number": "26140000000000000901", "invoice_code": "", "invoice_date": "2026-06-01",
             "invoice_total": "150000.00", "price_excl_tax": "", "new_vehicle_type": "nev",
             "nev_catalogue_ref": "2026-第3批", "displacement_l": "", "buyer_name": "张三",
             "buyer_id_number": APPLICANT_ID}


def _app(uow: UnitOfWork, application_id: int) -> Application:
    uow.session.expire_all()
    found = uow.session.get(Application, application_id)
    assert found is not None
    return found


def _pending(uow: UnitOfWork, demo: dict[str, int], **world: Any) -> int:
    # Each applicant pays to a card of their own: a card two residents named fails its check (bank_card.own).
    return submit(uow, car_world(uow, demo, **world), card=bank_card(500 + world.get("serial", 1))).application_id


def _approved(uow: UnitOfWork, demo: dict[str, int], client: FlaskClient) -> int:
    app_id = _pending(uow, demo)
    csrf = login(client, "auditor.lishi")
    client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "approve"})
    client.post("/logout", data={"csrf_token": csrf})
    assert _app(uow, app_id).state == State.APPROVED
    return app_id


@pytest.mark.parametrize(
    ("path", "allowed", "refused"),
    [
        ("/dealer/car-sales", "dealer.car", "auditor.lishi"),
        ("/dealer/car-sales/new", "dealer.car", "finance.city"),
        ("/review", "auditor.lishi", "dealer.car"),
        ("/review?state=pending_second_review", "senior.city", "finance.city"),
        ("/finance/batches", "finance.city", "auditor.lishi"),
    ],
)
def test_each_page_renders_for_its_role_and_is_refused_to_others(
    client: FlaskClient, demo: dict[str, int], path: str, allowed: str, refused: str
) -> None:
    logged_out = client.get(path)
    assert logged_out.status_code == 302 and logged_out.headers["Location"].startswith("/login?next=")
    csrf = login(client, refused)
    assert client.get(path).status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    login(client, allowed)
    page = client.get(path)
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("username", "link", "absent"),
    [("dealer.car", "/dealer/car-sales/new", "/review"), ("auditor.lishi", "/review", "/finance/batches"),
     ("senior.city", "state=pending_second_review", "/dealer/"), ("finance.city", "/finance/batches", "/review")],
)
def test_the_workbench_links_each_role_to_its_pages(client: FlaskClient, demo: dict[str, int], username: str,
                                                     link: str, absent: str) -> None:
    login(client, username)
    page = client.get("/staff").get_data(as_text=True)
    assert link in page and absent not in page


def test_dealer_registers_a_sale_through_the_form_and_sees_its_qr(client: FlaskClient, demo: dict[str, int]) -> None:
    csrf = login(client, "dealer.car")
    new_vin = vin(901)
    response = client.post("/dealer/car-sales/new", data={**SALE_FORM, "new_vin": new_vin, "csrf_token": csrf})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert new_vin in page and "1101**********002X" in page and APPLICANT_ID not in page
    qr_src = re.search(r'<img src="([^"]+)"[^>]*id="sale-qr"', page)
    assert qr_src and qr_src.group(1).endswith("/qr.png")
    image = client.get(qr_src.group(1))
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    assert "/m/car/" in page and "qr.svg" in page
    listing = client.get("/dealer/car-sales").get_data(as_text=True)
    assert new_vin in listing and "尚未申请" in listing


def test_a_bad_sale_form_is_shown_again_with_the_field_named_and_nothing_saved(
    client: FlaskClient, demo: dict[str, int], uow: UnitOfWork
) -> None:
    csrf = login(client, "dealer.car")
    response = client.post("/dealer/car-sales/new", data={
        **SALE_FORM, "new_vin": vin(902), "new_vehicle_type": "fuel", "invoice_total": "abc", "csrf_token": csrf})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-field="invoice_total"' in page and "价税合计" in page and vin(902) in page  # the form keeps input
    refused = client.post("/dealer/car-sales/new", data={**SALE_FORM, "new_vin": vin(902), "new_vehicle_type": "fuel",
                                                         "csrf_token": csrf})
    assert refused.status_code == 422 and 'data-field="displacement_l"' in refused.get_data(as_text=True)
    assert uow.session.scalar(select(func.count()).select_from(CarSale)) == 0


def test_a_form_post_without_the_csrf_token_is_refused(client: FlaskClient, demo: dict[str, int]) -> None:
    login(client, "dealer.car")
    response = client.post("/dealer/car-sales/new", data={**SALE_FORM, "new_vin": vin(903)})
    assert response.status_code == 403 and 'data-reason="auth.csrf"' in response.get_data(as_text=True)
    assert "CSRF 校验失败,请刷新页面重试" in response.get_data(as_text=True)


def test_dealers_list_shows_the_application_state_and_hides_other_dealers_sales(
    client: FlaskClient, demo: dict[str, int], uow: UnitOfWork
) -> None:
    world = car_world(uow, demo)
    submit(uow, world)
    login(client, "dealer.car")
    listing = client.get("/dealer/car-sales").get_data(as_text=True)
    assert world.new_vin in listing and "待审核" in listing
    client.post("/logout", data={"csrf_token": login(client, "dealer.car")})
    login(client, "dealer.appliance")
    assert world.new_vin not in client.get("/dealer/car-sales").get_data(as_text=True)
    assert client.get(f"/dealer/car-sales/{world.sale.id}").status_code == 404


def test_reviewer_sees_the_detail_and_approves_through_the_form(client: FlaskClient, demo: dict[str, int],
                                                                uow: UnitOfWork) -> None:
    app_id = _pending(uow, demo)
    number = _app(uow, app_id).number
    csrf = login(client, "auditor.lishi")
    assert number in client.get("/review").get_data(as_text=True)
    page = client.get(f"/review/{app_id}").get_data(as_text=True)
    assert APPLICANT_ID in page and "18000.00" in page and "car_scrap-2026" in page  # clear for reviewers
    assert "✓" in page and "✗" not in page and 'id="action-approve"' in page
    response = client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "approve"})
    assert response.status_code == 302
    assert _app(uow, app_id).state == State.APPROVED
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已初审通过" in after and "审核通过,待发放" in after


def test_a_refused_decision_is_shown_on_the_page_with_its_status(client: FlaskClient, demo: dict[str, int],
                                                                 uow: UnitOfWork) -> None:
    app_id = _pending(uow, demo)
    csrf = login(client, "auditor.lishi")
    response = client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "reject", "reason": " "})
    assert response.status_code == 409
    assert "请填写原因" in response.get_data(as_text=True)
    assert _app(uow, app_id).state == State.PENDING_REVIEW
    bogus = client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "paid"})
    assert bogus.status_code == 422
    returned = client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "return",
                                                               "reason": "发票照片不清晰"})
    assert returned.status_code == 302 and _app(uow, app_id).state == State.RETURNED


def test_batch_approval_from_the_queue(client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    clean = _pending(uow, demo, serial=1)
    failing = _pending(uow, demo, serial=2, deregistered=False, owner_id=resident_id("14110219800101123"))
    csrf = login(client, "auditor.lishi")
    queue = client.get("/review").get_data(as_text=True)
    assert f'name="application_ids" value="{clean}"' in queue
    assert f'name="application_ids" value="{failing}"' not in queue  # a failed check is never batch-approved
    response = client.post("/review/batch-approve", data={"csrf_token": csrf, "application_ids": [clean, failing]})
    assert response.status_code == 200  # each ticked item's result: too many for a flash
    assert (_app(uow, clean).state, _app(uow, failing).state) == (State.APPROVED, State.PENDING_REVIEW)
    page = response.get_data(as_text=True)
    assert "1 件审核通过" in page and "1 件跳过" in page
    assert re.search(rf'data-id="{clean}" data-result="approved">.*?{_app(uow, clean).number}.*?审核通过', page, re.S)
    skipped = re.search(rf'data-id="{failing}" data-result="skipped">.*?</tr>', page, re.S)
    assert skipped and _app(uow, failing).number in skipped.group(0) and "须逐件审核并经复核" in skipped.group(0)
    empty = client.post("/review/batch-approve", data={"csrf_token": csrf})
    assert empty.status_code == 422 and "请至少勾选一项" in empty.get_data(as_text=True)


def test_override_then_second_review_by_another_senior_auditor(client: FlaskClient, demo: dict[str, int],
                                                                uow: UnitOfWork) -> None:
    app_id = _pending(uow, demo, deregistered=False)
    csrf = login(client, "senior.city")
    page = client.get(f"/review/{app_id}").get_data(as_text=True)
    check_id = re.search(r'/review/\d+/checks/(\d+)/override', page)
    assert check_id and "✗" in page
    no_reason = client.post(f"/review/{app_id}/checks/{check_id.group(1)}/override",
                            data={"csrf_token": csrf, "reason": ""})
    assert no_reason.status_code == 422
    client.post(f"/review/{app_id}/checks/{check_id.group(1)}/override",
                data={"csrf_token": csrf, "reason": "已核对车管所纸质注销证明"})
    client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "approve"})
    assert _app(uow, app_id).state == State.PENDING_SECOND_REVIEW
    mine = client.get(f"/review/{app_id}").get_data(as_text=True)
    assert 'id="first-reviewer"' in mine and 'id="action-approve_second"' not in mine
    assert "已核对车管所纸质注销证明" in mine
    assert "您是初审人" in client.get("/review").get_data(as_text=True)  # the senior's default queue
    same = client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "approve_second"})
    assert same.status_code == 409 and "另一名复核员" in same.get_data(as_text=True)
    assert _app(uow, app_id).state == State.PENDING_SECOND_REVIEW


def test_a_failed_check_goes_to_a_senior_auditor_who_approves_it(client: FlaskClient, demo: dict[str, int],
                                                                  uow: UnitOfWork) -> None:
    app_id = _pending(uow, demo, deregistered=False)
    csrf = login(client, "auditor.lishi")
    assert 'id="action-approve_second"' not in client.get(f"/review/{app_id}").get_data(as_text=True)
    client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "approve"})
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "senior.city")
    assert _app(uow, app_id).number in client.get("/review").get_data(as_text=True)
    page = client.get(f"/review/{app_id}").get_data(as_text=True)
    assert 'id="first-reviewer"' not in page and 'id="action-approve_second"' in page
    response = client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "approve_second"})
    assert response.status_code == 302 and _app(uow, app_id).state == State.APPROVED


def test_an_auditor_of_another_county_cannot_open_the_application(client: FlaskClient, demo: dict[str, int],
                                                                 uow: UnitOfWork) -> None:
    app_id = _pending(uow, demo)
    csrf = login(client, "auditor.xiaoyi")
    assert _app(uow, app_id).number not in client.get("/review").get_data(as_text=True)
    assert client.get(f"/review/{app_id}").status_code == 404
    assert client.post(f"/review/{app_id}/decision", data={"csrf_token": csrf, "action": "approve"}).status_code == 404
    assert _app(uow, app_id).state == State.PENDING_REVIEW


def test_finance_creates_a_batch_through_the_form_and_reconciles_the_bank_file(
    client: FlaskClient, demo: dict[str, int], uow: UnitOfWork
) -> None:
    app_id = _approved(uow, demo, client)
    number = _app(uow, app_id).number
    csrf = login(client, "finance.city")
    listing = client.get("/finance/batches").get_data(as_text=True)
    assert number in listing and 'data-amount="18000.00"' in listing
    wrong = client.post("/finance/batches", data={"csrf_token": csrf, "application_ids": [app_id],
                                                  "declared_count": "1", "declared_total": "17000.00"})
    assert wrong.status_code == 422 and "控制总数不符" in wrong.get_data(as_text=True)
    assert 'value="17000.00"' in wrong.get_data(as_text=True)  # the officer's entry is kept for correction
    assert _app(uow, app_id).state == State.APPROVED
    created = client.post("/finance/batches", data={"csrf_token": csrf, "application_ids": [app_id],
                                                    "declared_count": "1", "declared_total": "18000.00"})
    assert created.status_code == 302, created.get_data(as_text=True)
    assert _app(uow, app_id).state == State.IN_PAYMENT
    batch_page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert number in batch_page and "bank-file?format=csv" in batch_page
    csv_link = re.search(r'href="([^"]+format=csv)"', batch_page)
    assert csv_link
    bank_file = client.get(csv_link.group(1).replace("&amp;", "&"))
    assert bank_file.status_code == 200 and number in bank_file.get_data(as_text=True)
    result = f"序号,申请编号,金额,结果,银行流水号,说明\n1,{number},18000.00,成功,B0001,\n".encode()
    upload = f"{created.headers['Location']}/results"
    report = client.post(upload, data={"csrf_token": csrf, "file": (io.BytesIO(result), "r.csv")},
                         content_type="multipart/form-data")
    assert report.status_code == 200
    assert "1 笔,合计 18000.00 元" in report.get_data(as_text=True)
    assert _app(uow, app_id).state == State.PAID
    again = client.post(upload, data={"csrf_token": csrf, "file": (io.BytesIO(result), "r.csv")},
                        content_type="multipart/form-data")
    assert again.status_code == 200 and 'id="already-imported"' in again.get_data(as_text=True)
    assert _app(uow, app_id).paid_at is not None and _app(uow, app_id).amount == Decimal("18000.00")


def test_a_bad_bank_file_is_shown_on_the_batch_page(client: FlaskClient, demo: dict[str, int],
                                                    uow: UnitOfWork) -> None:
    app_id = _approved(uow, demo, client)
    csrf = login(client, "finance.city")
    created = client.post("/finance/batches", data={"csrf_token": csrf, "application_ids": [app_id],
                                                    "declared_count": "1", "declared_total": "18000.00"})
    upload = f"{created.headers['Location']}/results"
    not_exported = client.post(upload, data={"csrf_token": csrf, "file": (io.BytesIO(b"x"), "r.csv")},
                               content_type="multipart/form-data")
    assert not_exported.status_code == 409 and "批次尚未导出" in not_exported.get_data(as_text=True)
    missing = client.post(upload, data={"csrf_token": csrf}, content_type="multipart/form-data")
    assert missing.status_code == 422 and 'data-field="file"' in missing.get_data(as_text=True)


def test_the_finance_list_shows_when_each_application_was_approved_in_beijing_time(
    client: FlaskClient, demo: dict[str, int], uow: UnitOfWork
) -> None:
    app_id = _approved(uow, demo, client)
    app = _app(uow, app_id)
    app.submitted_at = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
    uow.session.execute(update(ApplicationEvent).where(ApplicationEvent.application_id == app_id,
                                                       ApplicationEvent.to_state == State.APPROVED.value)
                        .values(at=dt.datetime(2026, 3, 1, 21, 36, tzinfo=dt.UTC)))
    uow.session.flush()
    login(client, "finance.city")
    row = re.search(rf"<td>{app.number}</td>.*?</tr>", client.get("/finance/batches").get_data(as_text=True), re.S)
    assert row is not None
    assert "2026-03-02 05:36" in row.group(0)  # 21:36 UTC is 05:36 the next morning in Beijing
    assert "2026-01-05" not in row.group(0)  # not the submission date


def test_a_sale_dated_outside_every_programme_is_registered_with_a_warning(client: FlaskClient, uow: UnitOfWork,
                                                                          demo: dict[str, int]) -> None:
    publish_rules(uow)
    uow.flush()
    csrf = login(client, "dealer.car")
    covered = client.post("/dealer/car-sales/new", data={**SALE_FORM, "new_vin": vin(902), "csrf_token": csrf},
                          follow_redirects=True).get_data(as_text=True)
    assert "销售已登记" in covered and 'class="flash warn"' not in covered
    odd = {**SALE_FORM, "new_vin": vin(903), "invoice_number": "26140000000000000903", "invoice_date": "2019-01-01"}
    page = client.post("/dealer/car-sales/new", data={**odd, "csrf_token": csrf}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "销售已登记" in text  # still registered
    assert 'class="flash warn"' in text and "2019-01-01 不在任何汽车以旧换新补贴规则的适用期内" in text


def _status_page(client: FlaskClient, uow: UnitOfWork, app_id: int) -> str:
    from subsidy_app.applications.views import status_url

    with client.application.app_context():
        url = status_url(_app(uow, app_id).status_code)
    return client.get("/" + url.split("://", 1)[1].split("/", 1)[1]).get_data(as_text=True)


def test_the_resident_sees_a_return_reason_but_not_an_approving_note_or_a_fraud_signal(
    client: FlaskClient, demo: dict[str, int], uow: UnitOfWork
) -> None:
    from subsidy_app.applications.models import ApplicationCheck

    approved = _pending(uow, demo)
    csrf = login(client, "auditor.lishi")
    client.post(f"/review/{approved}/decision", data={"csrf_token": csrf, "action": "approve",
                                                      "reason": "已核对纸质注销证明"})
    returned = _pending(uow, demo, serial=2, owner_id=resident_id("14110219800101002"))
    client.post(f"/review/{returned}/decision", data={"csrf_token": csrf, "action": "return",
                                                      "reason": "请补充行驶证照片"})
    client.post("/logout", data={"csrf_token": csrf})
    assert _app(uow, approved).state == State.APPROVED and _app(uow, returned).state == State.RETURNED
    assert "已核对纸质注销证明" not in _status_page(client, uow, approved)
    assert "请补充行驶证照片" in _status_page(client, uow, returned)
    flagged = _pending(uow, demo, serial=3, owner_id=resident_id("14110219800101003"))
    uow.session.add_all([
        ApplicationCheck(application_id=flagged, run=1, code="fraud.outside_hours:0", passed=False,
                         explanation_zh="销售时间不在门店营业时间内", explanation_en="fraud.outside_hours"),
        ApplicationCheck(application_id=flagged, run=1, code="rule.price_cap", passed=False,
                         explanation_zh="发票金额超过上限", explanation_en="over the cap")])
    uow.session.flush()
    page = _status_page(client, uow, flagged)
    assert "发票金额超过上限" in page and "销售时间不在门店营业时间内" not in page


def test_the_review_queue_the_timeline_and_the_status_page_show_beijing_time(
    client: FlaskClient, demo: dict[str, int], uow: UnitOfWork
) -> None:
    app_id = _pending(uow, demo)
    app = _app(uow, app_id)
    app.submitted_at = dt.datetime(2026, 12, 2, 21, 36, tzinfo=dt.UTC)  # 05:36 the next morning in Beijing
    uow.session.execute(update(ApplicationEvent).where(ApplicationEvent.application_id == app_id)
                        .values(at=dt.datetime(2026, 12, 2, 21, 37, tzinfo=dt.UTC)))
    uow.session.flush()
    login(client, "auditor.lishi")
    row = re.search(rf'<tr data-id="{app_id}">.*?</tr>', client.get("/review").get_data(as_text=True), re.S)
    assert row is not None and "2026-12-03 05:36" in row.group(0) and "21:36" not in row.group(0)
    detail = client.get(f"/review/{app_id}").get_data(as_text=True)
    assert re.search(r"<th>提交时间</th><td>2026-12-03 05:36</td>", detail)
    history = re.search(r'<ol id="history">.*?</ol>', detail, re.S)
    assert history is not None and "2026-12-03 05:37" in history.group(0) and "21:37" not in history.group(0)
    status = _status_page(client, uow, app_id)
    assert "2026-12-03 05:37" in status and "2026-12-02 21:37" not in status
