"""``crmsync remap``: apply the current mappings to stored source records, on purpose.

A sync maps only what the sources send anew, so a mapping fixed after months reaches only
the records edited since. Remap takes the stored copy of every record of the chosen
mappings' streams (``sync.state.source_records``) through exactly the path a sync uses
(``RecordWriter`` and the reversal ``Planner``): unchanged vouchers stay as they are, a
changed voucher gets a reversal and a new revision, a new mapping gets new vouchers, and a
record a mapping now excludes is reversed. Closed periods and ``reversal_date`` apply as for
a source edit, because it is the same planner.

Each batch of records commits on its own, with the records' new index rows and versions, so a
remap killed at any moment leaves a consistent outbox; the next remap maps again only to
find the finished records unchanged. ``dry_run`` does the same work inside one transaction
and rolls it back: the figures it prints are the real run's, not an estimate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sync.destination import Destination
from sync.engine.outbox import RecordOutcome, RecordWriter
from sync.engine.reversals import Change, Planner
from sync.engine.run import Engine
from sync.engine.summary import RunSummary
from sync.errors import ConfigurationError
from sync.mapping.api import RecordResult
from sync.model import Side, Voucher
from sync.money import ZERO, format_amount
from sync.state import StateStore, audit
from sync.state.source_records import StoredRecord

__all__ = ["AccountDelta", "RemapResult", "RemapScope", "remap"]

#: stored records mapped per transaction
BATCH = 500


@dataclass(frozen=True)
class RemapScope:
    """Which mappings (none named: all) and which voucher dates a remap covers."""

    mappings: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None

    def check(self, known: Sequence[str]) -> None:
        """Refuse a scope that names an unknown mapping or an empty date range (exit code 2)."""
        unknown = [name for name in self.mappings if name not in known]
        if unknown:
            raise ConfigurationError(
                f"no mapping named {', '.join(map(repr, unknown))}",
                hint=f"the configured mappings are: {', '.join(sorted(known))}",
            )
        if self.since and self.until and self.since > self.until:
            raise ConfigurationError(
                f"--since {self.since} is after --until {self.until}",
                hint="give the earlier date as --since",
            )

    def dated(self) -> bool:
        return self.since is not None or self.until is not None

    def covers(self, days: set[dt.date]) -> bool:
        return any(
            (self.since is None or day >= self.since) and (self.until is None or day <= self.until)
            for day in days
        )


@dataclass
class AccountDelta:
    """How the debit and credit of one account in one period change (posted + to post)."""

    period: str
    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO

    def public_dict(self) -> dict[str, str]:
        return {
            "period": self.period,
            "account": self.account,
            "debit": str(self.debit),
            "credit": str(self.credit),
        }


@dataclass
class RemapResult:
    """What a remap did (or, dry, would do): counts, per-account change, the versions applied."""

    dry_run: bool
    mappings: dict[str, str]
    records: int = 0
    quarantined: int = 0
    changes: dict[str, int] = field(default_factory=dict)
    delta: dict[tuple[str, str], AccountDelta] = field(default_factory=dict)
    posted: dict[str, Any] | None = None

    def add(self, voucher: Voucher, sign: int) -> None:
        """Count a voucher that goes into the outbox (``sign`` 1) or is withdrawn unsent (-1)."""
        for line in voucher.lines:
            row = self.delta.setdefault(
                (voucher.period, line.account), AccountDelta(voucher.period, line.account)
            )
            if line.side is Side.DEBIT:
                row.debit += sign * line.amount
            else:
                row.credit += sign * line.amount

    def count(self, change: Change) -> int:
        return self.changes.get(str(change), 0)

    @property
    def changed(self) -> bool:
        return any(self.count(c) for c in (Change.ADDED, Change.REVERSED, Change.WITHDRAWN))

    def account_changes(self) -> list[AccountDelta]:
        return [d for _, d in sorted(self.delta.items()) if d.debit or d.credit]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dry_run": self.dry_run,
            "mappings": self.mappings,
            "records": self.records,
            "quarantined": self.quarantined,
            "unchanged": self.count(Change.UNCHANGED),
            "added": self.count(Change.ADDED),
            "reversed": self.count(Change.REVERSED),
            "withdrawn": self.count(Change.WITHDRAWN),
            "delta": [d.public_dict() for d in self.account_changes()],
        }
        if self.posted is not None:
            out["posted"] = self.posted
        return out

    def lines(self) -> Iterator[str]:
        verb = "would be" if self.dry_run else "were"
        yield (
            f"remap{' (dry run: nothing changed)' if self.dry_run else ''}: {self.records} stored records "
            f"mapped again by {', '.join(f'{n}@{v}' for n, v in sorted(self.mappings.items()))}"
        )
        yield (
            f"vouchers: {self.count(Change.ADDED)} {verb} added, {self.count(Change.REVERSED)} reversed, "
            f"{self.count(Change.WITHDRAWN)} withdrawn before sending, "
            f"{self.count(Change.UNCHANGED)} left alone"
        )
        if self.quarantined:
            yield f"{self.quarantined} records are quarantined by the current mappings: see crmsync failures"
        changes = self.account_changes()
        if changes:
            yield "change per period and account (debit / credit):"
            for d in changes:
                debit, credit = format_amount(d.debit), format_amount(d.credit)
                yield f"  {d.period}  {d.account:<12} {debit:>16} / {credit}"
        if not self.changed:
            yield "nothing to change: every stored record maps as it did"
        elif not self.dry_run and self.posted is None:
            yield "the new vouchers are pending: the next crmsync sync posts them (or run remap --post)"


class _DryRun(Exception):
    """Raised inside the dry run's transaction to roll everything back."""


