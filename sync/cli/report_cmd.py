"""``crmsync report …`` (vouchers, collections, aging, credit) and ``crmsync remind``.

Reports go to a file: ``--output`` names a file or a folder (default: ``reports.output``,
``.crmsync/reports``); json and csv can also go to stdout with ``--output -``.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sync.cli.common import config_option, run_command, setup_logging
from sync.config import AppConfig, load_config
from sync.dates import parse_date, period_range, today_in_china
from sync.errors import ConfigurationError
from sync.tables.files import FORMATS, Format, stream_report, write_report
from sync.tables.model import Lang, Report

if TYPE_CHECKING:
    from sync.reports.build import BuiltReport

__all__ = ["remind", "report"]


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_date(value, field=option)
    except ValueError as exc:
        raise ConfigurationError(str(exc), hint="write the date as YYYY-MM-DD") from None


def _period_options(func: Any) -> Any:
    """``--period`` and ``--from``/``--to``, read by ``_period_dates``."""
    func = click.option("--to", "end", help="Last day YYYY-MM-DD (instead of --period).")(func)
    func = click.option("--from", "start", help="First day YYYY-MM-DD (instead of --period).")(func)
    return click.option("--period", help="2026-11, 2026-Q4 or 2026 (default: the current month).")(func)


def _period_dates(period: str | None, start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    """``--period`` (default: this month in China), with ``--from``/``--to`` taking precedence."""
    try:
        first, last = period_range(period or f"{today_in_china():%Y-%m}")
    except ValueError as exc:
        raise ConfigurationError(str(exc), hint="use 2026-11, 2026-Q4 or 2026") from None
    return _date(start, "--from") or first, _date(end, "--to") or last


def _output_options(func: Any) -> Any:
    func = click.option(
        "--output",
        "-o",
        "output",
        default=None,
        help="File or folder to write (default: reports.output); '-' = stdout (json, csv).",
    )(func)
    func = click.option(
        "--lang",
        type=click.Choice(["zh", "en"]),
        default=None,
        help="Column titles in Chinese or English (default: reports.language).",
    )(func)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(FORMATS)),
        default="xlsx",
        show_default=True,
        help="Output format.",
    )(func)


def _emit(config: AppConfig, report: Report, fmt: Format, chosen: Lang | None, *, output: str | None) -> None:
    from sync.reports.inputs import reports_config

    rc = reports_config(config)
    lang: Lang = chosen or rc.language
    default = rc.output
    if output == "-":
        if fmt == "xlsx":
            raise ConfigurationError("xlsx cannot go to stdout", hint="give --output FILE or a folder")
        if fmt == "csv":
            from sync.tables.csvfmt import write_csv

            for number, table in enumerate(report.tables):
                click.echo(("\n" if number else "") + f"# {table.title(lang)}")
                sys.stdout.flush()
                write_csv(table, sys.stdout, lang)
            return
        stream_report(report, fmt, lang, sys.stdout.buffer)
        return
    target = Path(output) if output else config.resolve_path(default)
    for path in write_report(report, fmt, lang, target):
        click.echo(f"wrote {path}" + (f"  (open {path.resolve().as_uri()})" if fmt == "html" else ""))


def _run_report(
    config_path: str,
    make: Callable[[AppConfig], BuiltReport],
    fmt: Format,
    lang: Lang | None,
    output: str | None,
) -> None:
    """Build a report, tell what its reader should know beside it, write it.

    Warnings go to stderr; notes (the period chosen, the tie-out) to stdout, or to stderr when
    the report itself goes to stdout (``--output -``), so a script reading it gets the report only.
    """
    setup_logging()
    config = load_config(config_path)
    built = make(config)
    try:
        for problem in built.warnings:
            click.echo(f"warning: {problem}", err=True)
        for note in built.notes:
            click.echo(note, err=output == "-")
        _emit(config, built.report, fmt, lang, output=output)
    finally:
        built.close()


@click.group("report")
def report() -> None:
    """Finance reports: vouchers with control totals, collections (回款), aging, credit exposure,
    statements of account (客户对账单)."""


@report.command("vouchers")
@config_option
@click.option(
    "--period",
    help="Accounting period YYYY-MM, or all (default: the period with the most vouchers).",
)
@_output_options
@run_command
def vouchers_report(
    config_path: str, period: str | None, fmt: Format, lang: Lang | None, output: str | None
) -> None:
    """Every voucher of a period with ERP number, status, lines and source record; control totals
    per day, voucher group and account that tie out to the cent; failures on their own sheet."""
    from sync.reports import build

    _run_report(config_path, lambda config: build.vouchers_report(config, period), fmt, lang, output)


@report.command("collections")
@config_option
@_period_options
@click.option(
    "--by",
    "granularity",
    type=click.Choice(["day", "month", "quarter"]),
    default="month",
    show_default=True,
    help="Group received amounts by day, month or quarter.",
)
@_output_options
@run_command
def collections_report(  # noqa: PLR0917 - click passes options by name
    config_path: str,
    period: str | None,
    start: str | None,
    end: str | None,
    granularity: str,
    fmt: Format,
    lang: Lang | None,
    output: str | None,
) -> None:
    """回款报表: received by customer, payment method, sales owner and order."""
    from sync.reports import build

    first, last = _period_dates(period, start, end)
    _run_report(
        config_path,
        lambda config: build.collections_report(config, first, last, granularity),
        fmt,
        lang,
        output,
    )


@report.command("aging")
@config_option
@click.option("--as-of", "as_of", help="Age receivables as of YYYY-MM-DD (default: today, China time).")
@click.option(
    "--basis",
    type=click.Choice(["order", "due"]),
    default=None,
    help="Days since the order date, or days past due (default: reports.aging_basis).",
)
@_output_options
@run_command
def aging_report(  # noqa: PLR0917 - click passes options by name
    config_path: str, as_of: str | None, basis: str | None, fmt: Format, lang: Lang | None, output: str | None
) -> None:
    """Receivables aging 0–30 / 31–60 / 61–90 / 90+ days, the overdue list per customer, and
    credit exposure (with the customers over their limit)."""
    from sync.reports import build

    day = _date(as_of, "--as-of") or today_in_china()
    _run_report(config_path, lambda config: build.aging_report(config, day, basis), fmt, lang, output)


@report.command("statement")
@config_option
@click.option(
    "--customer", "customers", multiple=True, help="CRM account id or exact name (repeatable; default: all)."
)
@_period_options
@_output_options
@run_command
def statement_report(  # noqa: PLR0917 - click passes options by name
    config_path: str,
    customers: tuple[str, ...],
    period: str | None,
    start: str | None,
    end: str | None,
    fmt: Format,
    lang: Lang | None,
    output: str | None,
) -> None:
    """客户对账单: opening balance, orders, payments, refunds and closing balance per customer."""
    from sync.reports import build

    first, last = _period_dates(period, start, end)
    _run_report(
        config_path, lambda config: build.statement_report(config, customers, first, last), fmt, lang, output
    )


@report.command("credit")
@config_option
@click.option("--as-of", "as_of", help="Exposure as of YYYY-MM-DD (default: today, China time).")
@click.option(
    "--limits",
    type=click.Path(dir_okay=False, exists=True),
    help="CSV of credit limits (default: reports.credit_limits_csv).",
)
@_output_options
@run_command
def credit_report(  # noqa: PLR0917 - click passes options by name
    config_path: str,
    as_of: str | None,
    limits: str | None,
    fmt: Format,
    lang: Lang | None,
    output: str | None,
) -> None:
    """Customer credit exposure against the credit limit, and the customers over it."""
    from sync.reports import build

    day = _date(as_of, "--as-of") or today_in_china()
    _run_report(
        config_path,
        lambda config: build.credit_report(config, day, Path(limits) if limits else None),
        fmt,
        lang,
        output,
    )


@click.command("remind")
@config_option
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and record nothing.")
@click.option("--as-of", "as_of", help="Overdue as of YYYY-MM-DD (default: today, China time).")
@run_command
def remind(config_path: str, dry_run: bool, as_of: str | None) -> None:
    """Send overdue-payment reminders through the channels in `reminders:` (email, webhook).

    The same reminder (same customer, same overdue orders and amounts) is not sent again on a
    channel within `reminders.interval_hours`. Exit code 1 when a channel failed.
    """
    from sync.config.sections import load_section
    from sync.engine.build import open_store
    from sync.reports.inputs import crm_book, reminders_log_path, reports_config
    from sync.reports.reminders.config import RemindersConfig
    from sync.reports.reminders.message import build_reminders
    from sync.reports.reminders.run import run_reminders
    from sync.state.reminder_log import SentReminders

    setup_logging()
    config = load_config(config_path)
    rc = reports_config(config)
    cfg: RemindersConfig = load_section(
        RemindersConfig, config.reminders, "reminders", config.config_path, tags=("email", "webhook", "sms")
    )
    if not cfg.channels and not dry_run:
        raise ConfigurationError(
            f"{config.config_path}: reminders.channels is empty: nowhere to send",
            hint="add an email, webhook or sms channel (see README, section finance)",
        )
    day = _date(as_of, "--as-of") or today_in_china()
    book, _source, errors = crm_book(config, rc)
    for error in errors:
        click.echo(f"warning: {error}", err=True)
    reminders = build_reminders(
        book, day, min_overdue_days=cfg.min_overdue_days, min_amount=cfg.min_amount, levels=cfg.levels
    )
    click.echo(f"{len(reminders)} customer(s) with overdue orders as of {day}")
    store = open_store(config, read_only=dry_run)  # a dry run reads the log, writes nothing
    try:
        log = SentReminders(store)
        if not dry_run:
            moved = log.take_over(reminders_log_path(config, cfg.sent_log))
            if moved:
                click.echo(f"took over {moved} entries of the earlier sent-reminder log into the state store")
        outcomes = run_reminders(reminders, cfg, log, dry_run=dry_run)
    finally:
        store.close()
    for o in outcomes:
        click.echo(
            f"[{o.status}] {o.channel}: {o.reminder.account_name} {o.reminder.total:,.2f} — {o.detail}"
        )
        if dry_run:
            click.echo(f"  subject: {o.subject}")
            click.echo("  " + o.body.rstrip().replace("\n", "\n  "))
    if dry_run:
        if not cfg.channels:
            for r in reminders:
                click.echo(f"  {r.account_name}: {r.total:,.2f} in {len(r.items)} order(s)")
        click.echo("dry run: nothing sent, nothing recorded")
    else:
        click.echo(f"sent-reminder log: the state store ({store.where})")
    if any(o.status == "failed" for o in outcomes):
        sys.exit(1)
