"""``crmsync remap``: apply the current mappings to the records already synced."""

from __future__ import annotations

import sys

import click

from sync.cli.common import config_option, echo_json, format_option, run_command, setup_logging
from sync.config import load_config
from sync.dates import parse_date
from sync.errors import ConfigurationError

__all__ = ["remap"]


@click.command("remap")
@config_option
@click.option("--mapping", "names", multiple=True, metavar="NAME", help="Only this mapping (repeatable).")
@click.option("--since", help="Only records whose vouchers are dated on or after YYYY-MM-DD.")
@click.option("--until", help="Only records whose vouchers are dated on or before YYYY-MM-DD.")
@click.option("--dry-run", is_flag=True, help="Change nothing; print what would be reversed and added.")
@click.option("--post", is_flag=True, help="Post the new vouchers now (otherwise the next sync does).")
@format_option("text", "json")
@run_command
def remap(  # noqa: PLR0917 - click passes options positionally by name
    config_path: str,
    names: tuple[str, ...],
    since: str | None,
    until: str | None,
    dry_run: bool,
    post: bool,
    fmt: str,
) -> None:
    """Map the stored source records again with the current mappings.

    \b
    Unchanged vouchers stay as they are; a changed voucher is reversed and its new revision
    added (dated by the mapping's reversal_date, closed periods respected); a new mapping adds
    vouchers; a record a mapping now excludes is reversed. Runs under the run lock.
    Exit codes: 0 done, 1 some records are quarantined by the current mappings or a voucher
    failed to post, 2 configuration error (unknown mapping, --since after --until),
    3 destination unavailable, 4 another run holds the lock.
    """
    from sync.engine.build import load_mappings, open_store
    from sync.engine.identity import open_destination
    from sync.engine.remap import RemapScope
    from sync.engine.remap import remap as run_remap

    if dry_run and post:
        raise ConfigurationError("--dry-run and --post contradict each other", hint="choose one")
    setup_logging()
    config = load_config(config_path)
    scope = RemapScope(
        tuple(names),
        parse_date(since, field="--since") if since else None,
        parse_date(until, field="--until") if until else None,
    )
    mappings = load_mappings(config)
    scope.check([m.name for m in mappings.mappings])  # before the lock: a typo changes nothing
    store = open_store(config)
    try:
        with store.locked(config.state.lock_timeout_seconds):
            # its closed periods date the reversals, dry or not; a dry run records nothing
            dest = open_destination(config, store, record=not dry_run)
            try:
                result = run_remap(store, mappings, dest, scope, dry_run=dry_run, post=post)
            finally:
                dest.close()
    finally:
        store.close()
    if fmt == "json":
        echo_json(result.as_dict())
    else:
        for line in result.lines():
            click.echo(line)
    failed = bool(result.posted and (result.posted.get("vouchers_failed") or result.posted.get("failed")))
    sys.exit(1 if result.quarantined or failed else 0)
