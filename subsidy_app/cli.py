"""Flask commands: database migrations, demo data, audit verification, the outbox relay."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from subsidy_app import migrate
from subsidy_app.core.jobs import pending_message_ids, relay_pending, run_outbox_message
from subsidy_app.runtime import Runtime


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["subsidy"]
    return runtime


db_cli = AppGroup("db", help="数据库迁移 / database migrations (Alembic)")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: head)."""
    migrate.upgrade(_rt().settings.database_url, revision)
    click.echo(f"database upgraded to {revision}")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Downgrade the database to REVISION (default: one step)."""
    migrate.downgrade(_rt().settings.database_url, revision)
    click.echo(f"database downgraded to {revision}")


@db_cli.command("heads")
def db_heads() -> None:
    """Print the migration heads."""
    for head in migrate.heads():
        click.echo(head)


audit_cli = AppGroup("audit", help="审计日志 / audit trail")


@audit_cli.command("seal")
def audit_seal() -> None:
    """Chain every committed but unsealed audit event now (the worker does this every few seconds)."""
    from subsidy_app.audit.services import seal_all

    with _rt().unit_of_work() as uow:
        sealed = seal_all(uow.session)
        uow.commit()
    click.echo(f"sealed {sealed} audit events")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the audit chain and report the first broken link (exit 1 if broken)."""
    from subsidy_app.audit.services import verify_chain

    with _rt().unit_of_work() as uow:
        checked, broken = verify_chain(uow.session)
        uow.commit()  # keep what verification sealed
    if broken is None:
        click.echo(f"audit chain intact: {checked} events")
        return
    click.echo(f"audit chain BROKEN at event #{broken.seq}: {broken.problem} ({checked} events intact before it)")
    raise SystemExit(1)


outbox_cli = AppGroup("outbox", help="后台任务发件箱 / job outbox")


@outbox_cli.command("relay")
@click.option("--loop", is_flag=True, help="keep relaying every --interval seconds")
@click.option("--interval", type=float, default=None, help="seconds between passes [default: OUTBOX_RELAY_SECONDS]")
def outbox_relay(loop: bool, interval: float | None) -> None:
    """Send jobs the broker has not accepted yet (after an outage), lost, or whose worker died (stalled)."""
    rt = _rt()
    while True:
        sent = relay_pending(rt.session_factory, rt.dispatcher, timing=rt.job_timing)
        click.echo(f"relayed {sent} job(s)")
        if not loop:
            return
        time.sleep(interval or rt.settings.outbox_relay_seconds)


@outbox_cli.command("run")
def outbox_run() -> None:
    """Run every pending job in this process (useful without a broker)."""
    rt = _rt()
    timing = replace(rt.job_timing, redeliver_after=dt.timedelta(0))
    ids = pending_message_ids(rt.session_factory, timing=timing)
    with click.progressbar(ids, label="running jobs") as bar:
        for message_id in bar:
            run_outbox_message(rt.session_factory, rt.dispatcher, message_id, rt.cipher, rt.job_timing)


def register_commands(app: Flask) -> None:
    """Attach every command group to the app."""
    from subsidy_app.seed import demo_command, seed_cli

    for group in (db_cli, audit_cli, outbox_cli, seed_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)
    from subsidy_app.rules.cli_commands import register_cli as register_rules_cli

    register_rules_cli(app)
    from subsidy_app.vehicles.cli_commands import register_cli as register_registry_cli

    register_registry_cli(app)
    from recycling.cli_commands import register_cli as register_recycling_cli

    register_recycling_cli(app)
    from reverse_invoice.cli_commands import register_cli as register_reverse_invoice_cli

    register_reverse_invoice_cli(app)


def main() -> None:
    """Console entry point `lvliang` (a flask CLI with the app preselected)."""
    from subsidy_app.app import create_app

    FlaskGroup(create_app=lambda: create_app())(prog_name="lvliang")
