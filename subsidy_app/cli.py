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
    migrate.upgrade(_rt().settings.database_url, revision, data_key=_rt().settings.data_key)
    click.echo(f"database upgraded to {revision}")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Downgrade the database to REVISION (default: one step)."""
    migrate.downgrade(_rt().settings.database_url, revision, data_key=_rt().settings.data_key)
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
@click.option("--checkpoints", "checkpoint_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="a checkpoint file kept outside the database (AUDIT_CHECKPOINT_FILE, or a log holding its "
                   "lines); the chain must still pass through every checkpoint in it. May be given again.")
def audit_verify(checkpoint_files: tuple[str, ...]) -> None:
    """Walk the audit chain and report the first broken link (exit 1 if broken)."""
    from subsidy_app.audit.services import read_checkpoint_file, verify_chain

    try:
        outside = [point for path in checkpoint_files for point in read_checkpoint_file(path)]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    with _rt().unit_of_work() as uow:
        checked, broken = verify_chain(uow.session, checkpoints=outside)
        uow.commit()  # keep what verification sealed
    if broken is None:
        against = f", through {len(outside)} checkpoint(s) from file" if checkpoint_files else ""
        click.echo(f"audit chain intact: {checked} events{against}")
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


uploads_cli = AppGroup("uploads", help="上传文件 / uploaded files")


@uploads_cli.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="retention in days after the job finished (default: UPLOAD_RETENTION_DAYS)")
def uploads_purge(days: int | None) -> None:
    """Drop uploaded files' bytes kept past the retention period (their rows, hashes and reports stay)."""
    from subsidy_app.retention import purge_expired_uploads

    rt = _rt()
    retention = days or rt.settings.upload_retention_days
    with rt.unit_of_work() as uow:
        purged = purge_expired_uploads(uow, retention_days=retention, actor="cli:uploads-purge")
        uow.commit()
    for name, count in purged.items():
        click.echo(f"{name}: {count} file(s) purged")
    click.echo(f"purged {sum(purged.values())} file(s) finished more than {retention} days ago")


def register_commands(app: Flask) -> None:
    """Attach every command group to the app."""
    from subsidy_app.seed import demo_command, seed_cli

    for group in (db_cli, audit_cli, outbox_cli, seed_cli, uploads_cli):
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
