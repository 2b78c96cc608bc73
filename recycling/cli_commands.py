"""Commands: `recovery rebuild-rollups [--verify]|load-baselines|flag-overdue`, `reports make|list`,
`certificates duplicates`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from recycling import certificates, closed_loop, reports, rollups, stock, targets
from subsidy_app.core.clock import beijing_time
from subsidy_app.core.errors import DomainError
from subsidy_app.runtime import Runtime

recovery_cli = AppGroup("recovery", help="回收量统计 / recovery volumes")
reports_cli = AppGroup("reports", help="旬报与月报 / ten-day and monthly reports")
certificates_cli = AppGroup("certificates", help="报废机动车回收证明 / scrap certificates")
CLI_ACTOR = "system:cli"


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["subsidy"]
    return runtime


@recovery_cli.command("rebuild-rollups")
@click.option("--verify", is_flag=True, help="only recount and report differences (exit 1 if any)")
def rebuild_rollups(verify: bool) -> None:
    """Recount rollups from intake records and used-car transfers; report (and fix) any difference."""
    with _rt().unit_of_work() as uow:
        differences = rollups.verify(uow)
        for (county, category, day), expected, stored in differences[:50]:
            click.echo(f"DIFF {county} {category} {day}: recount={expected} stored={stored}")
        stock_diff = stock.recount_stock(uow) != stock.stored_stock(uow)
        if stock_diff:
            click.echo("DIFF site stock differs from intakes and transfers")
        if verify:
            click.echo(f"{len(differences)} rollup cell(s) differ" if differences else "rollups match a full recount")
            if differences or stock_diff:
                raise SystemExit(1)
            return

        counted = rollups.recount(uow)
        with click.progressbar(length=len(counted), label="rebuilding rollups") as bar:
            written = rollups.rebuild(uow, counted=counted, progress=bar.update)
        uow.commit()
    click.echo(f"rebuilt {written} day cell(s); {len(differences)} differed before")


@recovery_cli.command("load-baselines")
@click.argument("baselines", required=False, type=click.Path(exists=True, path_type=Path))
@click.argument("target_file", required=False, type=click.Path(exists=True, path_type=Path))
def load_baselines(baselines: Path | None, target_file: Path | None) -> None:
    """Load 2023 baselines and target factors (default: the shipped demo files)."""
    with _rt().unit_of_work() as uow:
        if baselines is None:
            counts = targets.load_shipped(uow, actor=CLI_ACTOR)
        else:
            counts = (targets.load_baselines(uow, actor=CLI_ACTOR, content=baselines.read_bytes(),
                                             source=baselines.name),
                      targets.load_targets(uow, actor=CLI_ACTOR, content=target_file.read_bytes(),
                                           source=target_file.name) if target_file else 0)
        uow.commit()
    click.echo(f"loaded {counts[0]} baseline(s), {counts[1]} target(s)")


@recovery_cli.command("flag-overdue")
def flag_overdue() -> None:
    """Flag overdue hand-ins now (the beat job does this daily)."""
    with _rt().unit_of_work() as uow:
        count = closed_loop.flag_overdue(uow, actor=CLI_ACTOR)
        uow.commit()
    click.echo(f"{count} obligation(s) flagged overdue")


@reports_cli.command("make")
@click.option("--period", "periods", multiple=True, required=True,
              help="YYYY-MM-1|2|3 for a ten-day period (1–10, 11–20, 21–end) or YYYY-MM for a month")
@click.option("--replace", is_flag=True, help="rebuild a report that already exists")
def make(periods: tuple[str, ...], replace: bool) -> None:
    """Produce the workbook of any past period(s)."""
    with click.progressbar(periods, label="making reports") as bar:
        for code in bar:
            with _rt().unit_of_work() as uow:
                try:
                    info = reports.make_report(uow, actor=CLI_ACTOR, period_code=code, replace=replace)
                except DomainError as exc:
                    raise click.ClickException(exc.message) from None
                uow.commit()
            click.echo(f"  {info.period}: report #{info.id}, {info.size} bytes")


@reports_cli.command("list")
def list_reports() -> None:
    """List stored reports."""
    with _rt().unit_of_work() as uow:
        for info in reports.list_reports(uow):
            click.echo(f"#{info.id:<5} {info.period:<10} {info.kind:<8} {info.size:>8} bytes  "
                       f"{beijing_time(info.generated_at):%F %T}")


@certificates_cli.command("duplicates")
def duplicates() -> None:
    """List VINs with more than one live certificate, so the bureau can revoke the extra ones (exit 1 if any)."""
    with _rt().unit_of_work() as uow:
        rows = certificates.live_duplicates(uow)
    if not rows:
        click.echo("没有重复的有效回收证明 / no VIN has more than one live certificate")
        return
    click.echo(f"{'VIN':<18} {'id':>8} {'编号 number':<24} {'拆解企业 dismantler':>20} {'状态 state':<8} "
               "出具时间 issued")
    for row in rows:
        click.echo(f"{row.vin:<18} {row.id:>8} {row.number:<24} {row.dismantler_org_id:>20} {row.state:<8} "
                   f"{beijing_time(row.issued_at):%F %T}")
    vins = len({row.vin for row in rows})
    click.echo(f"{vins} 个车架号有多份有效证明，请核对后作废多余的证明（已用于申请的须先追回）/ {vins} VINs have "
               "several live certificates: check them and revoke the extra ones (one used by an application must "
               "be clawed back first)")
    raise SystemExit(1)


def register_cli(app: Flask) -> None:
    """Attach the recovery, reports and certificates commands."""
    app.cli.add_command(recovery_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(certificates_cli)
