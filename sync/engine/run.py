"""One sync run: read -> map -> commit (with the cursor) -> assemble groups -> post.

The caller holds the state store's run lock for the whole run (see
``sync.orchestration.sync_once``), so no other run posts from the same outbox at the same time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.connector import SWEEP_FIELD, SourceHandle
from sync.destination import Destination
from sync.engine.outbox import RecordOutcome, RecordWriter
from sync.engine.poster import Poster
from sync.engine.reading import build_catalog, read_messages, stored_state
from sync.engine.retry import RetryPolicy
from sync.engine.reversals import Planner, Put
from sync.engine.summary import RunSummary
from sync.errors import CrmsyncError, DestinationUnavailable, MappingError
from sync.mapping.api import Contribution, RecordResult
from sync.model import ReversalStyle
from sync.state import StateStore, Status
from sync.state.status import NOT_DONE

__all__ = ["Engine", "PlanHook", "Progress"]

log = logging.getLogger("crmsync.engine")

#: records mapped together before their index rows and heads are read from the store at once
PAGE = 250

#: an extra planner run after reading, before posting: puts/voids vouchers through the Planner
#: (its own transactions) and may add source errors to the summary; see ``_plan_hooks``
PlanHook = Callable[[Planner, RunSummary], None]


@dataclass
class Progress:
    """Callbacks a front end (progress bar, log lines) hooks into; all optional."""

    on_read: Callable[[int], None] = field(default=lambda n: None)
    on_posted: Callable[[int], None] = field(default=lambda n: None)
    on_phase: Callable[[str, int | None], None] = field(default=lambda name, total: None)


class Engine:
    """One run over one state store: every source read from its cursor, then the outbox posted.

    Features above the engine join a run only through ``plans`` (extra planners that put or
    void vouchers after reading, before posting); the engine imports none of them.
    """

    def __init__(
        self,
        store: StateStore,
        mappings: Any,
        sources: dict[str, SourceHandle],
        destination: Destination | None,
        *,
        policy: RetryPolicy | None = None,
        progress: Progress | None = None,
        today: dt.date | None = None,
        plans: Sequence[PlanHook] = (),
    ) -> None:
        self.store = store
        self.mappings = mappings
        self.sources = sources
        self.dest = destination
        self.policy = policy or RetryPolicy.from_env()
        self.progress = progress or Progress()
        self.today = today
        self.plans = tuple(plans)

    def run(self, *, post: bool = True) -> RunSummary:
        started = time.monotonic()
        summary = RunSummary()
        summary.run_id = run_id = self.store.start_run()
        status, message = "failed", ""
        try:
            planner = Planner.of(self.store, run_id, self.mappings, self.dest, self.today)
            writer = RecordWriter(self.store, planner, summary)
            self.progress.on_phase("reading", None)
            for name in sorted(self.sources):
                self._read_source(name, writer, summary)
            self.assemble_groups(planner, summary)
            for plan in self.plans:  # extra planners (reconciliation): after reading, before posting
                plan(planner, summary)
            if post and self.dest is not None:
                self.progress.on_phase("posting", self._pending_count())
                Poster(self.store, self.dest, self.policy, summary, self.progress.on_posted).run()
            status = "done" if summary.exit_code == 0 else "incomplete"
        except DestinationUnavailable as exc:
            status, message = "unavailable", exc.message
            raise
        except CrmsyncError as exc:
            message = exc.message
            raise
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._final_counts(summary, aborted=status == "failed")
            summary.seconds = time.monotonic() - started
            summary.status = status
            try:
                self.store.finish_run(run_id, status, summary.as_dict(), message)
            except CrmsyncError:
                log.exception("could not record the end of run %s", run_id)
        return summary

    # -- reading --------------------------------------------------------------------------

    def _read_source(self, name: str, writer: RecordWriter, summary: RunSummary) -> None:
        handle = self.sources[name]
        wanted = set(self.mappings.streams().get(name, set()))
        if not wanted:
            return
        catalog = build_catalog(name, handle, wanted)
        state = stored_state(self.store, name, wanted)
        errors: list[str] = []
        events = read_messages(name, handle, catalog, state, errors)
        done = False
        while not done:
            done = True
            with self.store.transaction():
                page: list[tuple[str, str, Any]] = []
                cursor: tuple[str, Any] | None = None
                for kind, stream, data in events:
                    if kind == "state":
                        cursor = (stream, data)
                        done = False
                        break
                    if stream in wanted:
                        page.append((kind, stream, data))
                    if len(page) >= PAGE:
                        self._page(name, page, writer, summary)
                        page = []
                self._page(name, page, writer, summary)
                if cursor is not None:
                    self.store.set_cursor(name, *cursor)
        summary.source_errors += errors

    def _page(
        self, source: str, page: list[tuple[str, str, Any]], writer: RecordWriter, summary: RunSummary
    ) -> None:
        """Map a page of records, read what the store knows of them in two statements, write them."""
        mapped = [
            (kind, stream, data, self.mappings.map_record(source, stream, data) if kind == "record" else [])
            for kind, stream, data in page
        ]
        index_keys = [
            (r.mapping, source, stream, r.record_id)
            for kind, stream, _, results in mapped
            for r in results
            if r.error is None and r.record_id
        ]
        head_keys = [v.key for *_, results in mapped for r in results for v in r.vouchers]
        if index_keys:
            self.store.prefetch(index_keys, head_keys)
        for kind, stream, data, results in mapped:
            if kind == "sweep":  # not a record: the source read one input whole
                self._sweep(source, stream, data)
            else:
                self._record(source, stream, data, results, writer, summary)

    def _sweep(self, source: str, stream: str, marker: dict[str, Any]) -> None:
        """Quarantined lines of an input read again whole and no longer a problem: resolved."""
        place = str(marker.get("_id", ""))
        resolved = self.store.resolve_places(source, stream, place, list(marker[SWEEP_FIELD]))
        if resolved:
            log.info("%s.%s: %d quarantined lines of %s are fixed or gone", source, stream, resolved, place)

    def _record(  # noqa: PLR0917 - one record's parts, as the page holds them
        self,
        source: str,
        stream: str,
        record: dict[str, Any],
        results: Sequence[RecordResult],
        writer: RecordWriter,
        summary: RunSummary,
    ) -> None:
        outcome = writer.apply(source, stream, record, results)
        summary.read += 1
        key = f"{source}.{stream}"
        summary.streams[key] = summary.streams.get(key, 0) + 1
        if outcome is RecordOutcome.QUARANTINED:
            summary.quarantined += 1
        elif outcome is RecordOutcome.SKIPPED:
            summary.skipped += 1
        elif outcome is RecordOutcome.ALREADY_POSTED:
            summary.already_posted += 1
        self.progress.on_read(1)

    # -- summarised vouchers ----------------------------------------------------------------

    def assemble_groups(self, planner: Planner, summary: RunSummary) -> None:
        """Build the voucher of every group whose members changed (stored dirty with them)."""
        while True:
            groups = self.store.dirty_groups(200)
            if not groups:
                return
            with self.store.transaction():
                for g in groups:
                    mapping, group_key = g.mapping, g.group_key
                    style = ReversalStyle(g.reversal_style)
                    records = g.run_records
                    members = self.store.group_members(mapping, group_key)
                    if not members:
                        planner.void(group_key, style)
                    else:
                        contributions = [
                            Contribution(mapping, group_key, rid, json.loads(payload))
                            for rid, payload in members
                        ]
                        try:
                            voucher = self.mappings.assemble(mapping, group_key, contributions)
                        except MappingError as exc:
                            self.store.quarantine(
                                mapping,
                                "(group)",
                                mapping,
                                group_key,
                                {"group_key": group_key, "records": [m[0] for m in members]},
                                exc.render(),
                            )
                            summary.quarantined += records
                        else:
                            if planner.put(voucher, style, records) is Put.ALREADY:
                                summary.already_posted += records
                    self.store.clear_dirty_group(mapping, group_key)

    # -- counts -----------------------------------------------------------------------------

    def _pending_count(self) -> int:
        return self.store.count_status(Status.PENDING)

    def _final_counts(self, summary: RunSummary, *, aborted: bool = False) -> None:
        try:
            outcomes = self.store.run_outcomes(summary.run_id)
        except CrmsyncError:
            return
        adopted = self.store.run_adopted(summary.run_id)
        summary.posted = outcomes.get(Status.POSTED, 0) - adopted
        summary.already_posted += (
            outcomes.get(Status.SUPERSEDED, 0) + outcomes.get(Status.REVERSED, 0) + adopted
        )
        summary.awaiting_approval = outcomes.get(Status.AWAITING_APPROVAL, 0)
        summary.failed = sum(n for s, n in outcomes.items() if s in NOT_DONE) - summary.awaiting_approval
        summary.mapped = summary.read - summary.skipped - summary.quarantined
        # every record read is posted, already there, skipped, quarantined or failed; an
        # aborted run rolled back the records of its last transaction (they are read again)
        if not aborted and not summary.adds_up:
            log.error(
                "run %s: the counts do not add up (%s); this is a bug", summary.run_id, summary.as_dict()
            )
