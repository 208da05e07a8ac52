"""``crmsync state``: upkeep of the state store (new-key, rotate-key, compact).

Each takes the run lock (exit 4 while a sync runs) and writes an audit entry; a key is
printed only by ``new-key`` and only to stdout, for the operator to put in the secrets file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from sync.cli.common import config_option, echo_json, format_option, run_command

if TYPE_CHECKING:
    from sync.config import AppConfig
    from sync.state import StateStore

__all__ = ["state"]


@click.group("state")
def state() -> None:
    """Upkeep of the state store: encryption keys and disk space."""


@state.command("new-key")
@run_command
def new_key() -> None:
    """Print a fresh random key (base64 of 32 bytes) for state.key / CRMSYNC_STATE_KEY."""
    from sync.state.sealing import new_key_text

    click.echo(new_key_text())


def _locked_store(config_path: str) -> tuple[AppConfig, StateStore]:
    from sync.config import load_config
    from sync.engine.build import open_store

    config = load_config(config_path)
    return config, open_store(config)


@state.command("rotate-key")
@config_option
@format_option("text", "json")
@run_command
def rotate_key(config_path: str, fmt: str) -> None:
    """Re-encrypt the customer data in the state with a new key, under the run lock.

    \b
    Key file (the SQLite default): a new key is made and takes the old one's place; the old
    one is kept as <key file>.<id>.retired for backups made before today.
    Configured key: put the new key in CRMSYNC_STATE_KEY (or state.key) and the old one in
    CRMSYNC_STATE_KEY_PREVIOUS (or state.previous_keys) first.
    """
    from sync.state.upkeep import rotate_key as rotate

    config, store = _locked_store(config_path)
    try:
        with store.locked(config.state.lock_timeout_seconds):
            done = rotate(store)
    finally:
        store.close()
    if fmt == "json":
        echo_json(
            {
                "old_key": done.old_key,
                "new_key": done.new_key,
                "records": done.records,
                "retired": done.retired,
            }
        )
        return
    click.echo(f"re-encrypted {done.records:,} records: key {done.old_key} -> {done.new_key}")
    if done.retired:
        click.echo(
            f"the old key is kept in {done.retired} for backups made before now; "
            "move it to where those backups are kept, or delete it once they are gone"
        )


@state.command("compact")
@config_option
@format_option("text", "json")
@run_command
def compact(config_path: str, fmt: str) -> None:
    """Give back the disk space of deleted and rewritten rows (after a big run or a remap)."""
    from sync.state.upkeep import compact as do_compact

    config, store = _locked_store(config_path)
    try:
        with store.locked(config.state.lock_timeout_seconds):
            done = do_compact(store)
    finally:
        store.close()
    if fmt == "json":
        echo_json({"before_bytes": done.before, "after_bytes": done.after})
        return
    mb = 1024 * 1024
    click.echo(
        f"state store: {done.before / mb:,.1f} MB -> {done.after / mb:,.1f} MB "
        f"({(done.before - done.after) / mb:,.1f} MB given back)"
    )
