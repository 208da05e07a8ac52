"""``crmsync audit export|verify``: read out the audit trail, and check its hash chain."""

from __future__ import annotations

import json
import sys

import click

from sync.cli.common import config_option, echo_json, format_option, run_command, setup_logging

__all__ = ["audit"]

_CSV_COLUMNS = (
    "seq",
    "at",
    "action",
    "subject",
    "detail",
    "who",
    "host",
    "pid",
    "run_id",
    "prev_hash",
    "hash",
    "item",
)


@click.group("audit")
def audit() -> None:
    """Export or verify the audit trail (posts, reversals, retries, manual matches, config changes)."""


@audit.command("export")
@config_option
@format_option("json", "csv")
@run_command
def export(config_path: str, fmt: str) -> None:
    """Every audit entry, oldest first, with its hashes (for an auditor or an outside archive)."""
    from sync.config import load_config
    from sync.engine.build import open_store
    from sync.state import audit as trail

    setup_logging()
    store = open_store(load_config(config_path), read_only=True)
    try:
        rows = [e.public_dict() for e in trail.entries(store)]
    finally:
        store.close()
    if fmt == "json":
        echo_json(rows)
        return
    from sync.tables import plain_table
    from sync.tables.csvfmt import to_csv

    for r in rows:
        r["detail"] = json.dumps(r["detail"], ensure_ascii=False, sort_keys=True)
    table = plain_table("audit", _CSV_COLUMNS, [[r[c] for c in _CSV_COLUMNS] for r in rows])
    click.echo(to_csv(table, line_end="\n"), nl=False)


@audit.command("verify")
@config_option
@format_option("text", "json")
@run_command
def verify(config_path: str, fmt: str) -> None:
    """Check the hash chain. Exit 0: intact; 1: broken, naming the first bad entry.

    Keep the printed head hash somewhere else: a later verify whose chain no longer passes
    through it shows that history was rewritten wholesale.
    """
    from sync.config import load_config
    from sync.engine.build import open_store
    from sync.state import audit as trail

    setup_logging()
    store = open_store(load_config(config_path), read_only=True)
    try:
        checked, head, problem = trail.verify(store)
    finally:
        store.close()
    if fmt == "json":
        echo_json(
            {
                "ok": problem is None,
                "entries": checked,
                "head_hash": head,
                "first_bad_entry": None if problem is None else problem.seq,
                "problem": None if problem is None else problem.message,
            }
        )
    elif problem is None:
        click.echo(f"audit trail intact: {checked} entries, head {head}")
    else:
        click.echo(f"audit trail BROKEN at entry {problem.seq}: {problem.message}", err=True)
        click.echo(f"{checked} entries verified before it", err=True)
    sys.exit(0 if problem is None else 1)
