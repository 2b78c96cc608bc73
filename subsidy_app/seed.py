"""Demo data: counties, bureaus, dealers, recyclers and one account per role (idempotent)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from subsidy_app.core.identifiers import credit_code_check_char
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import COUNTIES, ROLE_LABELS_ZH, OrgKind, Role
from subsidy_app.identity.models import Account, Organisation
from subsidy_app.runtime import Runtime

DEMO_PASSWORD = "Demo-2026-lvliang"  # noqa: S105 - printed for newcomers; production has no demo data
SEED_ACTOR = "system:seed"


def demo_credit_code(serial: int, kind_digit: str = "9") -> str:
    """Build a valid unified social credit code for demo organisations."""
    body = f"{kind_digit}1141100MA{serial:07d}"[:17]
    return body + credit_code_check_char(body)


# (username, display name, organisation key, roles, all counties)
DEMO_ACCOUNTS: list[tuple[str, str, str, list[Role], bool]] = [
    ("admin", "系统管理员", "city_bureau", [Role.ADMIN], True),
    ("auditor.lishi", "离石区审核员", "bureau:141102", [Role.AUDITOR], False),
    ("auditor.xiaoyi", "孝义市审核员", "bureau:141181", [Role.AUDITOR], False),
    ("senior.city", "市商务局复核员", "city_bureau", [Role.SENIOR_AUDITOR], True),
    ("finance.city", "市财政局财务", "finance", [Role.FINANCE_OFFICER], True),
    ("leader.city", "市商务局分管领导", "city_bureau", [Role.BUREAU_LEADER], True),
    ("dealer.car", "吕梁汽贸业务员", "dealer:car", [Role.DEALER_CLERK], False),
    ("dealer.appliance", "离石家电卖场收银", "dealer:appliance", [Role.DEALER_CLERK], False),
    ("dealer.xiaoyi", "孝义电器业务员", "dealer:xiaoyi", [Role.DEALER_CLERK], False),
    ("recycler.dismantler", "报废车拆解企业业务员", "recycler:dismantler", [Role.RECYCLER_CLERK], False),
    ("recycler.renewable", "再生资源回收站业务员", "recycler:renewable", [Role.RECYCLER_CLERK], False),
]

# organisation key -> (kind, name, county, city level)
DEMO_ORGS: dict[str, tuple[OrgKind, str, str, bool]] = {
    "city_bureau": (OrgKind.BUREAU, "吕梁市商务局", "141102", True),
    "finance": (OrgKind.FINANCE, "吕梁市财政局", "141102", True),
    "dealer:car": (OrgKind.DEALER, "吕梁市汽车贸易有限公司", "141102", False),
    "dealer:appliance": (OrgKind.DEALER, "离石区家电城有限公司", "141102", False),
    "dealer:xiaoyi": (OrgKind.DEALER, "孝义市电器商行有限公司", "141181", False),
    "recycler:dismantler": (OrgKind.RECYCLER, "吕梁市报废机动车回收拆解有限公司", "141102", False),
    "recycler:renewable": (OrgKind.RECYCLER, "汾阳市再生资源回收有限公司", "141182", False),
}


def _org_id(uow: UnitOfWork, key: str, serial: int) -> int:
    if key.startswith("bureau:"):
        county = key.split(":")[1]
        kind, name, city_level = OrgKind.BUREAU, f"{COUNTIES[county]}商务局", False
    else:
        kind, name, county, city_level = DEMO_ORGS[key]
    code = demo_credit_code(serial)
    existing = uow.session.scalar(select(Organisation.id).where(Organisation.credit_code == code))
    if existing is not None:
        return existing
    return identity.register_organisation(uow, actor=SEED_ACTOR, kind=kind, name=name, credit_code=code,
                                          county_code=county, city_level=city_level).id


def seed_demo(uow: UnitOfWork) -> dict[str, int]:
    """Create the demo organisations and accounts that don't exist yet; return their ids."""
    identity.ensure_counties(uow)
    uow.flush()
    keys = list(DEMO_ORGS) + [f"bureau:{code}" for code in COUNTIES]
    org_ids = {key: _org_id(uow, key, serial) for serial, key in enumerate(keys, start=1)}
    accounts: dict[str, int] = {}
    for username, display, org_key, roles, all_counties in DEMO_ACCOUNTS:
        existing = uow.session.scalar(select(Account.id).where(Account.username == username))
        accounts[username] = existing or identity.create_account(
            uow, actor=SEED_ACTOR, organisation_id=org_ids[org_key], username=username, display_name=display,
            password=DEMO_PASSWORD, roles=roles, all_counties=all_counties,
        )
    uow.commit()
    return {**{f"org:{k}": v for k, v in org_ids.items()}, **accounts}


