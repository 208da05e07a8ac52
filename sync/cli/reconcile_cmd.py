"""``crmsync reconcile``: 收款核销 report, and manual ``match`` / ``unmatch`` decisions.

The report reads the bank/platform sources and the CRM source named in config.yaml (a
full read), applies the decisions stored in the state store, and prints every line with
its status and match rule plus totals per day and account that tie out. ``--vouchers``
also writes the receipt, suspense and settlement vouchers it would book (JSON), for review;
``--post`` books them (``sync.orchestration.reconcile_and_post``: the engine's outbox and poster
under the run lock, as ``crmsync sync`` does with ``reconcile.post_vouchers: true``).

Exit codes: 0 done; 1 a source reported errors (e.g. a refused statement file), the
totals do not tie out, or (``--post``) a voucher failed or waits; 2 configuration error;
3 destination unavailable; 4 another run holds the lock.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any, Literal

import click

from sync.cli.common import config_option, run_command, setup_logging
from sync.dates import parse_date
from sync.errors import ConfigurationError

__all__ = ["reconcile"]


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_date(value, field=option)
    except ValueError as exc:
        raise ConfigurationError(str(exc), hint="write it as YYYY-MM-DD") from None


def _load(config_path: str) -> tuple[Any, Any]:
    from sync.config import load_config
    from sync.reconcile.config import load_reconcile_config

    config = load_config(config_path)
    return config, load_reconcile_config(config.reconcile, config.config_path)


def _store(config: Any, *, read_only: bool = False) -> Any:
    from sync.engine.build import open_store

    return open_store(config, read_only=read_only)


@click.group("reconcile", invoke_without_command=True)
@config_option
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="First booking day in the report.")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Last booking day in the report.")
@click.option(
    "--as-of",
    "as_of",
    metavar="YYYY-MM-DD",
    help="Day the claimed-not-received age counts to (default: --to, else the newest bank line).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "xlsx"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here (required for xlsx).")
@click.option(
    "--vouchers",
    "vouchers_path",
    type=click.Path(dir_okay=False),
    help="Also write the vouchers reconciliation would book, as JSON.",
)
@click.option(
    "--post",
    is_flag=True,
    help="Also book the vouchers: into the outbox and posted, under the run lock, like `crmsync sync` "
    "with reconcile.post_vouchers (every date: --from/--to filter the report only).",
)
@click.option("-v", "--verbose", is_flag=True)
@click.pass_context
@run_command
def reconcile(  # noqa: PLR0917 - click passes options by name
    ctx: click.Context,
    config_path: str,
    date_from: str | None,
    date_to: str | None,
    as_of: str | None,
    fmt: str,
    output: str | None,
    vouchers_path: str | None,
    post: bool,
    verbose: bool,
) -> None:
    """Match bank receipts to CRM payments (收款核销); unmatched money goes to suspense.

    \b
    crmsync reconcile -c config.yaml --from 2026-11-01 --to 2026-11-30 --format xlsx -o recon.xlsx
    crmsync reconcile -c config.yaml match BANK_ID PAYMENT_ID...
    crmsync reconcile -c config.yaml unmatch BANK_ID [PAYMENT_ID...]
    """
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    setup_logging(verbose)
    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    if start and end and start > end:
        raise ConfigurationError(f"--from {start} is after --to {end}", hint="swap the dates")
    if fmt == "xlsx" and not output:
        raise ConfigurationError("--format xlsx needs --output FILE.xlsx", hint="e.g. -o reconcile.xlsx")
    from sync.reconcile.inputs import load_inputs
    from sync.reconcile.report import build_report
    from sync.reconcile.run import reconcile_inputs

    config, rc = _load(config_path)
    inputs = load_inputs(config, rc)
    store = _store(config, read_only=True)  # the report only reads (--post is `crmsync sync`'s)
    try:
        result = reconcile_inputs(store, inputs, rc, _date(as_of, "--as-of") or end)
    finally:
        store.close()
    report = build_report(result, start, end)
    _emit(report, fmt, output)
    if vouchers_path:
        import json

        from sync.reconcile.vouchers import vouchers

        books = [v.public_dict() for v in vouchers(result, rc) if _within(v.date, start, end)]
        Path(vouchers_path).write_text(json.dumps(books, ensure_ascii=False, indent=2), encoding="utf-8")
    for err in inputs.errors:
        click.echo(f"error: {err}", err=True)
    posted_ok = True
    if post and not inputs.errors:  # a partial picture books nothing (see sync.reconcile.posting)
        from sync.orchestration import reconcile_and_post

        summary = reconcile_and_post(config, rc, inputs)
        for line in summary.lines():
            click.echo(line, err=True)
        posted_ok = summary.exit_code == 0
    elif post:
        click.echo("error: nothing booked: a source reported errors", err=True)
    if inputs.errors or not report.summary()["ties_out"] or not posted_ok:
        sys.exit(1)


def _within(day: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _emit(report: Any, fmt: str, output: str | None) -> None:
    if fmt == "xlsx":
        assert output is not None
        report.to_xlsx(Path(output))
        click.echo(f"wrote {output}", err=True)
        return
    text = {"json": report.to_json, "csv": report.to_csv, "table": report.to_table}[fmt]()
    if output and output != "-":
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def _check_ids(config: Any, rc: Any, bank_id: str, payment_ids: tuple[str, ...]) -> None:
    from sync.reconcile.inputs import load_inputs

    inputs = load_inputs(config, rc)
    if bank_id not in inputs.bank:
        raise ConfigurationError(
            f"no bank line {bank_id!r} in the bank sources",
            hint="copy the bank_id from `crmsync reconcile --format csv`",
        )
    known = {p.id for p in inputs.payments}
    unknown = [p for p in payment_ids if p not in known]
    if unknown:
        raise ConfigurationError(
            f"no CRM payment {', '.join(map(repr, unknown))} in {inputs.crm_source!r}",
            hint="use the payment_id column of the report (the CRM record id)",
        )


def _decision_options(func: Any) -> Any:
    """The options ``match`` and ``unmatch`` share: a config override and the note."""
    func = click.option("--note", default="", help="Why (kept with the decision).")(func)
    return click.option(
        "-c",
        "--config",
        "config_path",
        default=None,
        type=click.Path(dir_okay=False),
        help="Path to config.yaml (default: the one given to reconcile).",
    )(func)


def _record(  # noqa: PLR0917 - the command's own arguments, passed through
    ctx: click.Context,
    config_path: str | None,
    action: Literal["match", "unmatch"],
    bank_id: str,
    payment_ids: tuple[str, ...],
    note: str,
) -> int:
    """Check the ids against the inputs, then keep the decision; its number is returned."""
    from sync.reconcile.decisions import record_decision
    from sync.reconcile.model import Decision

    config, rc = _load(config_path or ctx.obj["config_path"])
    _check_ids(config, rc, bank_id, payment_ids)
    store = _store(config)
    try:
        return record_decision(store, Decision(action, bank_id, payment_ids, note))
    finally:
        store.close()


@reconcile.command("match")
@_decision_options
@click.argument("bank_id")
@click.argument("payment_ids", nargs=-1, required=True)
@click.pass_context
@run_command
def match_cmd(
    ctx: click.Context, config_path: str | None, note: str, bank_id: str, payment_ids: tuple[str, ...]
) -> None:
    """Match a bank line to CRM payments by hand; respected by every later run."""
    number = _record(ctx, config_path, "match", bank_id, payment_ids, note)
    click.echo(f"decision {number}: {bank_id} matched to {', '.join(payment_ids)}")


@reconcile.command("unmatch")
@_decision_options
@click.argument("bank_id")
@click.argument("payment_ids", nargs=-1)
@click.pass_context
@run_command
def unmatch_cmd(
    ctx: click.Context, config_path: str | None, note: str, bank_id: str, payment_ids: tuple[str, ...]
) -> None:
    """Undo a match: from the named payments only, or (no payments) send the line to suspense."""
    number = _record(ctx, config_path, "unmatch", bank_id, payment_ids, note)
    what = f"from {', '.join(payment_ids)}" if payment_ids else "from everything (it stays in suspense)"
    click.echo(f"decision {number}: {bank_id} unmatched {what}")
