"""Bureau and admin pages over API-only services: rule versions, recovery and its workbooks, the audit trail,
accounts and roles; each page's roles, scope, bad input and its one effect."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import Role
from subsidy_app.identity.models import Account
from subsidy_app.rules import services
from subsidy_app.rules.ruleset import DATA_DIR
from subsidy_app.seed import DEMO_PASSWORD
from tests.helpers import csrf_token, login, reason_of

BUREAU_USERS = ["leader.city", "admin", "auditor.lishi", "senior.city", "finance.city"]
CLERKS = ["dealer.car", "recycler.renewable"]
NEW_ACCOUNT = {"organisation_id": "", "username": "auditor.new", "display_name": "新审核员",
               "password": "Long-enough-2026", "roles": "auditor"}


@pytest.fixture
def rules(uow: UnitOfWork) -> None:
    """Publish the shipped rule versions."""
    services.publish_rule_files(uow, actor="t", paths=sorted(DATA_DIR.glob("*.yaml")))
    uow.commit()


def _county_admin(uow: UnitOfWork, demo: dict[str, int]) -> int:
    """An admin of 孝义市's bureau (county scope 141181 only)."""
    account_id = identity.create_account(uow, actor="t", organisation_id=demo["org:bureau:141181"],
                                         username="admin.xiaoyi", display_name="孝义市管理员",
                                         password=DEMO_PASSWORD, roles=[Role.ADMIN])
    uow.commit()
    return account_id


def _events(uow: UnitOfWork, action: str, entity_id: int | str) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.entity_id == str(entity_id))) or 0)


# --- rule versions ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("username", BUREAU_USERS)
def test_bureau_roles_read_the_rule_versions_and_clerks_may_not(client: FlaskClient, demo: dict[str, int],
                                                                 rules: None, username: str) -> None:
    login(client, username)
    page = client.get("/rules")
    assert page.status_code == 200 and "2025年汽车报废更新补贴" in page.get_data(as_text=True)
    assert 'id="link-rules"' in client.get("/staff").get_data(as_text=True)


@pytest.mark.parametrize("username", CLERKS)
def test_clerks_are_refused_the_bureau_pages(client: FlaskClient, demo: dict[str, int], username: str) -> None:
    login(client, username)
    for path in ("/rules", "/rules/versions/car_scrap-2025", "/rules/diff", "/recovery", "/recovery/reports",
                 "/admin/accounts", "/admin/audit"):
        assert client.get(path).status_code == 403, path


def test_a_version_shows_each_clause_with_its_source(client: FlaskClient, demo: dict[str, int], rules: None) -> None:
    login(client, "auditor.lishi")
    page = client.get("/rules/versions/car_scrap-2025").get_data(as_text=True)
    assert "旧车登记在申请人名下的截止日" in page  # the clause in words, not its code
    assert "DOMAIN.md §1 row 2025 owner cutoff" in page  # with its source
    assert client.get("/rules/versions/no-such-version").status_code == 404


def test_the_diff_of_two_versions_lists_what_changed(client: FlaskClient, demo: dict[str, int],
                                                     rules: None) -> None:
    login(client, "leader.city")
    page = client.get("/rules/diff?from_=car_scrap-2024&to=car_scrap-2025")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="changes"' in text and "生效日期" in text and "2025-01-01" in text
    same = client.get("/rules/diff?from_=car_scrap-2025&to=car_scrap-2025").get_data(as_text=True)
    assert 'id="no-changes"' in same


def test_a_diff_naming_an_unknown_version_is_shown_again_with_the_field(client: FlaskClient,
                                                                         demo: dict[str, int], rules: None) -> None:
    login(client, "leader.city")
    page = client.get("/rules/diff?from_=car_scrap-2024&to=bogus")
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'data-field="to"' in text and 'id="changes"' not in text


# --- recovery ----------------------------------------------------------------------------------------------------

BASELINES = b"county_code,indicator,year,value\n141102,vehicles,2023,544\n141181,vehicles,2023,512\n"
TARGETS = b"indicator,baseline_year,target_year,factor\nvehicles,2023,2027,2.00\n"


