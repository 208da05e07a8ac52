"""``crmsync preview``: read, map and validate records, show the vouchers; posts nothing.

The dry run itself (``sync.engine.dryrun``) also backs ``validate`` and ``check``; this
module only shows its result.
"""

from __future__ import annotations

import json
import sys

import click

from sync.cli.common import config_option, format_option, run_command, setup_logging
from sync.engine.build import load_mapping_set
from sync.engine.dryrun import Trial, chart_accounts, chart_rules, trial_map
from sync.model import Voucher
from sync.money import format_amount

__all__ = ["preview", "render_table"]


# -- output -----------------------------------------------------------------------------------


def render_table(v: Voucher) -> str:
    """A voucher as finance reads it: header line, then one row per line (分录)."""
    src = v.source
    more = f" +{len(v.sources) - 1} more" if len(v.sources) > 1 else ""
    head = (
        f"{v.date.isoformat()}  {v.group}  {v.summary}  [{v.book} {v.period} {v.currency}]\n"
        f"  key {v.key}  rev {v.revision}  from {src.system}/{src.stream}/{src.record_id}{more}"
    )
    rows = [("account", "debit", "credit", "dims", "memo")]
    for ln in v.lines:
        debit = format_amount(ln.debit, v.currency) if ln.side.value == "debit" else ""
        credit = format_amount(ln.credit, v.currency) if ln.side.value == "credit" else ""
        dims = " ".join(f"{k}={val}" for k, val in ln.dims)
        if ln.amount_foreign is not None:
            dims = f"{ln.currency} {format_amount(ln.amount_foreign, ln.currency)} @ {ln.rate} {dims}".strip()
        rows.append((ln.account, debit, credit, dims, "" if ln.memo == v.summary else ln.memo))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        lines.append(
            f"  {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  "
            f"{r[3]:<{widths[3]}}  {r[4]}".rstrip()
        )
    total = format_amount(v.total, v.currency)
    return "\n".join([head, *lines, f"  {'':<{widths[0]}}  {total:>{widths[1]}}  {total:>{widths[2]}}"])


def _emit(trial: Trial, fmt: str) -> None:
    if fmt == "json":
        for v in trial.vouchers:
            click.echo(json.dumps(v.public_dict(), ensure_ascii=False))
        for f in trial.failures:
            click.echo(json.dumps({"failed": f.as_dict()}, ensure_ascii=False), err=True)
        for e in trial.source_errors:
            click.echo(json.dumps({"source_error": e}, ensure_ascii=False), err=True)
        click.echo(
            json.dumps(
                {
                    "counts": {k: trial.counts[k] for k in ("read", "mapped", "skipped", "voided", "failed")},
                    "vouchers": len(trial.vouchers),
                }
            ),
            err=True,
        )
        return
    for v in trial.vouchers:
        click.echo(render_table(v))
        click.echo("")
    if trial.failures:
        click.echo(f"failed records ({len(trial.failures)}):")
        for f in trial.failures:
            click.echo("  " + f.text().replace("\n", "\n  "))
    for e in trial.source_errors:
        click.echo(f"source error: {e}")
    click.echo(trial.count_line())


@click.command("preview")
@config_option
@click.option(
    "--stream",
    "stream",
    default=None,
    metavar="S",
    help="Only this stream (e.g. PaymentObj or crm/PaymentObj).",
)
@click.option(
    "--limit",
    "limit",
    default=None,
    type=click.IntRange(min=1),
    metavar="N",
    help="Read at most N records per stream.",
)
@format_option("table", "json")
@run_command
def preview(config_path: str, stream: str | None, limit: int | None, fmt: str) -> None:
    """Read, map and validate records and show the vouchers; nothing is posted or stored.

    \b
    --format json: one voucher per line on stdout (amounts as decimal strings); failed
    records and the counts as JSON lines on stderr.
    Exit codes: 0 every record mapped (or skipped by a rule), 1 some records failed,
    2 configuration problem.
    """
    from sync.config import load_config

    setup_logging()
    config = load_config(config_path)
    accounts, _ = chart_accounts(config)
    mappings = load_mapping_set(config, accounts)
    trial = trial_map(config, mappings, stream=stream, limit=limit, check=chart_rules(config))
    _emit(trial, fmt)
    if not trial.ok:
        sys.exit(1)
