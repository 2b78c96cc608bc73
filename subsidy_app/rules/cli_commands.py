"""Commands: `flask rules load|list`, `flask budget show`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from subsidy_app.rules import budget_reports, services
from subsidy_app.rules.ruleset import DATA_DIR
from subsidy_app.runtime import Runtime

rules_cli = AppGroup("rules", help="补贴规则版本 / rule versions")
budget_cli = AppGroup("budget", help="预算资金池 / budget pools")


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["subsidy"]
    return runtime


@rules_cli.command("load")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def rules_load(paths: tuple[Path, ...]) -> None:
    """Validate rule files (default: the shipped ones) and publish the new versions."""
    files: list[Path] = []
    for path in paths or (DATA_DIR,):
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    with _rt().unit_of_work() as uow:
        report = services.publish_rule_files(uow, actor="system:cli", paths=files)
        uow.commit()
    for code in report.published:
        click.echo(f"published {code}")
    click.echo(f"{len(report.published)} published, {len(report.unchanged)} already published and unchanged")


@rules_cli.command("list")
def rules_list() -> None:
    """List the published versions."""
    with _rt().unit_of_work() as uow:
        for v in services.published_versions(uow):
            end = v.effective_to or "…"
            click.echo(f"{v.code:<22} {v.programme:<12} {v.effective_from} – {end}  {v.title_zh}")


@budget_cli.command("show")
@click.option("--programme", default=None)
def budget_show(programme: str | None) -> None:
    """Show each pool's allocated, reserved, spent and remaining figures and its burn rate."""
    with _rt().unit_of_work() as uow:
        click.echo(f"{'id':>4} {'programme':<12} {'county':<7} {'allocated':>14} {'reserved':>14} {'spent':>14} "
                   f"{'remaining':>14} {'queued':>6} {'burn/day':>12} {'days left':>9}")
        for pool_id in budget_reports.list_pool_ids(uow, programme=programme):
            f = budget_reports.pool_figures(uow, pool_id=pool_id)
            click.echo(f"{f.id:>4} {f.programme:<12} {f.county_code:<7} {f.allocated:>14} {f.reserved:>14} "
                       f"{f.spent:>14} {f.remaining:>14} {f.queued_count:>6} {f.burn_per_day:>12} "
                       f"{'-' if f.days_left is None else f.days_left:>9}")


def register_cli(app: Flask) -> None:
    """Attach the rules and budget commands."""
    app.cli.add_command(rules_cli)
    app.cli.add_command(budget_cli)