def remap(
    store: StateStore,
    mappings: Any,
    destination: Destination | None,
    scope: RemapScope,
    *,
    dry_run: bool = False,
    post: bool = False,
    today: dt.date | None = None,
) -> RemapResult:
    """Map the stored records of ``scope`` again; the caller holds the run lock.

    ``destination`` tells the closed periods (reversal dates); with ``post`` (never in a dry
    run) the outbox is posted to it afterwards.
    """
    scope.check([m.name for m in mappings.mappings])
    chosen = [m for m in mappings.mappings if not scope.mappings or m.name in scope.mappings]
    result = RemapResult(dry_run, {m.name: m.version for m in chosen})
    if dry_run:
        try:
            with store.transaction():
                _Pass(store, mappings, destination, scope, result).run(None, today)
                raise _DryRun
        except _DryRun:
            pass
        return result
    run_id = store.start_run()
    summary, status = RunSummary(), "failed"
    try:
        _Pass(store, mappings, destination, scope, result).run(run_id, today)
        audit.record(
            store,
            audit.Action.REMAP,
            ",".join(sorted(result.mappings)),
            {
                "versions": result.mappings,
                "since": str(scope.since or ""),
                "until": str(scope.until or ""),
                **{k: v for k, v in result.as_dict().items() if k in {"records", "added", "reversed"}},
                "withdrawn": result.count(Change.WITHDRAWN),
            },
            run_id=run_id,
        )
        status = "done"
    finally:
        summary.read = result.records
        store.finish_run(run_id, status, {**summary.as_dict(), "remap": result.as_dict()})
    if post and destination is not None:
        result.posted = Engine(store, mappings, {}, destination).run().as_dict()
    return result


@dataclass
class _Pass:
    """One pass over the stored records of the chosen mappings' streams."""

    store: StateStore
    mappings: Any
    destination: Destination | None
    scope: RemapScope
    result: RemapResult

    def run(self, run_id: int | None, today: dt.date | None) -> None:
        store, mappings = self.store, self.mappings
        planner = Planner.of(store, run_id, mappings, self.destination, today)
        planner.on_change = self.result.add
        summary = RunSummary()
        writer = RecordWriter(store, planner, summary)
        names = set(self.result.mappings)
        for source, stream in sorted({(m.source, m.stream) for m in mappings.mappings if m.name in names}):
            after = ""
            while batch := store.stored_records(source, stream, after=after, limit=BATCH):
                with store.transaction():
                    for stored in batch:
                        self._one(writer, stored, names)
                after = batch[-1].record_id
        Engine(store, mappings, {}, self.destination).assemble_groups(planner, summary)
        self.result.changes = {str(k): v for k, v in planner.tally.items()}

    def _one(self, writer: RecordWriter, stored: StoredRecord, names: set[str]) -> None:
        source, stream = stored.source, stored.stream
        results = [r for r in self.mappings.map_record(source, stream, stored.record) if r.mapping in names]
        if self.scope.dated() and not self.scope.covers(_dates(self.store, source, stream, results)):
            return
        self.result.records += 1
        outcome = writer.apply(source, stream, stored.record, results)
        self.result.quarantined += outcome is RecordOutcome.QUARANTINED


def _dates(store: StateStore, source: str, stream: str, results: Sequence[RecordResult]) -> set[dt.date]:
    """The voucher dates a record touches: of what it maps to now and of what it posted before."""
    days = {v.date for r in results for v in r.vouchers}
    days |= {dt.date.fromisoformat(c.payload["header"]["date"]) for r in results for c in r.contributions}
    for r in results:
        keys, groups = store.get_record(r.mapping, source, stream, r.record_id)
        for key in (*keys, *groups):
            head = store.get_head(key)
            row = store.get_voucher(key, head.revision) if head is not None and head.revision else None
            if row is not None:
                days.add(dt.date.fromisoformat(row.voucher_date))
    return days
