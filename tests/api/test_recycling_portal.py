"""The recycler clerk's portal: sites, certificates, intake records and files, transfers and stock per site."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from recycling import intake, issuing, stock
from recycling.models import Intake, IntakeImport, Site, Transfer
from subsidy_app.core.clock import business_date
from subsidy_app.core.uow import UnitOfWork
from tests.helpers import login
from tests.recycling_support import ACTOR, CertificateDraftFactory, IntakeDraftFactory, Network, build_network

CLERK = "recycler.dismantler"
YESTERDAY = (business_date() - dt.timedelta(days=1)).isoformat()
PAGES = ["/recycling/sites", "/recycling/certificates", "/recycling/intakes", "/recycling/imports",
         "/recycling/transfers", "/recycling/stock"]


@pytest.fixture
def network(uow: UnitOfWork, demo: dict[str, int]) -> Network:
    return build_network(uow, demo)


def _record(uow: UnitOfWork, network: Network, **fields: object) -> int:
    draft = IntakeDraftFactory(site_id=network.drop_off, **fields)
    return intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=draft)


def _count(uow: UnitOfWork, model: type) -> int:
    return uow.session.scalar(select(func.count()).select_from(model)) or 0


def _held(uow: UnitOfWork, site_id: int, category: str = "appliance.refrigerator") -> tuple[int, Decimal]:
    uow.session.expire_all()
    quantity = stock.stock_of(uow, site_id=site_id, category=category)
    return quantity.units, quantity.weight_kg


@pytest.mark.parametrize("path", PAGES)
def test_each_portal_page_renders_for_the_clerk_and_is_refused_to_other_roles(
        client: FlaskClient, network: Network, path: str) -> None:
    login(client, CLERK)
    page = client.get(path)
    assert page.status_code == 200 and "回收企业" in page.get_data(as_text=True)
    for other in ("dealer.car", "auditor.lishi"):
        login(client, other)
        assert client.get(path).status_code == 403, other


def test_the_sites_page_shows_each_site_and_whether_the_licence_is_valid_today(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    build_network(uow, demo, licence_to=business_date() - dt.timedelta(days=1))
    login(client, CLERK)
    page = client.get("/recycling/sites").get_data(as_text=True)
    assert "不在有效期内" in page and "T-DISM-" in page
    assert "测试drop_off" in page and "交投点" in page and "离石区" in page and "综合" in page
    assert "T-R-DROP" not in page  # another recycler's site


def test_the_clerk_registers_a_site_and_a_bad_form_names_each_field_and_writes_nothing(
        client: FlaskClient, uow: UnitOfWork, network: Network) -> None:
    csrf = login(client, CLERK)
    form = {"code": "NEW-1", "name": "新建交投点", "level": "drop_off", "kind": "renewable", "county_code": "141102",
            "address": "滨河路1号", "csrf_token": csrf}
    before = _count(uow, Site)
    bad = client.post("/recycling/sites", data={**form, "code": "", "county_code": "999999", "level": "x"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="county_code-error"' in text and 'id="level-error"' in text
    assert "所在区县" in text and _count(uow, Site) == before
    done = client.post("/recycling/sites", data=form)
    assert done.status_code == 302 and done.headers["Location"].endswith("/recycling/sites")
    site = uow.session.scalar(select(Site).where(Site.code == "NEW-1"))
    assert site is not None and site.organisation_id == network.org_id and site.kind == "renewable"
    again = client.post("/recycling/sites", data=form)
    assert again.status_code == 409 and "网点编码已存在" in again.get_data(as_text=True)


def test_the_certificate_list_filters_by_state_date_and_number_or_vin(
        client: FlaskClient, uow: UnitOfWork, network: Network) -> None:
    drafts = [CertificateDraftFactory(site_id=network.sorting) for _ in range(3)]
    ids = [issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id, draft=d) for d in drafts]
    issuing.revoke_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id, certificate_id=ids[0],
                               reason="录入错误")
    login(client, CLERK)
    everything = client.get("/recycling/certificates").get_data(as_text=True)
    assert all(d.number in everything for d in drafts) and "共 3 条" in everything
    assert f'/recycling/certificates/{ids[1]}"' in everything  # each number links to its certificate page
    revoked = client.get("/recycling/certificates?state=revoked").get_data(as_text=True)
    assert drafts[0].number in revoked and drafts[1].number not in revoked and "已作废" in revoked
    by_vin = client.get(f"/recycling/certificates?q={drafts[2].vin[-6:].lower()}").get_data(as_text=True)
    assert drafts[2].number in by_vin and drafts[1].number not in by_vin
    today = business_date().isoformat()
    assert "共 3 条" in client.get(f"/recycling/certificates?issued_from={today}&issued_to={today}").get_data(
        as_text=True)
    tomorrow = (business_date() + dt.timedelta(days=1)).isoformat()
    assert "共 0 条" in client.get(f"/recycling/certificates?issued_from={tomorrow}").get_data(as_text=True)
    bad = client.get("/recycling/certificates?issued_from=2026-13-01&state=nope")
    assert bad.status_code == 422 and 'id="issued_from-error"' in bad.get_data(as_text=True)
    assert 'id="state-error"' in bad.get_data(as_text=True)
    login(client, "recycler.renewable")
    assert "共 0 条" in client.get("/recycling/certificates").get_data(as_text=True)


def test_the_intake_list_pages_filters_by_site_and_date_and_refuses_a_bad_filter(
        client: FlaskClient, uow: UnitOfWork, network: Network) -> None:
    old = _record(uow, network, occurred_on=business_date() - dt.timedelta(days=30))  # newest first: on page 2
    for _ in range(51):
        _record(uow, network)
    login(client, CLERK)
    first = client.get("/recycling/intakes").get_data(as_text=True)
    assert "共 52 条 · 第 1/2 页" in first and 'id="page-next"' in first and first.count('<tr id="intake-') == 50
    second = client.get("/recycling/intakes?page=2").get_data(as_text=True)
    assert second.count('<tr id="intake-') == 2 and 'id="page-prev"' in second and f'id="intake-{old}"' in second
    since = (business_date() - dt.timedelta(days=7)).isoformat()
    recent = client.get(f"/recycling/intakes?date_from={since}&site_id={network.drop_off}").get_data(as_text=True)
    assert "共 51 条" in recent and f'id="intake-{old}"' not in recent
    assert "共 0 条" in client.get(f"/recycling/intakes?site_id={network.sorting}").get_data(as_text=True)
    backwards = client.get(f"/recycling/intakes?date_from={YESTERDAY}&date_to=2020-01-01")
    assert backwards.status_code == 422 and 'id="date_to-error"' in backwards.get_data(as_text=True)
    foreign = client.get(f"/recycling/intakes?site_id={network.other_drop_off}")
    assert foreign.status_code == 422 and 'id="site_id-error"' in foreign.get_data(as_text=True)


def test_the_clerk_reverses_an_intake_with_a_reason_and_its_stock_goes_back(
        client: FlaskClient, uow: UnitOfWork, network: Network) -> None:
    record = _record(uow, network, units=2, weight_kg=Decimal("110"))
    csrf = login(client, CLERK)
    assert f'/recycling/intakes/{record}/reverse"' in client.get("/recycling/intakes").get_data(as_text=True)
    assert "冲销原因" in client.get(f"/recycling/intakes/{record}/reverse").get_data(as_text=True)
    empty = client.post(f"/recycling/intakes/{record}/reverse", data={"reason": " ", "csrf_token": csrf})
    assert empty.status_code == 422 and 'id="reason-error"' in empty.get_data(as_text=True)
    assert _held(uow, network.drop_off) == (2, Decimal("110"))
    done = client.post(f"/recycling/intakes/{record}/reverse", data={"reason": "重复登记", "csrf_token": csrf})
    assert done.status_code == 302 and _held(uow, network.drop_off) == (0, Decimal("0"))
    listed = client.get("/recycling/intakes").get_data(as_text=True)
    assert "已被 #" in listed and f"冲销 #{record}" in listed
    again = client.post(f"/recycling/intakes/{record}/reverse", data={"reason": "再来", "csrf_token": csrf})
    assert again.status_code == 409 and "已被更正" in again.get_data(as_text=True)
    login(client, "recycler.renewable")
    assert client.get(f"/recycling/intakes/{record}/reverse").status_code == 404


def _csv(*rows: str) -> bytes:
    return ("网点编码,来源,品类,数量,重量kg,日期\n" + "\n".join(rows) + "\n").encode()


def test_an_intake_file_runs_as_a_job_and_its_page_shows_each_bad_row(
        client: FlaskClient, uow: UnitOfWork, network: Network) -> None:
    csrf = login(client, CLERK)
    content = _csv(f"T-drop_off,resident,appliance.refrigerator,1,50,{YESTERDAY}",
                   f"T-drop_off,resident,appliance.refrigerator,zwei,50,{YESTERDAY}",
                   f"T-transfer,resident,appliance.washing_machine,1,60,{YESTERDAY}")
    sent = client.post("/recycling/imports", content_type="multipart/form-data", data={
        "mode": "valid_only", "csrf_token": csrf, "file": (io.BytesIO(content), "day.csv")})
    assert sent.status_code == 302, sent.get_data(as_text=True)[:500]
    match = re.search(r"/recycling/imports/(\d+)\?job=(\d+)$", sent.headers["Location"])
    assert match, sent.headers["Location"]
    job = client.get(f"/api/v1/jobs/{match.group(2)}").get_json()
    assert job["state"] == "done" and job["progress"] == {"done": 2, "total": 2}  # the job really ran
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "已写入 2 行，有误 1 行" in page and 'data-line="3"' in page and "数量应为整数" in page
    assert 'value="100"' in page
    assert _held(uow, network.drop_off) == (1, Decimal("50"))
    twice = client.post("/recycling/imports", content_type="multipart/form-data", data={
        "mode": "valid_only", "csrf_token": csrf, "file": (io.BytesIO(content), "again.csv")})
    assert twice.status_code == 409 and "该文件已导入过" in twice.get_data(as_text=True)
    login(client, "recycler.renewable")
    assert client.get(f"/recycling/imports/{match.group(1)}").status_code == 404


def test_a_bad_upload_names_the_file_or_the_mode_and_imports_nothing(
        client: FlaskClient, uow: UnitOfWork, network: Network) -> None:
    csrf = login(client, CLERK)
    missing = client.post("/recycling/imports", content_type="multipart/form-data",
                          data={"mode": "valid_only", "csrf_token": csrf})
    assert missing.status_code == 422 and 'id="file-error"' in missing.get_data(as_text=True)
    headless = client.post("/recycling/imports", content_type="multipart/form-data", data={
        "mode": "valid_only", "csrf_token": csrf, "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")})
    assert headless.status_code == 422 and 'id="file-error"' in headless.get_data(as_text=True)
    odd_mode = client.post("/recycling/imports", content_type="multipart/form-data", data={
        "mode": "some", "csrf_token": csrf, "file": (io.BytesIO(_csv()), "x.csv")})
    assert odd_mode.status_code == 422 and 'id="mode-error"' in odd_mode.get_data(as_text=True)
    assert _count(uow, IntakeImport) == 0


def test_a_transfer_moves_stock_between_the_clerks_sites_and_a_bad_one_is_named(
        client: FlaskClient, uow: UnitOfWork, network: Network) -> None:
    _record(uow, network, units=5, weight_kg=Decimal("250"))
    csrf = login(client, CLERK)
    form = {"from_site_id": str(network.drop_off), "to_site_id": str(network.sorting),
            "category": "appliance.refrigerator", "units": "2", "weight_kg": "100", "occurred_on": YESTERDAY,
            "csrf_token": csrf}
    too_much = client.post("/recycling/transfers", data={**form, "units": "9", "weight_kg": "900"})
    assert too_much.status_code == 409 and 'id="units-error"' in too_much.get_data(as_text=True)
    down = client.post("/recycling/transfers", data={**form, "from_site_id": str(network.sorting),
                                                     "to_site_id": str(network.drop_off)})
    assert down.status_code == 422 and 'id="to_site_id-error"' in down.get_data(as_text=True)
    foreign = client.post("/recycling/transfers", data={**form, "to_site_id": str(network.other_drop_off)})
    assert foreign.status_code == 422 and 'id="to_site_id-error"' in foreign.get_data(as_text=True)
    ahead = client.post("/recycling/transfers", data={**form, "occurred_on": "2099-01-01"})
    assert ahead.status_code == 422 and 'id="occurred_on-error"' in ahead.get_data(as_text=True)
    assert _count(uow, Transfer) == 0
    done = client.post("/recycling/transfers", data=form)
    assert done.status_code == 302
    assert _held(uow, network.drop_off) == (3, Decimal("150")) and _held(uow, network.sorting) == (2, Decimal("100"))
    listed = client.get("/recycling/transfers").get_data(as_text=True)
    assert "测试drop_off（T-drop_off）" in listed and "测试sorting（T-sorting）" in listed and "共 1 条" in listed
    held = client.get("/recycling/stock").get_data(as_text=True)
    assert re.search(r'data-site="T-drop_off" data-category="appliance.refrigerator">.*?>3</td>.*?>150</td>', held,
                     re.S)
    assert re.search(r'data-site="T-sorting" data-category="appliance.refrigerator">.*?>2</td>.*?>100</td>', held,
                     re.S)
    login(client, "recycler.renewable")
    assert "T-drop_off" not in client.get("/recycling/stock").get_data(as_text=True)
    assert "共 0 条" in client.get("/recycling/transfers").get_data(as_text=True)


def test_the_intake_count_includes_a_record_written_through_the_intake_form(
        client: FlaskClient, uow: UnitOfWork, network: Network) -> None:
    csrf = login(client, CLERK)
    posted = client.post("/recycling/intake", data={
        "site_id": str(network.drop_off), "source": "resident", "category": "office.printer", "units": "1",
        "weight_kg": "8.5", "occurred_on": YESTERDAY, "csrf_token": csrf})
    assert posted.status_code == 302
    assert _count(uow, Intake) == 1
    assert "打印机" in client.get("/recycling/intakes").get_data(as_text=True)
