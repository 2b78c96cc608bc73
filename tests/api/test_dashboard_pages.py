"""The dashboard page: who may open it, what scope each role sees, its exports and its bad filters."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from subsidy_app.core.uow import UnitOfWork
from tests.car_fixtures import bank_card, car_world, submit
from tests.helpers import login, reason_of


def _charts(page: str) -> dict[str, dict]:  # type: ignore[type-arg]
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert found
    return json.loads(found.group(1))  # type: ignore[no-any-return]


@pytest.mark.parametrize("username", ["leader.city", "admin", "auditor.lishi", "senior.city", "finance.city"])
def test_the_bureau_roles_open_the_dashboard_and_the_clerks_may_not(
        client: FlaskClient, demo: dict[str, int], username: str) -> None:
    login(client, username)
    page = client.get("/staff/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "以旧换新统计看板" in text and "vendor/echarts-5.6.0/echarts.min.js" in text
    assert 'id="link-dashboard"' in client.get("/staff").get_data(as_text=True)


@pytest.mark.parametrize("username", ["dealer.car", "recycler.renewable"])
def test_clerks_are_refused_the_dashboard_and_its_exports(client: FlaskClient, demo: dict[str, int],
                                                          username: str) -> None:
    login(client, username)
    assert client.get("/staff/dashboard").status_code == 403
    assert client.get("/staff/dashboard/trend.csv").status_code == 403
    assert 'id="link-dashboard"' not in client.get("/staff").get_data(as_text=True)


def test_a_logged_out_visit_goes_to_the_login(client: FlaskClient, demo: dict[str, int]) -> None:
    response = client.get("/staff/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_the_page_draws_the_table_it_shows_and_exports_the_same_figures(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = car_world(uow, demo, serial=61)
    submit(uow, world, card=bank_card(861))
    login(client, "leader.city")
    page = client.get("/staff/dashboard").get_data(as_text=True)
    charts = _charts(page)
    assert charts["trend"]["series"][0]["name"] == "提交(件)" and charts["trend"]["series"][0]["values"] == [1.0]
    assert charts["counties"]["x"] == ["离石区"]
    assert 'id="table-trend"' in page and "下载" in page

    exported = client.get("/staff/dashboard/trend.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["日期", "提交(件)"] and len(rows) == 2 and rows[1][1] == "1"
    assert rows[1][1:] == [str(v) for v in [1, 0, 0]] + ["0.00", "0.00"]

    book = load_workbook(io.BytesIO(client.get("/staff/dashboard/counties.xlsx").data))
    sheet = book.active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "县(市、区)" and values[1][:2] == ["离石区", 1] and values[-1][0] == "合计"


def test_a_county_auditor_sees_only_their_county_and_cannot_ask_for_another(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    submit(uow, car_world(uow, demo, serial=62), card=bank_card(862))  # a Lishi application
    login(client, "auditor.xiaoyi")
    page = client.get("/staff/dashboard").get_data(as_text=True)
    assert _charts(page)["trend"]["x"] == [] and "孝义市" in page and 'id="county"' not in page
    refused = client.get("/staff/dashboard?county=141102")
    assert refused.status_code == 422 and "不在您的管辖范围" in refused.get_data(as_text=True)
    assert client.get("/staff/dashboard/trend.csv?county=141102").status_code == 422


@pytest.mark.parametrize(("query", "field", "words"), [
    ("date_from=2026-13-01", "date_from", "开始日期格式应为 YYYY-MM-DD"),
    ("date_to=yesterday", "date_to", "结束日期格式应为 YYYY-MM-DD"),
    ("date_from=2026-06-02&date_to=2026-06-01", "date_from", "开始日期不能晚于结束日期"),
    ("date_from=2020-01-01&date_to=2026-06-01", "date_from", "日期范围最长两年"),
])
def test_a_bad_filter_is_named_on_the_page_never_a_500(client: FlaskClient, demo: dict[str, int], query: str,
                                                       field: str, words: str) -> None:
    login(client, "leader.city")
    page = client.get(f"/staff/dashboard?{query}")
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert words in text and f'id="{field}-error"' in text
    export = client.get(f"/staff/dashboard/trend.csv?{query}")
    assert export.status_code == 422 and reason_of(export)


def test_an_unknown_panel_is_a_404(client: FlaskClient, demo: dict[str, int]) -> None:
    login(client, "leader.city")
    assert client.get("/staff/dashboard/nothing.csv").status_code == 404