def test_the_admin_loads_baselines_and_targets_and_sees_progress(client: FlaskClient, uow: UnitOfWork,
                                                                 demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    assert 'id="no-targets"' in client.get("/recovery").get_data(as_text=True)
    for path, content in (("/recovery/baselines", BASELINES), ("/recovery/targets", TARGETS)):
        done = client.post(path, content_type="multipart/form-data",
                           data={"csrf_token": csrf, "file": (io.BytesIO(content), "figures.csv")})
        assert done.status_code == 302, done.get_data(as_text=True)[:400]
    page = client.get("/recovery").get_data(as_text=True)
    assert 'data-indicator="vehicles"' in page and "1056" in page and "孝义市" in page
    assert _events(uow, "recycling.targets_loaded", "figures.csv") == 1


def test_a_county_auditor_sees_only_their_countys_baselines(client: FlaskClient, uow: UnitOfWork,
                                                             demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    client.post("/recovery/baselines", content_type="multipart/form-data",
                data={"csrf_token": csrf, "file": (io.BytesIO(BASELINES), "b.csv")})
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "auditor.lishi")
    page = client.get("/recovery?county_code=141181").get_data(as_text=True)  # not theirs: ignored
    assert "离石区" in page and "孝义市" not in page.split('id="baselines"')[1]
    assert 'id="load"' not in page  # no upload form for them
    assert client.post("/recovery/baselines", data={}).status_code in (400, 403)


def test_a_bad_baseline_file_is_shown_again_naming_the_file_and_nothing_is_loaded(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    bad = b"county_code,indicator,year,value\n999999,vehicles,2023,5\n"
    page = client.post("/recovery/baselines", content_type="multipart/form-data",
                       data={"csrf_token": csrf, "file": (io.BytesIO(bad), "bad.csv")})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'data-field="file"' in text and "区县代码无效" in text
    empty = client.post("/recovery/baselines", content_type="multipart/form-data", data={"csrf_token": csrf})
    assert empty.status_code == 422 and "请选择 CSV 或 XLSX 文件" in empty.get_data(as_text=True)
    assert 'id="no-targets"' in client.get("/recovery").get_data(as_text=True)


def test_generating_a_workbook_runs_the_job_and_offers_the_download(client: FlaskClient, uow: UnitOfWork,
                                                                    demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    started = client.post("/recovery/reports", data={"csrf_token": csrf, "period": "2025-01-1"})
    assert started.status_code == 302 and "/recovery/reports/jobs/" in started.headers["Location"]
    job_page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert 'id="report-ready"' in job_page and 'id="download"' in job_page  # run in-process after the commit
    listing = client.get("/recovery/reports").get_data(as_text=True)
    assert 'data-period="2025-01-1"' in listing
    link = listing.split('data-period="2025-01-1"')[1].split('href="')[1].split('"')[0]
    download = client.get(link)
    assert download.status_code == 200 and download.mimetype.endswith("spreadsheetml.sheet")
    assert load_workbook(io.BytesIO(download.data)).sheetnames


def test_a_bad_period_is_shown_again_and_nothing_is_queued(client: FlaskClient, demo: dict[str, int]) -> None:
    csrf = login(client, "senior.city")
    page = client.post("/recovery/reports", data={"csrf_token": csrf, "period": "2099-13"})
    assert page.status_code == 422 and 'data-field="period"' in page.get_data(as_text=True)
    assert 'data-period=' not in client.get("/recovery/reports").get_data(as_text=True)


def test_only_makers_generate_and_only_the_one_who_started_a_job_follows_it(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    csrf = login(client, "senior.city")
    job_url = client.post("/recovery/reports", data={"csrf_token": csrf, "period": "2025-02"}).headers["Location"]
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "leader.city")
    assert 'id="generate"' not in client.get("/recovery/reports").get_data(as_text=True)
    assert client.post("/recovery/reports", data={"csrf_token": csrf, "period": "2025-02"}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    _county_admin(uow, demo)
    login(client, "admin.xiaoyi")
    assert client.get(job_url).status_code == 404  # neither theirs nor a city-level admin's
    assert client.get("/recovery/reports/jobs/999999").status_code == 404


# --- accounts ----------------------------------------------------------------------------------------------------

def test_the_admin_creates_an_account_through_the_form(client: FlaskClient, uow: UnitOfWork,
                                                       demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    assert client.get("/admin/accounts/new").status_code == 200
    form = {**NEW_ACCOUNT, "organisation_id": str(demo["org:bureau:141102"]), "csrf_token": csrf}
    done = client.post("/admin/accounts/new", data=form)
    assert done.status_code == 302
    account = uow.session.scalar(select(Account).where(Account.username == "auditor.new"))
    assert account is not None and account.roles == "auditor" and account.counties == "141102"
    assert _events(uow, "account.created", account.id) == 1
    listing = client.get(f"/admin/accounts?organisation_id={demo['org:bureau:141102']}&role=auditor")
    assert 'data-username="auditor.new"' in listing.get_data(as_text=True)
    assert 'data-username="admin"' not in listing.get_data(as_text=True)


def test_a_bad_account_form_names_each_field_and_creates_nothing(client: FlaskClient, uow: UnitOfWork,
                                                                 demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    form = {**NEW_ACCOUNT, "organisation_id": str(demo["org:dealer:car"]), "roles": "admin", "csrf_token": csrf}
    page = client.post("/admin/accounts/new", data=form)
    assert page.status_code == 422 and 'data-field="roles"' in page.get_data(as_text=True)
    short = client.post("/admin/accounts/new", data={**form, "roles": "dealer_clerk", "password": "short"})
    assert short.status_code == 422 and 'id="password-error"' in short.get_data(as_text=True)
    blank = client.post("/admin/accounts/new", data={"csrf_token": csrf})
    text = blank.get_data(as_text=True)
    assert blank.status_code == 422 and all(f'id="{f}-error"' in text for f in ("organisation_id", "username",
                                                                                 "display_name", "roles"))
    assert uow.session.scalar(select(Account).where(Account.username == "auditor.new")) is None


def test_disabling_an_account_stops_its_login_and_is_audited(client: FlaskClient, uow: UnitOfWork,
                                                              demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    target = demo["auditor.xiaoyi"]
    assert client.post(f"/admin/accounts/{target}/active", data={"csrf_token": csrf, "active": "0"}).status_code == 302
    assert "已停用" in client.get(f"/admin/accounts/{target}").get_data(as_text=True)
    assert _events(uow, "account.disabled", target) == 1
    other = FlaskClient(client.application)
    refused_login = other.post("/login", data={"username": "auditor.xiaoyi", "password": DEMO_PASSWORD,
                                               "csrf_token": csrf_token(other)})
    assert refused_login.status_code == 401
    client.post(f"/admin/accounts/{target}/active", data={"csrf_token": csrf, "active": "1"})
    assert _events(uow, "account.enabled", target) == 1
    login(other, "auditor.xiaoyi")  # enabled again: the login works
    refused = client.post(f"/admin/accounts/{demo['admin']}/active", data={"csrf_token": csrf, "active": "0"})
    assert refused.status_code == 409 and "不能停用自己的账号" in refused.get_data(as_text=True)


def test_a_password_reset_shows_a_one_time_password_that_logs_in(client: FlaskClient, uow: UnitOfWork,
                                                                 demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    page = client.post(f"/admin/accounts/{demo['auditor.lishi']}/password", data={"csrf_token": csrf})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="temporary-password"' in text
    password = text.split('id="temporary-password">')[1].split("<")[0]
    assert _events(uow, "account.password_reset", demo["auditor.lishi"]) == 1
    assert password not in str(uow.session.scalars(select(AuditEvent.summary)).all())
    assert password not in client.get(f"/admin/accounts/{demo['auditor.lishi']}").get_data(as_text=True)
    # The admin knows the temporary password: it opens only the page where its holder chooses their own.
    other = FlaskClient(client.application)
    landed = other.post("/login", data={"username": "auditor.lishi", "password": password,
                                        "csrf_token": csrf_token(other)})
    assert landed.status_code == 302 and landed.headers["Location"].startswith("/account/password")
    asked = other.get("/review?state=pending_review")
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/account/password?next=/review")
    token = csrf_token(other, "/account/password")
    assert "临时密码" in other.get("/account/password").get_data(as_text=True)
    refused = other.post("/api/v1/tokens", json={"name": "pos"}, headers={"X-CSRFToken": token})
    assert refused.status_code == 403 and reason_of(refused) == "auth.password_change_required"
    bad = other.post("/account/password", data={"csrf_token": token, "current_password": "wrong-one-x",
                                                "new_password": "short", "confirm_password": "short"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="current_password-error"' in text and 'id="new_password-error"' in text
    differ = other.post("/account/password", data={"csrf_token": token, "current_password": password,
                                                   "new_password": "my-own-pass-1", "confirm_password": "my-own-x"})
    assert differ.status_code == 422 and 'id="confirm_password-error"' in differ.get_data(as_text=True)
    assert uow.session.get(Account, demo["auditor.lishi"], populate_existing=True).must_change_password  # type: ignore
    same = other.post("/account/password", data={"csrf_token": token, "current_password": password,
                                                 "new_password": password, "confirm_password": password})
    assert same.status_code == 422 and "不能与当前密码相同" in same.get_data(as_text=True)
    done = other.post("/account/password", data={"csrf_token": token, "current_password": password,
                                                 "new_password": "my-own-pass-1", "confirm_password": "my-own-pass-1",
                                                 "next": "/review?state=pending_review"})
    assert done.status_code == 302 and done.headers["Location"] == "/review?state=pending_review"
    assert other.get("/review?state=pending_review").status_code == 200
    assert _events(uow, "account.password_changed", demo["auditor.lishi"]) == 1
    assert "my-own-pass-1" not in str(uow.session.scalars(select(AuditEvent.summary)).all())
    fresh = FlaskClient(client.application)
    assert fresh.post("/login", data={"username": "auditor.lishi", "password": password,
                                      "csrf_token": csrf_token(fresh)}).status_code == 401
    login(fresh, "auditor.lishi", "my-own-pass-1")


def test_an_account_an_admin_creates_chooses_its_own_password_but_seeded_ones_do_not(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    admin = identity.load_principal(uow, account_id=demo["admin"])
    assert admin is not None
    made = identity.create_account(uow, actor=admin.actor, principal=admin, organisation_id=demo["org:bureau:141181"],
                                   username="new.auditor", display_name="新审核员", password=DEMO_PASSWORD,
                                   roles=[Role.AUDITOR])
    uow.commit()
    assert uow.session.get(Account, made).must_change_password  # type: ignore[union-attr]
    assert not uow.session.get(Account, demo["auditor.lishi"]).must_change_password  # type: ignore[union-attr]
    landed = client.post("/login", data={"username": "new.auditor", "password": DEMO_PASSWORD,
                                         "csrf_token": csrf_token(client)})
    assert landed.headers["Location"].startswith("/account/password")
    # Leaving is allowed; an API token made earlier (by token, not by the session) is not this rule's business.
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/account/password")}).status_code == 302


def test_county_scope_is_assigned_within_the_admins_own(client: FlaskClient, uow: UnitOfWork,
                                                        demo: dict[str, int]) -> None:
    _county_admin(uow, demo)
    csrf = login(client, "admin.xiaoyi")
    target = demo["auditor.xiaoyi"]
    wider = client.post(f"/admin/accounts/{target}/counties", data={"csrf_token": csrf,
                                                                     "counties": ["141181", "141102"]})
    assert wider.status_code == 422 and 'id="counties-error"' in wider.get_data(as_text=True)
    none = client.post(f"/admin/accounts/{target}/counties", data={"csrf_token": csrf})
    assert none.status_code == 422
    assert client.get(f"/admin/accounts/{demo['auditor.lishi']}").status_code == 404  # another county's account
    listing = client.get("/admin/accounts").get_data(as_text=True)
    assert 'data-username="auditor.xiaoyi"' in listing and 'data-username="auditor.lishi"' not in listing
    assert 'data-username="admin"' not in listing  # nor the city's
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "admin")
    done = client.post(f"/admin/accounts/{target}/counties", data={"csrf_token": csrf,
                                                                    "counties": ["141181", "141182"]})
    assert done.status_code == 302
    assert uow.session.get(Account, target, populate_existing=True).counties == "141181,141182"  # type: ignore
    assert _events(uow, "account.scope_changed", target) == 1


# --- audit ---------------------------------------------------------------------------------------------------------

def test_the_audit_trail_filters_by_actor_entity_and_date(client: FlaskClient, uow: UnitOfWork,
                                                          demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    client.post(f"/admin/accounts/{demo['auditor.xiaoyi']}/active", data={"csrf_token": csrf, "active": "0"})
    page = client.get(f"/admin/audit?entity_type=account&entity_id={demo['auditor.xiaoyi']}&actor=admin")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-action="account.disabled"' in text
    assert 'data-action="account.created"' not in text  # created by the seeder, not by admin
    assert 'data-action="account.disabled"' not in client.get("/admin/audit?day_to=2020-01-01").get_data(as_text=True)


def test_a_bad_date_filter_is_named(client: FlaskClient, demo: dict[str, int]) -> None:
    login(client, "admin")
    page = client.get("/admin/audit?day_from=2026-13-40")
    assert page.status_code == 422 and 'id="day_from-error"' in page.get_data(as_text=True)
    reversed_range = client.get("/admin/audit?day_from=2026-02-01&day_to=2026-01-01")
    assert reversed_range.status_code == 422 and 'id="day_to-error"' in reversed_range.get_data(as_text=True)


def test_the_audit_trail_is_for_city_level_admins_only(client: FlaskClient, uow: UnitOfWork,
                                                       demo: dict[str, int]) -> None:
    _county_admin(uow, demo)
    csrf = login(client, "admin.xiaoyi")
    page = client.get("/admin/audit")
    assert page.status_code == 403 and "仅市级管理员可查看" in page.get_data(as_text=True)
    assert client.post("/admin/audit/verify", data={"csrf_token": csrf}).status_code == 403
    assert 'id="link-accounts"' in client.get("/staff").get_data(as_text=True)


def test_verify_chain_reports_the_chain_intact(client: FlaskClient, demo: dict[str, int]) -> None:
    csrf = login(client, "admin")
    started = client.post("/admin/audit/verify", data={"csrf_token": csrf})
    assert started.status_code == 302 and "/admin/audit/verify/" in started.headers["Location"]
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert 'id="chain-result" data-ok="1"' in page  # the job ran after the commit: the chain holds
    assert client.get("/admin/audit/verify/999999").status_code == 404
