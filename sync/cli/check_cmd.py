"""``crmsync check``: config, mappings, and the destination's connectivity and base data."""

from __future__ import annotations

import sys

import click

from sync.cli.common import config_option, echo_json, format_option, run_command, setup_logging

__all__ = ["check"]


@click.command("check")
@config_option
@click.option(
    "--sample",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Map up to this many records per stream (from the start, nothing stored) so the "
    "destination can check the accounts and customers they use; 0 = skip.",
)
@format_option("text", "json")
@run_command
def check(config_path: str, sample: int, fmt: str) -> None:
    """Load config and mappings, build the destination and ask it whether posting would work.

    Exit codes: 0 ready, 2 configuration problem (including base data the ERP lacks),
    3 destination unreachable or credentials refused.
    """
    from sync.cli.exposure import exposure_warnings
    from sync.config import load_config
    from sync.engine.build import build_destination, load_mappings
    from sync.engine.dryrun import sample_vouchers

    setup_logging()
    config = load_config(config_path)
    exposed = exposure_warnings(config)  # secrets others can read (sync.cli.exposure)
    for line in exposed:  # at once: the destination check below may stop the command
        click.echo(f"warning: {line}", err=fmt == "json")
    mappings = load_mappings(config)
    vouchers, notes = sample_vouchers(config, mappings, sample) if sample else ([], [])
    dest = build_destination(config)
    try:
        report = dest.check(vouchers)
    finally:
        dest.close()
    if fmt == "json":
        echo_json(
            {
                "ok": report.ok,
                "problems": list(report.problems),
                "warnings": exposed + list(report.warnings),
                "details": list(report.details),
                "vouchers_checked": len(vouchers),
                "notes": notes,
            }
        )
    else:
        click.echo(f"config and {len(mappings.mappings)} mappings: ok")
        for line in notes:
            click.echo(line)
        for line in report.details:
            click.echo(f"  {line}")
        for line in report.warnings:
            click.echo(f"warning: {line}")
        for line in report.problems:
            click.echo(f"problem: {line}")
        click.echo(f"destination {config.destination.type}: " + ("ready" if report.ok else "NOT ready"))
    sys.exit(0 if report.ok else 2)
