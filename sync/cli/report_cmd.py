"""``crmsync report …`` (vouchers, collections, aging, credit) and ``crmsync remind``.

Reports go to a file: ``--output`` names a file or a folder (default: ``reports.output``,
``.crmsync/reports``); json and csv can also go to stdout with ``--output -``.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

import click

from sync.cli.common import config_option, run_command, setup_logging
from sync.config import AppConfig, load_config
from sync.dates import PERIOD, now_in_china, parse_date, today_in_china
from sync.errors import ConfigurationError
from sync.tables.files import FORMATS, Format, render, write_report
from sync.tables.model import Lang, Report

__all__ = ["remind", "report"]


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_date(value, field=option)
    except ValueError as exc:
        raise ConfigurationError(str(exc), hint="write the date as YYYY-MM-DD") from None


_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")


def period_range(text: str) -> tuple[dt.date, dt.date]:
    """2026-11 -> Nov 1..30; 2026-Q4 -> Oct 1..Dec 31; 2026 -> the year."""
    match = _PERIOD.match(text.strip())
    if not match:
        raise ConfigurationError(f"--period {text!r} is not a period", hint="use 2026-11, 2026-Q4 or 2026")
    year = int(match.group(1))
    if match.group(2):
        first_month, months = int(match.group(2)), 1
    elif match.group(3):
        first_month, months = (int(match.group(3)) - 1) * 3 + 1, 3
    else:
        first_month, months = 1, 12
    start = dt.date(year, first_month, 1)
    end_month = first_month + months
    end = dt.date(year + (end_month > 12), (end_month - 1) % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


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


def _emit(
    config: AppConfig, report: Report, fmt: Format, lang: Lang, *, output: str | None, default: str
) -> None:
    if output == "-":
        if fmt == "xlsx":
            raise ConfigurationError("xlsx cannot go to stdout", hint="give --output FILE or a folder")
        if fmt == "csv":
            from sync.tables.csvfmt import to_csv

            for number, table in enumerate(report.tables):
                click.echo(("\n" if number else "") + f"# {table.title(lang)}")
                click.echo(to_csv(table, lang), nl=False)
            return
        for content in render(report, fmt, lang).values():
            sys.stdout.buffer.write(content)
        return
    target = Path(output) if output else config.resolve_path(default)
    for path in write_report(report, fmt, lang, target):
        click.echo(f"wrote {path}" + (f"  (open {path.resolve().as_uri()})" if fmt == "html" else ""))


@click.group("report")
def report() -> None:
    """Finance reports: vouchers with control totals, collections (回款), aging, credit exposure."""


@report.command("vouchers")
@config_option
@click.option("--period", help="Accounting period YYYY-MM (default: the period with the most vouchers).")
@_output_options
@run_command
def vouchers_report(
    config_path: str, period: str | None, fmt: Format, lang: Lang | None, output: str | None
) -> None:
    """Every voucher of a period with ERP number, status, lines and source record; control totals
    per day, voucher group and account that tie out to the cent; failures on their own sheet."""
    from sync.reports.inputs import reports_config, voucher_items
    from sync.reports.vouchers import default_period, voucher_report

    setup_logging()
    config = load_config(config_path)
    rc = reports_config(config)
    if period and not PERIOD.match(period):
        raise ConfigurationError(
            f"--period {period!r} is not an accounting period", hint="use YYYY-MM, e.g. 2026-11"
        )
    items, quarantined, problems = voucher_items(config)
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    note = ""
    if not period:
        period = default_period(i for i in items if i.status != "superseded")
        if period:
            note = "默认：凭证最多的期间 / default: the period with the most vouchers"
            click.echo(f"period {period} (the period with the most vouchers; choose with --period)")
        else:
            click.echo("no vouchers in the state store: reporting all periods (empty)")
    built = voucher_report(
        items, quarantined, period=period, link_template=rc.link_template, period_note=note
    )
    _emit(config, built, fmt, lang or rc.language, output=output, default=rc.output)


@report.command("collections")
@config_option
@click.option("--period", help="2026-11, 2026-Q4 or 2026 (default: the current month).")
@click.option("--from", "start", help="First day YYYY-MM-DD (instead of --period).")
@click.option("--to", "end", help="Last day YYYY-MM-DD (instead of --period).")
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
    from sync.reports.collections import Granularity, collection_tables
    from sync.reports.inputs import crm_book, reports_config

    setup_logging()
    config = load_config(config_path)
    rc = reports_config(config)
    first, last = period_range(period or f"{today_in_china():%Y-%m}")
    first = _date(start, "--from") or first
    last = _date(end, "--to") or last
    if last < first:
        raise ConfigurationError(f"--to {last} is before --from {first}")
    book, source, errors = crm_book(config, rc)
    g: Granularity = granularity  # type: ignore[assignment]
    tables = collection_tables(book, first, last, g)
    label = f"{first.isoformat()}_{last.isoformat()}"
    built = Report(
        f"collections-{label}",
        f"回款报表 {first} – {last}",
        f"Collections {first} – {last}",
        (*tables, *_problem_tables(book.problems + errors)),
        now_in_china(),
        (
            ("来源", "Source", source),
            ("期间", "Period", f"{first} – {last}"),
            ("汇总方式", "Grouped by", granularity),
        ),
    )
    _emit(config, built, fmt, lang or rc.language, output=output, default=rc.output)


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
    from sync.reports.aging import aging_table, overdue_table
    from sync.reports.credit import credit_tables, read_limits_csv
    from sync.reports.inputs import crm_book, reports_config

    setup_logging()
    config = load_config(config_path)
    rc = reports_config(config)
    day = _date(as_of, "--as-of") or today_in_china()
    book, source, errors = crm_book(config, rc)
    chosen = basis or rc.aging_basis
    limits = read_limits_csv(config.resolve_path(rc.credit_limits_csv)) if rc.credit_limits_csv else None
    tables = (
        aging_table(book, day, "due" if chosen == "due" else "order"),
        overdue_table(book, day),
        *credit_tables(book, day, limits),
    )
    built = Report(
        f"aging-{day.isoformat()}",
        f"应收账龄 截至 {day}",
        f"Receivables aging as of {day}",
        (*tables, *_problem_tables(book.problems + errors)),
        now_in_china(),
        (("来源", "Source", source), ("截至", "As of", day.isoformat())),
    )
    _emit(config, built, fmt, lang or rc.language, output=output, default=rc.output)


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
    from sync.reports.credit import credit_tables, read_limits_csv
    from sync.reports.inputs import crm_book, reports_config

    setup_logging()
    config = load_config(config_path)
    rc = reports_config(config)
    day = _date(as_of, "--as-of") or today_in_china()
    csv_path = (
        Path(limits)
        if limits
        else (config.resolve_path(rc.credit_limits_csv) if rc.credit_limits_csv else None)
    )
    book, source, errors = crm_book(config, rc)
    every, over = credit_tables(book, day, read_limits_csv(csv_path) if csv_path else None)
    if over.rows:
        click.echo(f"{len(over.rows)} customer(s) over their credit limit", err=True)
    built = Report(
        f"credit-{day.isoformat()}",
        f"信用额度占用 截至 {day}",
        f"Credit exposure as of {day}",
        (every, over, *_problem_tables(book.problems + errors)),
        now_in_china(),
        (
            ("来源", "Source", source),
            ("截至", "As of", day.isoformat()),
            ("额度来源", "Limits from", str(csv_path) if csv_path else (rc.credit_limit_field or "-")),
        ),
    )
    _emit(config, built, fmt, lang or rc.language, output=output, default=rc.output)


def _problem_tables(problems: list[str]) -> tuple[Any, ...]:
    from sync.tables.model import Column, Table

    if not problems:
        return ()
    return (
        Table(
            "problems",
            "未能读取的记录",
            "Records not read",
            (Column("problem", "问题", "Problem"),),
            tuple((p,) for p in problems),
            note_zh="这些记录未计入报表",
            note_en="these records are not in the figures",
        ),
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
    from sync.reports.inputs import crm_book, reminders_log_path, reports_config
    from sync.reports.reminders.config import RemindersConfig
    from sync.reports.reminders.message import build_reminders
    from sync.reports.reminders.run import run_reminders
    from sync.state.reminder_log import SentLog

    setup_logging()
    config = load_config(config_path)
    rc = reports_config(config)
    cfg: RemindersConfig = load_section(
        RemindersConfig, config.reminders, "reminders", config.config_path, tags=("email", "webhook")
    )
    if not cfg.channels and not dry_run:
        raise ConfigurationError(
            f"{config.config_path}: reminders.channels is empty: nowhere to send",
            hint="add an email or webhook channel (see README, section finance)",
        )
    day = _date(as_of, "--as-of") or today_in_china()
    book, _source, errors = crm_book(config, rc)
    for error in errors:
        click.echo(f"warning: {error}", err=True)
    reminders = build_reminders(book, day, min_overdue_days=cfg.min_overdue_days, min_amount=cfg.min_amount)
    click.echo(f"{len(reminders)} customer(s) with overdue orders as of {day}")
    log_path = reminders_log_path(config, cfg.sent_log)
    # a dry run reads the log (to show what would be skipped) but never creates it
    log = SentLog(log_path) if not dry_run or log_path.exists() else None
    try:
        outcomes = run_reminders(reminders, cfg, log, dry_run=dry_run)
    finally:
        if log is not None:
            log.close()
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
        click.echo(f"sent-reminder log: {log_path}")
    if any(o.status == "failed" for o in outcomes):
        sys.exit(1)
