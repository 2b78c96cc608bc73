"""The complaints API and pages: roles, county scope (404), bad input naming the field, idempotent replay, the
staff workbench pages and the resident's mobile form from the status page."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from subsidy_app.applications.views import STATUS_PURPOSE
from subsidy_app.core.qr import sign_token
from subsidy_app.oversight import complaint_pages
from subsidy_app.oversight.complaint_models import ComplaintCase
from tests.conftest import TEST_SECRET_KEY
from tests.helpers import bearer, login

BODY = {"category": "dealer_misconduct", "text": "门店拒绝回收旧机", "county_code": "141102"}


def _count(uow) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(ComplaintCase)) or 0)


def test_a_clerk_records_a_phone_complaint_and_a_replay_writes_it_once(app: Flask, uow, demo) -> None:
    headers = {**bearer(app.test_client(), "auditor.lishi"), "Idempotency-Key": "phone-1"}
    client = app.test_client()
    first = client.post("/api/v1/oversight/cases", json=BODY, headers=headers)
    again = client.post("/api/v1/oversight/cases", json=BODY, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert again.status_code == 201 and again.get_json()["number"] == first.get_json()["number"]
    assert first.get_json()["number"].startswith("TS2026") and first.get_json()["text"] == BODY["text"]
    assert _count(uow) == 1


def test_roles_and_counties_bound_the_cases(app: Flask, uow, demo) -> None:
    lishi = bearer(app.test_client(), "auditor.lishi")
    made = app.test_client().post("/api/v1/oversight/cases", json=BODY, headers={**lishi, "Idempotency-Key": "k2"})
    case_id = made.get_json()["id"]
    dealer = bearer(app.test_client(), "dealer.appliance")
    assert app.test_client().get("/api/v1/oversight/cases", headers=dealer).status_code == 403
    xiaoyi = bearer(app.test_client(), "auditor.xiaoyi")
    assert app.test_client().get(f"/api/v1/oversight/cases/{case_id}", headers=xiaoyi).status_code == 404
    answered = app.test_client().post(f"/api/v1/oversight/cases/{case_id}/answer", json={"reply": "越权"},
                                      headers={**xiaoyi, "Idempotency-Key": "k3"})
    assert answered.status_code == 404
    listed = app.test_client().get("/api/v1/oversight/cases", headers=xiaoyi).get_json()
    assert listed["total"] == 0
    mine = app.test_client().get("/api/v1/oversight/cases?state=open&category=dealer_misconduct",
                                 headers=lishi).get_json()
    assert mine["total"] == 1 and mine["items"][0]["id"] == case_id


def test_bad_input_is_422_naming_each_field(app: Flask, uow, demo) -> None:
    lishi = bearer(app.test_client(), "auditor.lishi")
    bad = app.test_client().post("/api/v1/oversight/cases", json={"category": "nope", "text": " ",
                                                                  "county_code": "141102"},
                                 headers={**lishi, "Idempotency-Key": "k4"})
    body = bad.get_json()
    assert bad.status_code == 422 and set(body["errors"]) == {"category", "text"}
    assert " / " in body["errors"]["text"][0]  # Chinese, then English
    listed = app.test_client().get("/api/v1/oversight/cases?state=sideways", headers=lishi)
    assert listed.status_code == 422 and "state" in str(listed.get_json())
    assert _count(uow) == 0


def test_assign_answer_close_through_the_api(app: Flask, uow, demo) -> None:
    lishi = bearer(app.test_client(), "auditor.lishi")
    client = app.test_client()
    case_id = client.post("/api/v1/oversight/cases", json=BODY, headers={**lishi, "Idempotency-Key": "a1"}
                          ).get_json()["id"]
    taken = client.post(f"/api/v1/oversight/cases/{case_id}/assign", json={},
                        headers={**lishi, "Idempotency-Key": "a2"})
    assert taken.status_code == 200 and taken.get_json()["state"] == "in_progress"
    other = client.post(f"/api/v1/oversight/cases/{case_id}/assign", json={"assignee_id": demo["senior.city"]},
                        headers={**lishi, "Idempotency-Key": "a3"})
    assert other.status_code == 403  # an auditor takes work, only a senior auditor or admin gives it away
    early = client.post(f"/api/v1/oversight/cases/{case_id}/close", headers={**lishi, "Idempotency-Key": "a4"})
    assert early.status_code == 409
    answered = client.post(f"/api/v1/oversight/cases/{case_id}/answer", json={"reply": "已约谈门店"},
                           headers={**lishi, "Idempotency-Key": "a5"})
    assert answered.status_code == 200 and answered.get_json()["reply"] == "已约谈门店"
    closed = client.post(f"/api/v1/oversight/cases/{case_id}/close", headers={**lishi, "Idempotency-Key": "a6"})
    assert closed.status_code == 200 and [s["action"] for s in closed.get_json()["steps"]] == [
        "file", "assign", "answer", "close"]


def test_the_staff_pages_list_show_and_answer_a_case(app: Flask, uow, demo) -> None:
    client = app.test_client()
    csrf = login(client, "auditor.lishi")
    form = client.get("/oversight/cases/phone").get_data(as_text=True)
    assert "登记电话投诉" in form and 'name="form_key"' in form
    bad = client.post("/oversight/cases/phone", data={"csrf_token": csrf, "category": "", "text": ""})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'data-field="category"' in page and 'data-field="text"' in page
    made = client.post("/oversight/cases/phone", data={"csrf_token": csrf, "category": "paid_late",
                                                       "text": "补贴还没到账", "county": "141102"})
    assert made.status_code == 302
    listing = client.get("/oversight/cases?overdue=0").get_data(as_text=True)
    case = uow.session.scalar(select(ComplaintCase))
    assert case.number in listing and "发放延迟" in listing and 'id="pager"' in listing
    shown = client.get(f"/oversight/cases/{case.id}").get_data(as_text=True)
    assert "补贴还没到账" in shown and "投诉与申诉" in shown  # the text unsealed; the breadcrumbs
    answered = client.post(f"/oversight/cases/{case.id}/answer", data={"csrf_token": csrf, "reply": "已核实,本周发放"})
    assert answered.status_code == 302
    assert "已核实,本周发放" in client.get(f"/oversight/cases/{case.id}").get_data(as_text=True)
    other = app.test_client()
    login(other, "auditor.xiaoyi")
    assert other.get(f"/oversight/cases/{case.id}").status_code == 404


def test_the_resident_page_reads_the_status_tokens_applications_sign() -> None:
    assert complaint_pages.STATUS_PURPOSE == STATUS_PURPOSE


def test_a_stranger_sees_no_cases_and_no_form_on_the_resident_page(app: Flask, uow, demo) -> None:
    token = sign_token(TEST_SECRET_KEY, STATUS_PURPOSE, {"c": "0" * 32}, max_age_days=1)
    assert app.test_client().get(f"/m/s/{token}/cases").status_code == 404


def test_the_dashboard_charts_open_and_overdue_cases_per_county_and_category_with_its_table(
        app: Flask, uow, demo) -> None:
    import json
    import re

    from subsidy_app.oversight import complaint_services as cases

    lishi = bearer(app.test_client(), "auditor.lishi")
    for key, category in (("d1", "paid_late"), ("d2", "paid_late"), ("d3", "privacy")):
        app.test_client().post("/api/v1/oversight/cases", json={**BODY, "category": category},
                               headers={**lishi, "Idempotency-Key": key})
    late = uow.session.scalars(select(ComplaintCase).where(ComplaintCase.category == "privacy")).one()
    assert cases.flag_overdue(uow, actor="t", today=late.deadline.replace(year=late.deadline.year + 1)) == 3
    uow.commit()
    client = app.test_client()
    login(client, "leader.city")
    page = client.get("/staff/dashboard").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert found is not None
    chart = json.loads(found.group(1))["complaints"]
    assert chart["x"] == ["离石区 · 发放延迟", "离石区 · 个人信息"]
    assert [s["values"] for s in chart["series"]] == [[2.0, 1.0], [2.0, 1.0]]
    assert 'id="table-complaints"' in page and "投诉与申诉" in page
    other = app.test_client()
    login(other, "auditor.xiaoyi")
    theirs = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>',
                       other.get("/staff/dashboard").get_data(as_text=True), re.S)
    assert theirs is not None and json.loads(theirs.group(1))["complaints"]["x"] == []


def test_a_resident_files_a_complaint_on_the_status_page_sees_it_there_and_withdraws_it(app: Flask, uow, demo) -> None:
    from subsidy_app.messaging.services import list_outbox
    from tests.appliance_fixtures import appliance_world
    from tests.helpers import csrf_token
    from tests.integration.test_complaint_flows import _claim, _person, _sale

    world = appliance_world(uow, demo)
    till = bearer(app.test_client(), "dealer.appliance")
    person_id = _person(uow)
    app_row = _claim(uow, _sale(app, till, world), person_id)
    token = sign_token(TEST_SECRET_KEY, STATUS_PURPOSE, {"c": app_row.status_code}, max_age_days=1)
    stranger = app.test_client().get(f"/m/s/{token}/cases").get_data(as_text=True)
    assert 'id="case-form"' not in stranger and "验证身份" in stranger
    client = app.test_client()
    with client.session_transaction() as session:
        session["resident_person_id"] = person_id
    page = f"/m/s/{token}/cases"
    assert 'id="kind-appeal"' not in client.get(page).get_data(as_text=True)  # nothing refused: no appeal offered
    refused = client.post(page, data={"csrf_token": csrf_token(client, page), "kind": "appeal",
                                      "category": "refused_wrongly", "text": "申诉"})
    assert refused.status_code == 422 and "只有未通过的申请可以申诉" in refused.get_data(as_text=True)
    filed = client.post(page, data={"csrf_token": csrf_token(client, page), "kind": "complaint",
                                    "category": "dealer_misconduct", "text": "店员态度恶劣", "contact": "yes"})
    assert filed.status_code == 302
    case = uow.session.scalar(select(ComplaintCase))
    assert case.number.startswith("TS2026") and case.person_id == person_id and case.contact_ok
    status = client.get(f"/m/s/{token}").get_data(as_text=True)
    assert case.number in status and "已受理" in status
    texts = [m.text for m in list_outbox(uow, limit=10) if m.purpose == "complaint.file"]
    assert texts and case.number in texts[0] and "已受理" in texts[0]
    withdrawn = client.post(f"{page}/{case.id}/withdraw", data={"csrf_token": csrf_token(client, page)})
    assert withdrawn.status_code == 302
    uow.session.expire_all()
    assert uow.session.get(ComplaintCase, case.id).state == "withdrawn"