seed_cli = AppGroup("seed", help="演示数据 / demo data")


@seed_cli.command("demo")
def seed_demo_command() -> None:
    """Create the demo data (safe to run again)."""
    runtime: Runtime = current_app.extensions["subsidy"]
    with runtime.unit_of_work() as uow:
        ids = seed_demo(uow)
    click.echo(f"demo data ready: {sum(1 for k in ids if k.startswith('org:'))} organisations, "
               f"{len(DEMO_ACCOUNTS)} accounts")
    print_demo_logins()


def print_demo_logins() -> None:
    """Print the demo accounts and their password."""
    click.echo("")
    click.echo(f"演示账号 demo logins(密码均为 password for all: {DEMO_PASSWORD}):")
    for username, display, _org, roles, _all in DEMO_ACCOUNTS:
        click.echo(f"  {username:<22} {display}({'、'.join(ROLE_LABELS_ZH[r] for r in roles)})")


# What a newcomer can do at once with the demo data, printed after the logins: (rank, lines for a base URL).
DEMO_NOTES: list[tuple[int, Callable[[Runtime, str], list[str]]]] = []


def demo_note(rank: int) -> Callable[[Callable[[Runtime, str], list[str]]], Callable[[Runtime, str], list[str]]]:
    """Register a block `lvliang demo` prints after the logins (lower rank first)."""

    def register(note: Callable[[Runtime, str], list[str]]) -> Callable[[Runtime, str], list[str]]:
        DEMO_NOTES.append((rank, note))
        return note

    return register


def print_demo_notes(runtime: Runtime, base_url: str) -> None:
    """Print every package's ready-to-use demo walk-through."""
    for _rank, note in sorted(DEMO_NOTES, key=lambda item: item[0]):
        click.echo("")
        for line in note(runtime, base_url):
            click.echo(line)


DEMO_STEPS: list[tuple[str, Callable[[Runtime], str]]] = []


def demo_step(label: str) -> Callable[[Callable[[Runtime], str]], Callable[[Runtime], str]]:
    """Register a step of `lvliang demo` (packages add their demo data here)."""

    def register(step: Callable[[Runtime], str]) -> Callable[[Runtime], str]:
        DEMO_STEPS.append((label, step))
        return step

    return register


@seed_cli.command("all")
def seed_all_command() -> None:
    """Migrate, then create every package's demo data (safe to run again)."""
    runtime: Runtime = current_app.extensions["subsidy"]
    _prepare(runtime)


def _already_done(_runtime: Runtime) -> str:
    return "ok"


def _step_label(step: tuple[str, Callable[[Runtime], str]] | None) -> str:
    return step[0] if step else ""


def _prepare(runtime: Runtime) -> None:
    from subsidy_app import migrate

    migrate.upgrade(runtime.settings.database_url, data_key=runtime.settings.data_key)
    with runtime.unit_of_work() as uow:
        seed_demo(uow)
    steps: list[tuple[str, Callable[[Runtime], str]]] = [("organisations and accounts", _already_done), *DEMO_STEPS]
    with click.progressbar(steps, label="demo data", item_show_func=_step_label) as bar:
        for _label, step in bar:
            step(runtime)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="prepare the data and exit")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Prepare the embedded database with demo data and serve the platform."""
    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    runtime: Runtime = app.extensions["subsidy"]
    # QR codes must point at where this demo listens; on every interface only PUBLIC_BASE_URL can say which address
    # a phone reaches.
    every_interface = host in ("0.0.0.0", "::")  # noqa: S104 - comparing, not binding
    if "PUBLIC_BASE_URL" not in os.environ and not every_interface:
        runtime.settings = dataclasses.replace(runtime.settings, public_base_url=f"http://{host}:{port}")
    _prepare(runtime)
    # Where this machine's browser opens the demo: a wildcard address is something to listen on, not to open.
    base = f"http://{'127.0.0.1' if every_interface else host}:{port}"
    click.echo("")
    click.echo(f"平台已就绪 / platform ready: 用浏览器打开 open {base}/")
    click.echo(f"  工作人员登录 staff login:  {base}/login")
    click.echo(f"  接口文档 API docs:         {base}/api/docs")
    click.echo(f"  二维码地址 QR codes:       {runtime.settings.public_base_url}/m/…(PUBLIC_BASE_URL)")
    click.echo(f"  数据库 database:           {runtime.settings.database_url}")
    jobs = "本进程内 in-process" if runtime.settings.jobs_in_process else "Celery"
    click.echo(f"  后台任务 jobs:             {jobs}")
    print_demo_logins()
    print_demo_notes(runtime, base)
    if not no_serve:
        from werkzeug.serving import run_simple

        # The demo serves with Werkzeug; production runs gunicorn (see README).
        run_simple(host, port, app, threaded=True)
