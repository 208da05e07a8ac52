"""Outbox commit: what one record's mapping results do to the state store.

Called inside the transaction that also stores the stream's cursor (see reading), so a
record's vouchers, contributions, quarantine entry and record-index row are durable exactly
when the cursor that moves past the record is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from sync.connector import PROBLEM_FIELD
from sync.engine.reversals import Planner, Put
from sync.engine.summary import RunSummary
from sync.mapping.api import NO_ID, Contribution, RecordResult
from sync.model import ReversalStyle
from sync.state import StateStore

__all__ = ["RecordOutcome", "RecordWriter", "fallback_record_id"]


class RecordOutcome(StrEnum):
    """How one record read is counted in the run summary (read = the sum of these)."""

    QUARANTINED = "quarantined"
    SKIPPED = "skipped"
    ALREADY_POSTED = "already_posted"
    #: it produced or joined a voucher still to post (the final status decides the count)
    PENDING = "pending"


def fallback_record_id(record: Mapping[str, Any]) -> str:
    """An id for a record whose mapping failed before it found the primary key."""
    blob = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:20]


class RecordWriter:
    """Commits what one record's mapping results mean: vouchers, group shares, quarantine, index.

    Kept apart from reading so that ``crmsync retry`` re-maps a quarantined record through
    exactly the same rules as a sync does.
    """

    def __init__(self, store: StateStore, planner: Planner, summary: RunSummary) -> None:
        self.store = store
        self.planner = planner
        self.summary = summary
        #: resolving quarantine entries costs a statement per record; skip it while there are none
        self._quarantine_open = bool(store.open_quarantine_count())

    def apply(
        self, source: str, stream: str, record: Mapping[str, Any], results: Sequence[RecordResult]
    ) -> RecordOutcome:
        """Write one record's results; returns how the record is counted."""
        self._keep(source, stream, record, results)
        quarantined = False
        for r in results:
            if r.error is not None:
                rid = r.record_id or r.error.record_id or fallback_record_id(record)
                self.store.quarantine(r.mapping, source, stream, rid, dict(record), r.error.render())
                quarantined = self._quarantine_open = True
        # the record's count goes to its first voucher or group; none when it is quarantined
        budget = [0 if quarantined else 1]
        outcome = RecordOutcome.QUARANTINED if quarantined else RecordOutcome.SKIPPED
        for r in results:
            if r.error is None:
                got = self._apply_one(source, stream, r, budget)
                if got:
                    outcome = got
        return outcome

    def _apply_one(
        self, source: str, stream: str, r: RecordResult, budget: list[int]
    ) -> RecordOutcome | None:
        """One mapping's result; returns the record's outcome when this result took its count."""
        if r.held:  # awaiting approval at the source: the record's vouchers stand as they are
            return None
        store, planner = self.store, self.planner
        prev = store.get_index(r.mapping, source, stream, r.record_id)
        prev_keys, prev_groups = (prev.voucher_keys, prev.group_keys) if prev else ([], [])
        live = not (r.skipped or r.voided)
        new_keys = [v.key for v in r.vouchers] if live else []
        new_groups = [c.group_key for c in r.contributions] if live else []
        for key in prev_keys:
            if key not in new_keys:
                planner.void(key, r.reversal_style)
        for group in prev_groups:
            if group not in new_groups:
                store.remove_contribution(r.mapping, group, r.record_id)
                store.mark_group_dirty(r.mapping, group, r.reversal_style, 0)
        outcome: RecordOutcome | None = None
        if live:
            for voucher in r.vouchers:
                got = planner.put(voucher, r.reversal_style, budget[0])
                if budget[0]:
                    outcome = RecordOutcome.ALREADY_POSTED if got is Put.ALREADY else RecordOutcome.PENDING
                    budget[0] = 0
            for c in r.contributions:
                shared = self._contribute(c, r.reversal_style, budget[0])
                if budget[0]:
                    outcome = shared
                    budget[0] = 0
        if prev is None or (prev_keys, prev_groups, prev.version) != (new_keys, new_groups, r.version):
            store.put_record(r.mapping, source, stream, r.record_id, new_keys, new_groups, r.version)
        if self._quarantine_open:
            store.resolve_quarantine(r.mapping, source, stream, r.record_id)
        return outcome

    def _keep(
        self, source: str, stream: str, record: Mapping[str, Any], results: Sequence[RecordResult]
    ) -> None:
        """Keep the record's latest copy for ``crmsync remap`` (not an unreadable input: it has none)."""
        if PROBLEM_FIELD in record:
            return
        rid = next((r.record_id for r in results if r.record_id and r.record_id != NO_ID), "")
        if rid:
            self.store.keep_record(source, stream, rid, record)

    def _contribute(self, c: Contribution, style: ReversalStyle, records: int) -> RecordOutcome:
        """Store a record's share of a group; a changed share marks the group for assembly."""
        store = self.store
        payload = json.dumps(c.payload, sort_keys=True, ensure_ascii=False, default=str)
        if store.get_contribution(c.mapping, c.group_key, c.record_id) != payload:
            store.put_contribution(c.mapping, c.group_key, c.record_id, payload)
            store.mark_group_dirty(c.mapping, c.group_key, style, records)
            return RecordOutcome.PENDING
        got = self.planner.attach(c.group_key, records)
        if got is Put.MISSING:  # the group has no voucher yet (e.g. its assembly failed): try again
            store.mark_group_dirty(c.mapping, c.group_key, style, records)
            return RecordOutcome.PENDING
        return RecordOutcome.ALREADY_POSTED if got is Put.ALREADY else RecordOutcome.PENDING
