"""Operator commands on the state store: vouchers, failures, retry, status, pause/resume, approve."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import click

from sync.cli.common import config_option, echo_json, format_option, run_command, setup_logging
from sync.config import AppConfig, load_config
from sync.dates import parse_date
from sync.errors import ConfigurationError
from sync.state import OutboxRow, StateStore, Status
from sync.state.quarantine import QuarantineEntry
from sync.tables import plain_table

__all__ = ["approve", "failures", "pause", "resume", "retry", "status", "vouchers"]


@contextmanager
def _store(config_path: str, *, read_only: bool = False) -> Iterator[tuple[AppConfig, StateStore]]:
    from sync.engine.build import open_store

    config = load_config(config_path)
    store = open_store(config, read_only=read_only)
    try:
        yield config, store
    finally:
        store.close()


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from sync.tables.text import to_text

    click.echo(to_text(plain_table(title, columns, rows)), nl=False)


def _csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from sync.tables.csvfmt import to_csv

    click.echo(to_csv(plain_table("", columns, rows)), nl=False)


# -- vouchers ------------------------------------------------------------------------------


@click.command("vouchers")
@config_option
@click.option(
    "--status", type=click.Choice([s.value for s in Status]), help="Only vouchers with this status."
)
@click.option("--since", help="Only vouchers dated on or after YYYY-MM-DD.")
@click.option("--source-id", help="Only vouchers made from this source record id.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (newest first).")
@format_option("table", "json", "csv")
@run_command
def vouchers(  # noqa: PLR0917 - click passes options positionally by name
    config_path: str,
    status: str | None,
    since: str | None,
    source_id: str | None,
    limit: int | None,
    fmt: str,
) -> None:
    """List vouchers in the outbox with their ERP numbers and the source record behind each."""
    if since:
        try:
            since = parse_date(since, field="--since").isoformat()
        except ValueError as exc:
            raise ConfigurationError(str(exc), hint="write the date as YYYY-MM-DD") from None
    with _store(config_path, read_only=True) as (_, store):
        rows = store.list_vouchers(status=status, since=since, source_id=source_id, limit=limit)
    if fmt == "json":
        echo_json([r.public_dict() for r in rows])
        return
    columns = ["erp_number", "erp_id", "date", "status", "total", "kind", "key", "source", "mapping", "chain"]
    data = [
        [
            r.erp_number,
            r.erp_id,
            r.voucher_date,
            r.status,
            r.total,
            r.kind,
            r.key,
            f"{r.source_system}/{r.source_stream}/{r.source_id}",
            r.mapping,
            _chain(r),
        ]
        for r in rows
    ]
    if fmt == "csv":
        _csv(columns, data)
    elif not rows:
        click.echo("no vouchers match")
    else:
        _table(f"vouchers ({len(rows)})", columns, data)


def _chain(row: OutboxRow) -> str:
    """Where a voucher stands in its key's history: what it reverses, or what reversed it."""
    if row.reversal_of:
        return f"reverses {row.reversal_of.partition('#')[2]}"
    if row.reversed_by:
        return f"reversed by {row.reversed_by}"
    return ""


# -- failures ------------------------------------------------------------------------------


def _quarantine_rows(entries: Sequence[QuarantineEntry], *, note: bool = False) -> list[list[Any]]:
    return [
        [
            q.id,
            f"{q.source}/{q.stream}/{q.record_id}",
            q.mapping,
            q.problem,
            q.created,
            *([q.note] if note else []),
        ]
        for q in entries
    ]


