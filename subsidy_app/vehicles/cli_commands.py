"""Command: `flask registry import FILE` loads a public-security export and prints the row report."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from subsidy_app.core.errors import DomainError
from subsidy_app.core.tables import read_table
from subsidy_app.runtime import Runtime
from subsidy_app.vehicles import services
from subsidy_app.vehicles.domain import FIELD_LABELS

registry_cli = AppGroup("registry", help="车辆登记信息 / vehicle registry")


@registry_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def registry_import(file: Path) -> None:
    """Import a registry export (CSV in UTF-8 or GBK, or XLSX) and print refused rows."""
    runtime: Runtime = current_app.extensions["subsidy"]
    data = file.read_bytes()
    try:
        total = len(read_table(file.name, data).rows)
        with runtime.unit_of_work() as uow, click.progressbar(length=total, label="importing") as bar:
            report = services.import_records(uow, actor="system:cli", filename=file.name, data=data,
                                             progress=lambda _line: bar.update(1))
            uow.commit()
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"accepted {report.accepted} (created {report.created}, updated {report.updated}, "
               f"unchanged {report.unchanged}), rejected {len(report.rejected)}")
    for error in report.rejected:
        label = FIELD_LABELS.get(error.field, error.field)
        click.echo(f"  line {error.line}: {label} ({error.field}) — {error.message}")
    if report.rejected:
        raise SystemExit(1)


def register_cli(app: Flask) -> None:
    """Attach the registry commands."""
    app.cli.add_command(registry_cli)
