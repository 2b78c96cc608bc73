"""Review deadlines as rule data in the work queue, and the overdue list per reviewer and county (page and API)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.app import create_app
from subsidy_app.applications.models import Application
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import services as rules
from subsidy_app.rules.ruleset import DATA_DIR
from tests.api.test_work_queue import _ids, _pending
from tests.conftest import _settings_dict, make_settings
from tests.helpers import bearer, login

XIAOYI = "141181"


def _age(uow: UnitOfWork, app: Application, days: int, **values: object) -> None:
    uow.session.execute(update(Application).where(Application.id == app.id).values(
        submitted_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days, hours=1), **values))
    uow.commit()


def _publish_correction(uow: UnitOfWork, tmp_path: Path, review: dict[str, object]) -> str:
    """Publish car_scrap-2026 v2 stating its own review limit; return its code."""
    data = yaml.safe_load((DATA_DIR / "car_scrap-2026.yaml").read_text(encoding="utf-8"))
    data.update(code="car_scrap-2026-v2", version=2, review={**review, "source": "本市审核时限通知(测试)"})
    path = tmp_path / "car_scrap-2026-v2.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rules.publish_rule_files(uow, actor="test", paths=[path])
    uow.commit()
    return "car_scrap-2026-v2"


def test_the_queue_holds_an_application_to_its_rule_versions_limit_and_the_operator_override_wins(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork, tmp_path: Path, database_url: str,
        session_factory: sessionmaker[Session]) -> None:
    under_v1, under_v2 = _pending(uow, demo, 1), _pending(uow, demo, 2)
    assert under_v1.version_code == "car_scrap-2026"
    code = _publish_correction(uow, tmp_path, {"days": 3})
    _age(uow, under_v1, 5)
    _age(uow, under_v2, 5, version_code=code)
    login(client, "auditor.lishi")
    # Five days old: within the shipped version's 15 days, past the correction's 3.
    page = client.get("/review?overdue=1&state=all").get_data(as_text=True)
    assert _ids(page) == [under_v2.id]
    assert "已超期(时限 3 天)" in page
    # The operator's REVIEW_DEADLINE_DAYS overrides every version's limit; a programme's own setting wins over it.
    for overrides, late in (({"review_deadline_days": 4}, [under_v1.id, under_v2.id]),
                            ({"review_deadline_days": 4, "review_deadline_by_programme": {"car_scrap": 30}}, []),
                            ({"review_deadline_days": 30}, [])):
        other = create_app({**_settings_dict(make_settings(database_url, **overrides)),
                            "session_factory": session_factory}).test_client()
        login(other, "auditor.lishi")
        assert _ids(other.get("/review?overdue=1&state=all").get_data(as_text=True)) == late, overrides


def test_a_version_in_working_days_skips_weekends(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork, tmp_path: Path) -> None:
    app = _pending(uow, demo, 1)
    code = _publish_correction(uow, tmp_path, {"days": 5, "working_days": True})
    _age(uow, app, 6, version_code=code)  # six calendar days hold four or five working days: never six
    login(client, "auditor.lishi")
    page = client.get("/review?state=all").get_data(as_text=True)
    assert "个工作日" in page and _ids(client.get("/review?overdue=1&state=all").get_data(as_text=True)) == []
    _age(uow, app, 9, version_code=code)  # nine calendar days hold at least six working days
    page = client.get("/review?overdue=1&state=all").get_data(as_text=True)
    assert _ids(page) == [app.id] and "已超期(时限 5 个工作日)" in page


def test_the_rule_page_shows_the_versions_review_limit(client: FlaskClient, demo: dict[str, int],
                                                        uow: UnitOfWork) -> None:
    _pending(uow, demo, 1)
    login(client, "admin")
    page = client.get("/rules/versions/car_scrap-2026").get_data(as_text=True)
    cell = re.search(r'<td id="review-limit">(.*?)</td>', page, re.S)
    assert cell and "提交后 15 天" in cell.group(1) and "待确认" in cell.group(1)
    body = client.get("/api/v1/rule-versions/car_scrap-2026").get_json()
    assert body["content"]["review"]["days"] == 15


def _overdue_world(uow: UnitOfWork, demo: dict[str, int]) -> dict[str, Application]:
    """Four overdue applications (two for 离石's auditor, one unassigned, one of 孝义), one fresh, one decided."""
    apps = {name: _pending(uow, demo, serial) for serial, name in enumerate(
        ("mine_old", "mine", "nobody", "xiaoyi", "fresh", "decided"), start=1)}
    lishi = demo["auditor.lishi"]
    _age(uow, apps["mine_old"], 40, assigned_to=lishi)
    _age(uow, apps["mine"], 20, assigned_to=lishi)
    _age(uow, apps["nobody"], 16)
    _age(uow, apps["xiaoyi"], 25, county_code=XIAOYI)
    _age(uow, apps["fresh"], 2, assigned_to=lishi)
    _age(uow, apps["decided"], 30, state="approved")
    return apps


def test_the_overdue_list_counts_per_reviewer_and_county_with_the_oldest_and_leads_to_the_queue(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    apps = _overdue_world(uow, demo)
    headers = bearer(client, "admin")
    body = client.get("/api/v1/oversight/overdue-reviews", headers=headers).get_json()
    assert body["total"] == 4
    reviewers = {g["key"]: (g["label"], g["count"], g["oldest_age_days"]) for g in body["by_reviewer"]}
    assert reviewers == {str(demo["auditor.lishi"]): ("离石区审核员", 2, 40), None: ("未分派", 2, 25)}
    counties = {g["key"]: (g["label"], g["count"], g["oldest_age_days"]) for g in body["by_county"]}
    assert counties == {"141102": ("离石区", 3, 40), XIAOYI: ("孝义市", 1, 25)}
    assert [g["key"] for g in body["by_county"]] == ["141102", XIAOYI]  # the largest group first
    login(client, "admin")
    page = client.get("/oversight/review-deadlines").get_data(as_text=True)
    assert 'id="overdue-total">共 <strong>4</strong>' in page and "审核超期" in page
    links = dict(re.findall(r'<tr data-key="([^"]+)">.*?<a href="([^"]+)">', page, re.S))
    mine = client.get(links[str(demo["auditor.lishi"])].replace("&amp;", "&")).get_data(as_text=True)
    assert _ids(mine) == [apps["mine_old"].id, apps["mine"].id]
    nobody = client.get(links["none"].replace("&amp;", "&")).get_data(as_text=True)
    assert _ids(nobody) == [apps["xiaoyi"].id, apps["nobody"].id]
    county = client.get(links[XIAOYI].replace("&amp;", "&")).get_data(as_text=True)
    assert _ids(county) == [apps["xiaoyi"].id]


def test_a_county_auditor_sees_only_their_county_and_another_county_is_not_found(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    _overdue_world(uow, demo)
    headers = bearer(client, "auditor.xiaoyi")
    body = client.get("/api/v1/oversight/overdue-reviews", headers=headers).get_json()
    assert body["total"] == 1 and [g["key"] for g in body["by_county"]] == [XIAOYI]
    assert client.get("/api/v1/oversight/overdue-reviews?county=141102", headers=headers).status_code == 404
    assert client.get("/api/v1/oversight/review-times?county=141102", headers=headers).status_code == 404
    login(client, "auditor.xiaoyi")
    assert client.get("/oversight/review-deadlines?county=141102").status_code == 404
    page = client.get("/oversight/review-deadlines").get_data(as_text=True)
    assert "离石区" not in page and "孝义市" in page
    dealer = bearer(client, "dealer.car")
    assert client.get("/api/v1/oversight/overdue-reviews", headers=dealer).status_code == 403