@click.group("failures", invoke_without_command=True)
@config_option
@click.option("--all", "show_all", is_flag=True, help="Also list the quarantine entries people dismissed.")
@format_option("table", "json")
@click.pass_context
@run_command
def failures(ctx: click.Context, config_path: str, show_all: bool, fmt: str) -> None:
    """List quarantined records and vouchers the ERP refused, with the reason (the ERP's own words).

    Exit code 1 while anything is listed (besides dismissed entries), 0 when nothing is.
    `crmsync failures dismiss -c CONFIG ID… --reason TEXT` ends an entry that can never be fixed.
    """
    if ctx.invoked_subcommand is not None:
        return
    from sync.writeback.run import writeback_standing

    with _store(config_path, read_only=True) as (config, store):
        quarantined = store.open_quarantine()
        dismissed = store.quarantine_entries(("dismissed",)) if show_all else []
        failed = store.list_vouchers(status=Status.FAILED)
        _, unwritten = writeback_standing(config)
    if fmt == "json":
        out: dict[str, Any] = {
            "quarantined": [q.public_dict() for q in quarantined],
            "failed": [r.public_dict() for r in failed],
            "writeback": [asdict(e) for e in unwritten],
        }
        if show_all:
            out["dismissed"] = [q.public_dict() for q in dismissed]
        echo_json(out)
    else:
        _print_failures(quarantined, dismissed, failed)
        _print_unwritten(unwritten)
    if quarantined or failed or unwritten:
        sys.exit(1)


def _print_unwritten(unwritten: Sequence[Any]) -> None:
    if not unwritten:
        return
    _table(
        f"ERP numbers not yet written back to the CRM ({len(unwritten)})",
        ["record", "state", "attempts", "CRM's message", "since"],
        [[f"{e.stream}/{e.record_id}", e.state, e.attempts, e.last_error, e.updated] for e in unwritten],
    )
    click.echo(
        "retry: tried again by every sync; refused: until writeback.max_attempts; gave_up: "
        "`crmsync retry --all` (or the record ids) queues it again"
    )


def _print_failures(
    quarantined: Sequence[QuarantineEntry], dismissed: Sequence[QuarantineEntry], failed: Sequence[OutboxRow]
) -> None:
    if not quarantined and not failed:
        click.echo("no failures: nothing is quarantined and no voucher was refused")
    if quarantined:
        _table(
            f"quarantined records ({len(quarantined)})",
            ["id", "record", "mapping", "problem", "since"],
            _quarantine_rows(quarantined),
        )
    if failed:
        _table(
            f"failed vouchers ({len(failed)})",
            ["key", "source", "attempts", "ERP's message"],
            [
                [
                    r.external_ref,
                    f"{r.source_system}/{r.source_stream}/{r.source_id}",
                    r.attempts,
                    r.last_error,
                ]
                for r in failed
            ],
        )
    if dismissed:
        _table(
            f"dismissed quarantine entries ({len(dismissed)})",
            ["id", "record", "mapping", "problem", "since", "dismissed"],
            _quarantine_rows(dismissed, note=True),
        )
    if quarantined or failed:
        click.echo(
            "fix the cause, then `crmsync retry --all` (or name the keys / record ids); an entry that can "
            "never be fixed: `crmsync failures dismiss ID --reason TEXT`"
        )


@failures.command("dismiss")
@config_option
@click.argument("ids", nargs=-1, required=True, type=int)
@click.option("--reason", required=True, help="Why the entry can never be fixed (kept in the audit trail).")
@click.option("--by", "who", default=None, help="Who dismisses (default: $USER); kept in the audit trail.")
@run_command
def dismiss(config_path: str, ids: tuple[int, ...], reason: str, who: str | None) -> None:
    """End quarantine entries that can never be fixed (by id, see `crmsync failures`).

    Compare-and-set on each entry (open -> dismissed), so it needs no run lock; the entry, who
    and why go into the audit trail, and `crmsync failures --all` still shows it.
    """
    from sync.operations import dismiss_quarantine

    if not reason.strip():
        raise ConfigurationError("--reason is empty", hint="say why the entry can never be fixed")
    with _store(config_path) as (_, store):
        result = dismiss_quarantine(store, ids, reason, by=who or "")
    click.echo(f"dismissed {len(result.dismissed)} quarantine entries")
    if result.not_open:
        click.echo(f"not open, left as they are: {', '.join(map(str, result.not_open))}")


