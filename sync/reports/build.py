"""Each finance report built from the config: read its inputs, run its builders, title it.

The CLI only parses options and writes the result; a web console or a scheduled export
builds the same reports through these functions, so the figures never depend on who asks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

from sync.config import AppConfig
from sync.crm import CrmBook
from sync.dates import PERIOD, now_in_china
from sync.errors import ConfigurationError
from sync.reports.config import ReportsConfig
from sync.reports.inputs import crm_book, open_outbox, reports_config
from sync.tables.model import Column, Report, Table

__all__ = [
    "BuiltReport",
    "aging_report",
    "collections_report",
    "credit_report",
    "statement_report",
    "vouchers_report",
]


@dataclass(frozen=True, slots=True)
class BuiltReport:
    """A report and what its reader should be told beside it (warnings, the period chosen)."""

    report: Report
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: releases what the report still reads while it is written (the voucher report's state store)
    closing: Callable[[], None] | None = None

    def close(self) -> None:
        if self.closing is not None:
            self.closing()

    def __enter__(self) -> BuiltReport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


#: ``--period all``: every period at once, each record's current amount against its net posted amount
ALL = "all"


def vouchers_report(config: AppConfig, period: str | None) -> BuiltReport:
    """The voucher report of ``period`` (default: the period with the most vouchers).

    Its voucher lines are read from the state store as the report is written: use the result
    as a context manager (or close it) once it is written.
    """
    from sync.reports.vouchers import outbox_report, read_outbox

    rc = reports_config(config)
    if period and period != ALL and not PERIOD.match(period):
        raise ConfigurationError(
            f"--period {period!r} is not an accounting period",
            hint="use YYYY-MM (e.g. 2026-11), or all: every period, each record against its net posting",
        )
    outbox, quarantined = open_outbox(config)
    try:
        read = read_outbox(outbox)
        notes: list[str] = []
        period_note = ""
        if period == ALL:
            period = None
        elif not period:
            period = read.default_period()
            if period:
                period_note = "默认：凭证最多的期间 / default: the period with the most vouchers"
                notes.append(f"period {period} (the period with the most vouchers; choose with --period)")
            else:
                notes.append("no vouchers in the state store: reporting all periods (empty)")
        report = outbox_report(
            outbox, read, quarantined, period=period, link_template=rc.link_template, period_note=period_note
        )
    except BaseException:
        outbox.close()
        raise
    return BuiltReport(report, notes, outbox.problems, closing=outbox.close)


def collections_report(config: AppConfig, first: dt.date, last: dt.date, granularity: str) -> BuiltReport:
    """回款报表 from ``first`` to ``last``: received by customer, method, owner and order."""
    from sync.reports.collections import Granularity, collection_tables

    if last < first:
        raise ConfigurationError(f"--to {last} is before --from {first}")
    book, source, errors = crm_book(config, reports_config(config))
    g: Granularity = granularity  # type: ignore[assignment]
    report = Report(
        f"collections-{first.isoformat()}_{last.isoformat()}",
        f"回款报表 {first} – {last}",
        f"Collections {first} – {last}",
        (*collection_tables(book, first, last, g), *problem_tables(book.problems + errors)),
        now_in_china(),
        (
            ("来源", "Source", source),
            ("期间", "Period", f"{first} – {last}"),
            ("汇总方式", "Grouped by", granularity),
        ),
    )
    return BuiltReport(report)


def aging_report(config: AppConfig, day: dt.date, basis: str | None) -> BuiltReport:
    """Receivables aging as of ``day``, the overdue list and credit exposure."""
    from sync.reports.aging import aging_table, overdue_table
    from sync.reports.credit import credit_tables, read_limits_csv, unmatched_limits

    rc = reports_config(config)
    book, source, errors = crm_book(config, rc)
    chosen = basis or rc.aging_basis
    limits = read_limits_csv(config.resolve_path(rc.credit_limits_csv)) if rc.credit_limits_csv else None
    basis_name: Literal["order", "due"] = "due" if chosen == "due" else "order"
    tie, tie_notes = tie_out(config, rc, book, day, basis_name)
    tables = (
        aging_table(book, day, basis_name),
        overdue_table(book, day),
        *credit_tables(book, day, limits),
        *tie,
    )
    report = Report(
        f"aging-{day.isoformat()}",
        f"应收账龄 截至 {day}",
        f"Receivables aging as of {day}",
        (*tables, *problem_tables(book.problems + errors + unmatched_limits(book, limits))),
        now_in_china(),
        (("来源", "Source", source), ("截至", "As of", day.isoformat())),
    )
    return BuiltReport(report, notes=tie_notes, warnings=unmatched_limits(book, limits))


def tie_out(
    config: AppConfig, rc: ReportsConfig, book: CrmBook, day: dt.date, basis: Literal["order", "due"]
) -> tuple[tuple[Table, ...], list[str]]:
    """The aging tied to the books (sync.reports.tieout), or a note saying why it cannot be."""
    from sync.engine.build import load_mappings, open_store
    from sync.errors import StateError
    from sync.reports.aging import aging_rows
    from sync.reports.receivables import receivables
    from sync.reports.tieout import books_receivable, tie_out_table

    try:
        store = open_store(config, read_only=True)
    except StateError as exc:
        return (), [f"no tie-out to the books: {exc.message}"]
    try:
        books = books_receivable(store.outbox_pages(), rc.receivable_account, rc.customer_dimension, day)
        quarantined = store.open_quarantine()
    finally:
        store.close()
    code_of: dict[str, str] = {}
    for mapping in load_mappings(config).mappings:
        lookup = mapping.lookups.get(rc.customer_lookup)
        if lookup is not None:
            code_of.update(lookup.table)
    rows = aging_rows(receivables(book, day), book, basis)
    table = tie_out_table(
        rows, books, code_of=code_of, quarantined=quarantined, as_of=day, account=rc.receivable_account
    )
    differing = [r for r in table.records() if r["difference"]]
    notes = (
        [f"tie-out: {len(differing)} customer(s) differ from the books (sheet 应收对账 / tie_out)"]
        if differing
        else []
    )
    return (table,), notes


def statement_report(
    config: AppConfig, customers: tuple[str, ...], first: dt.date, last: dt.date
) -> BuiltReport:
    """客户对账单 from ``first`` to ``last`` for the customers named (all with activity when none)."""
    from sync.reports.statement import resolve_customers, statement_tables

    if last < first:
        raise ConfigurationError(f"--to {last} is before --from {first}", hint="swap the dates")
    rc = reports_config(config)
    book, source, errors = crm_book(config, rc)
    tables = statement_tables(book, resolve_customers(book, customers), first, last)
    report = Report(
        f"statement-{first.isoformat()}_{last.isoformat()}",
        f"客户对账单 {first} – {last}",
        f"Statements of account {first} – {last}",
        (*tables, *problem_tables(book.problems + errors)),
        now_in_china(),
        (("来源", "Source", source), ("期间", "Period", f"{first} – {last}")),
    )
    return BuiltReport(report)


def credit_report(config: AppConfig, day: dt.date, limits: Path | None) -> BuiltReport:
    """Credit exposure as of ``day`` against the limits (``limits`` CSV, else reports.credit_limits_csv)."""
    from sync.reports.credit import credit_tables, read_limits_csv, unmatched_limits

    rc = reports_config(config)
    csv_path = limits or (config.resolve_path(rc.credit_limits_csv) if rc.credit_limits_csv else None)
    book, source, errors = crm_book(config, rc)
    table = read_limits_csv(csv_path) if csv_path else None
    every, over = credit_tables(book, day, table)
    unknown = unmatched_limits(book, table)
    report = Report(
        f"credit-{day.isoformat()}",
        f"信用额度占用 截至 {day}",
        f"Credit exposure as of {day}",
        (every, over, *problem_tables(book.problems + errors + unknown)),
        now_in_china(),
        (
            ("来源", "Source", source),
            ("截至", "As of", day.isoformat()),
            ("额度来源", "Limits from", str(csv_path) if csv_path else (rc.credit_limit_field or "-")),
        ),
    )
    warnings = [f"{len(over.rows)} customer(s) over their credit limit"] if over.rows else []
    return BuiltReport(report, warnings=warnings + unknown)


def problem_tables(problems: list[str]) -> tuple[Table, ...]:
    """The records that could not be read, as their own sheet: never left out silently."""
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
