"""The bureau's appliance pages: participation approvals and history, the catalogue import, dealer statements."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from subsidy_app.appliances import participation
from subsidy_app.appliances.models import Participation, Product
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from tests.appliance_fixtures import AC, appliance_world, buyer_token, sale_body, sell
from tests.helpers import bearer, login


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


@pytest.fixture
def new_store(uow: UnitOfWork, demo: dict[str, int], world) -> int:
    admin = load_principal(uow, account_id=demo["admin"])
    assert admin is not None
    store = participation.create_store(uow, principal=admin, dealer_org_id=world.dealer_org, name="离石二店",
                                       address="吕梁市离石区龙凤南大街 8 号")
    uow.commit()
    return store.id


def _decisions(uow: UnitOfWork) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(Participation)) or 0)


@pytest.mark.parametrize("path", ["/bureau/participations", "/bureau/catalogue", "/bureau/statements"])
def test_bureau_pages_render_for_reviewers_and_are_refused_to_others(client: FlaskClient, world, path) -> None:
    csrf = login(client, "auditor.lishi")
    assert client.get(path).status_code == 200
    client.post("/logout", data={"csrf_token": csrf})
    for refused in ("dealer.appliance", "finance.city"):
        csrf = login(client, refused)
        assert client.get(path).status_code == 403
        client.post("/logout", data={"csrf_token": csrf})


def test_an_admin_approves_a_store_and_suspends_it_with_a_reason_seen_in_its_history(
        client: FlaskClient, uow, world, new_store) -> None:
    csrf = login(client, "admin")
    page = client.get("/bureau/participations").get_data(as_text=True)
    assert f'value="store:{new_store}"' in page and "离石二店" in page
    done = client.post("/bureau/participations", data={"csrf_token": csrf, "scope": f"store:{new_store}",
                                                       "category": "air_conditioner", "status": "approved"})
    assert done.status_code == 302
    assert participation.approved_categories(uow, store_id=new_store) == ["air_conditioner"]
    no_reason = client.post("/bureau/participations", data={"csrf_token": csrf, "scope": f"store:{new_store}",
                                                            "category": "air_conditioner", "status": "suspended"})
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.get_data(as_text=True)
    assert participation.approved_categories(uow, store_id=new_store) == ["air_conditioner"]  # no write
    client.post("/bureau/participations", data={"csrf_token": csrf, "scope": f"store:{new_store}",
                                                "category": "air_conditioner", "status": "suspended",
                                                "reason": "抽查发现虚开发票"})
    row = uow.session.scalar(select(Participation).where(Participation.scope_key == f"store:{new_store}"))
    assert row is not None
    history = client.get(f"/bureau/participations/{row.id}").get_data(as_text=True)
    assert "抽查发现虚开发票" in history and history.count("<tr>") == 3  # header, approval, suspension
    suspended = client.get("/bureau/participations?status=suspended").get_data(as_text=True)
    assert "离石二店" in suspended


def test_a_bad_decision_names_each_field_and_writes_nothing(client: FlaskClient, uow, world, new_store) -> None:
    csrf = login(client, "admin")
    before = _decisions(uow)
    response = client.post("/bureau/participations", data={"csrf_token": csrf, "scope": "store:x",
                                                           "category": "", "status": "maybe"})
    assert response.status_code == 422 and 'id="scope-error"' in response.get_data(as_text=True)
    assert _decisions(uow) == before


def test_another_countys_dealer_cannot_be_decided_or_read(client: FlaskClient, uow, demo, world) -> None:
    row = uow.session.scalar(select(Participation).where(Participation.dealer_org_id == world.dealer_org))
    assert row is not None
    csrf = login(client, "auditor.xiaoyi")
    assert client.get(f"/bureau/participations/{row.id}").status_code == 404
    response = client.post("/bureau/participations", data={
        "csrf_token": csrf, "scope": f"dealer:{world.dealer_org}", "category": "television", "status": "suspended",
        "reason": "x"})
    assert response.status_code == 422 and "不存在" in response.get_data(as_text=True)
    assert participation.approved_categories(uow, store_id=world.store_id).count("television") == 1


def test_a_catalogue_import_saves_good_rows_and_lists_each_bad_row(client: FlaskClient, uow, world) -> None:
    csrf = login(client, "admin")
    data = ("商品条码,品类,品牌,型号,能效等级,水效等级,参考价\n"
            "6901234567892,refrigerator,海尔,BCD-1,1,,3999.00\n"
            "123,refrigerator,海尔,BCD-2,1,,3999.00\n"
            "6901234567809,television,海信,E8,1,,-1\n").encode()
    response = client.post("/bureau/catalogue", data={"csrf_token": csrf, "file": (io.BytesIO(data), "c.csv")},
                           content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "新增 1 个商品" in body and "2 行有误" in body
    assert "<td>3</td><td>商品条码</td>" in body and "<td>4</td><td>参考价</td>" in body
    assert uow.session.scalar(select(Product.gtin).where(Product.model == "BCD-1")) == "6901234567892"


def test_a_catalogue_upload_without_a_file_is_refused_beside_the_field(client: FlaskClient, world) -> None:
    csrf = login(client, "admin")
    response = client.post("/bureau/catalogue", data={"csrf_token": csrf}, content_type="multipart/form-data")
    assert response.status_code == 422 and 'id="file-error"' in response.get_data(as_text=True)


def test_a_statement_is_listed_and_its_review_page_shows_the_dealer_and_lines(client: FlaskClient, uow, world
                                                                              ) -> None:
    till = bearer(client, "dealer.appliance")
    sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 70), AC, "3999.00", "2025-05-10"))
    made = client.post("/api/v1/appliance-settlements", headers=till, json={
        "dealer_org_id": world.dealer_org, "programme": "appliance", "period_start": "2025-05-01",
        "period_end": "2025-05-31"}).get_json()
    login(client, "auditor.lishi")
    listing = client.get("/bureau/statements?state=pending_review").get_data(as_text=True)
    assert made["number"] in listing and "2025-05-01 至 2025-05-31" in listing and "799.80" in listing
    detail = client.get(f"/review/{made['application_id']}")
    shown = detail.get_data(as_text=True)
    assert detail.status_code == 200 and "离石区家电城有限公司" in shown and "()" not in shown
    assert "2025-05-01 至 2025-05-31" in shown and "1 笔,合计 799.80 元" in shown
    assert made["number"] not in client.get("/bureau/statements?state=paid").get_data(as_text=True)


def test_another_countys_auditor_does_not_see_the_statement(client: FlaskClient, uow, world) -> None:
    till = bearer(client, "dealer.appliance")
    sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 71), AC, "3999.00", "2025-05-10"))
    made = client.post("/api/v1/appliance-settlements", headers=till, json={
        "dealer_org_id": world.dealer_org, "programme": "appliance", "period_start": "2025-05-01",
        "period_end": "2025-05-31"}).get_json()
    login(client, "auditor.xiaoyi")
    listing = client.get("/bureau/statements").get_data(as_text=True)
    assert made["number"] not in listing and "共 0 张" in listing
    assert client.get(f"/review/{made['application_id']}").status_code == 404