# -- retry ---------------------------------------------------------------------------------


@click.command("retry")
@config_option
@click.argument("keys", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Everything failed or quarantined.")
@click.option("--no-post", is_flag=True, help="Only re-queue; the next `crmsync sync` posts.")
@format_option("text", "json")
@run_command
def retry(config_path: str, keys: tuple[str, ...], all_: bool, no_post: bool, fmt: str) -> None:
    """Retry failed vouchers and quarantined records.

    KEY is a voucher key or external reference (key#revision) of a failed voucher, or the id
    (or quarantine number) of a quarantined record. Failed vouchers go back to pending;
    quarantined records are mapped again from the stored raw record with the current
    mappings. Then everything pending is posted at once (unless --no-post).
    """
    from sync.operations import retry as retry_records

    if not keys and not all_:
        raise ConfigurationError("name what to retry", hint="give KEY… or --all (see `crmsync failures`)")
    setup_logging()
    result = retry_records(load_config(config_path), None if all_ else list(keys), post=not no_post)
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(
            f"re-queued {result['vouchers_requeued']} failed vouchers, "
            f"re-mapped {result['records_remapped']} quarantined records "
            f"({result['still_quarantined']} still quarantined)"
        )
        if result["writeback_requeued"]:
            click.echo(f"re-queued {result['writeback_requeued']} write-backs; the next sync writes them")
        if result.get("summary"):
            click.echo(
                f"posted {result['summary']['vouchers_posted']} vouchers now "
                f"(failed {result['summary']['vouchers_failed']})"
            )
    sys.exit(1 if result["still_quarantined"] or result.get("summary", {}).get("vouchers_failed") else 0)


# -- status --------------------------------------------------------------------------------


@click.command("status")
@config_option
@click.option(
    "--runs", "n_runs", default=5, show_default=True, type=click.IntRange(min=1), help="Runs to show."
)
@format_option("text", "json")
@run_command
def status(config_path: str, n_runs: int, fmt: str) -> None:
    """Last runs, source cursors, vouchers by status, quarantine size, pause flag, destination."""
    from sync.engine.identity import describe, stored_identity
    from sync.operations import stale_mappings

    with _store(config_path, read_only=True) as (config, store):
        runs = store.last_runs(n_runs)
        cursors = store.cursors()
        counts = store.counts_by_status()
        quarantined = len(store.open_quarantine())
        paused = store.get_flag("paused")
        where = store.where
        stale, stale_note = stale_mappings(config, store)
        destination = stored_identity(store)
    from sync.writeback.run import writeback_standing

    writeback, _ = writeback_standing(config)
    if fmt == "json":
        echo_json(
            {
                "state": where,
                "destination": destination,
                "paused": bool(paused),
                "runs": [r.public_dict() for r in runs],
                "cursors": [c.public_dict() for c in cursors],
                "vouchers": counts,
                "quarantined": quarantined,
                "stale_mappings": [s.public_dict() for s in stale],
                # records per write-back state (done, retry, refused, gave_up); null: not configured
                "writeback": writeback,
            }
        )
        return
    click.echo(f"state: {where}" + ("   POSTING PAUSED (crmsync resume)" if paused else ""))
    click.echo(
        f"destination: {describe(destination)}"
        if destination
        else "destination: not recorded yet (the first run that posts records it)"
    )
    _table(
        "last runs",
        [
            "run",
            "started",
            "finished",
            "status",
            "last seen",
            "records read",
            "vouchers posted",
            "already",
            "quarantined",
            "failed",
            "host/pid",
        ],
        [
            [
                r.id,
                r.started,
                r.finished,
                r.status,
                r.seen,
                r.records_read,
                r.vouchers_posted,
                r.counts.get("already_posted", ""),
                r.counts.get("quarantined", ""),
                r.counts.get("failed", ""),
                f"{r.host}/{r.pid}",
            ]
            for r in runs
        ],
    )
    _table(
        "cursors",
        ["source", "stream", "state", "updated"],
        [[c.source, c.stream, c.state, c.updated] for c in cursors],
    )
    click.echo(
        "vouchers: "
        + (", ".join(f"{k} {v}" for k, v in counts.items()) or "none")
        + f"; quarantined records: {quarantined}"
    )
    if writeback is not None:
        click.echo(
            "write-back to the CRM: "
            + (", ".join(f"{k} {v}" for k, v in sorted(writeback.items())) or "nothing written yet")
            + ("   (see `crmsync failures`)" if any(k != "done" for k in writeback) else "")
        )
    from sync.engine.staleness import advice

    for line in [*advice(stale), *stale_note]:
        click.echo(line)


# -- pause / resume / approve ------------------------------------------------------------


@click.command("pause")
@config_option
@click.option("--reason", default="paused by operator", show_default=True)
@run_command
def pause(config_path: str, reason: str) -> None:
    """Stop posting for every run (reading and mapping go on; vouchers wait in the outbox)."""
    from sync.operations import pause_posting

    with _store(config_path) as (_, store):
        pause_posting(store, reason)
    click.echo("posting paused; `crmsync resume` to post again")


@click.command("rebind")
@config_option
@click.option("--yes", is_flag=True, help="Do not ask; for scripts that move a state on purpose.")
@run_command
def rebind(config_path: str, yes: bool) -> None:
    """Record the configured destination as this state's own (moving a state on purpose).

    For the same books under a new address (a new Kingdee URL, a ledger file moved); never for
    another company: that needs its own state. Audited as ``rebind`` with both identities.
    """
    from sync.engine.identity import bind, describe, destination_identity, stored_identity

    with _store(config_path) as (config, store), store.locked(config.state.lock_timeout_seconds):
        before = stored_identity(store)
        after = destination_identity(config)
        if before == after:
            click.echo(f"this state already belongs to {describe(after)}")
            return
        if before is not None and not yes:
            click.confirm(
                f"move this state from {describe(before)} to {describe(after)}? Every voucher it "
                "records as posted must already be in the new destination",
                abort=True,
            )
        bind(store, config, rebind=True)
    click.echo(f"this state now belongs to {describe(after)}")


@click.command("resume")
@config_option
@run_command
def resume(config_path: str) -> None:
    """Resume posting after `crmsync pause`."""
    from sync.operations import resume_posting

    with _store(config_path) as (_, store):
        was_paused = resume_posting(store)
    click.echo(
        "posting resumed; the next run posts the waiting vouchers" if was_paused else "posting was not paused"
    )


@click.command("approve")
@config_option
@click.argument("keys", nargs=-1)
@click.option("--period", help="Every waiting voucher of this period (YYYY-MM).")
@click.option("--mapping", "mapping_name", help="Every waiting voucher of this mapping.")
@click.option("--all", "all_", is_flag=True, help="Every waiting voucher.")
@click.option(
    "--by", "approver", default=None, help="Who approves (default: $USER); kept in the audit trail."
)
@run_command
def approve(  # noqa: PLR0917 - click passes options by name
    config_path: str,
    keys: tuple[str, ...],
    period: str | None,
    mapping_name: str | None,
    all_: bool,
    approver: str | None,
) -> None:
    """Approve vouchers waiting for approval (awaiting_approval -> pending): KEY…, or --period
    and/or --mapping, or --all. Who approved is recorded in the audit trail."""
    from sync.operations import approve_vouchers

    with _store(config_path) as (_, store):
        result = approve_vouchers(
            store, keys=keys, period=period, mapping=mapping_name, all_=all_, by=approver or ""
        )
    click.echo(f"approved {len(result.approved)} vouchers; the next run posts them")
    if result.gone:
        click.echo(
            f"{result.gone} of the chosen vouchers were replaced by a newer revision meanwhile; not approved"
        )
