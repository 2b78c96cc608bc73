"""Commands: `flask reverse-invoice file-month|check-suspensions|correct-month`."""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from reverse_invoice import filing, recyclers, reversals
from reverse_invoice.demo import system_principal
from subsidy_app.runtime import Runtime

ri_cli = AppGroup("reverse-invoice", help="反向开票 / reverse invoicing")
CLI_ACTOR = "system:cli"


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["subsidy"]
    return runtime


def _month(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(f"{value}-01") if value else None


@ri_cli.command("file-month")
@click.option("--month", default=None, help="YYYY-MM (default: last month)")
def file_month(month: str | None) -> None:
    """Prepare every recycler's taxes-filed-on-behalf report for a month."""
    with _rt().unit_of_work() as uow:
        with click.progressbar(length=1, label="preparing filings") as bar:
            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            ids = filing.prepare_all_filings(uow, actor=CLI_ACTOR, month=_month(month), progress=progress)
        uow.commit()
    click.echo(f"{len(ids)} filing(s) prepared")


@ri_cli.command("check-suspensions")
def check_suspensions() -> None:
    """Suspend recyclers with overdue filings; reinstate those who paid."""
    with _rt().unit_of_work() as uow:
        counts = recyclers.check_all_suspensions(uow, actor=CLI_ACTOR)
        uow.commit()
    click.echo(f"{counts['suspended']} suspended, {counts['active']} active")


@ri_cli.command("correct-month")
@click.argument("seller_id", type=int)
@click.argument("month")
def correct_month(seller_id: int, month: str) -> None:
    """Red-letter and re-issue a seller's invoices of MONTH (YYYY-MM) whose VAT treatment is wrong."""
    target = _month(month)
    assert target is not None
    with _rt().unit_of_work() as uow:
        done = reversals.correct_month(uow, principal=system_principal(), seller_id=seller_id, month=target)
        uow.commit()
    click.echo(f"{len(done)} invoice(s) corrected")


def register_cli(app: Flask) -> None:
    """Attach the reverse-invoicing commands."""
    app.cli.add_command(ri_cli)
