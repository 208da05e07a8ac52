"""The reversal planner: how a new revision or a void replaces what went before.

Nothing that may have reached the ERP is ever edited. When a voucher key gets new content:

- the old revision never reached the ERP (``pending``: never sent or refused as transient;
  ``failed``: refused for good) -> it becomes ``superseded``, nothing to undo;
- the old revision is ``posted`` (or ``sending``: maybe posted) -> a reversal voucher (its own
  key ``<key>~rev``, same protocol) goes into the outbox, and the new revision depends on it,
  so the poster sends the reversal first and the new voucher only once the reversal took
  effect. A reversal of a ``sending`` voucher waits for the lookup that settles it.

A voided key keeps its ``heads`` row with an empty revision, so the planner knows the key
has history. Content that was posted and reversed before and now comes back gets a revision suffix
(``<hash>.2``) so its external reference is new to the ERP.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from enum import StrEnum
from typing import Any

from sync.dates import today_in_china
from sync.model import ReversalStyle, Voucher
from sync.state import StateStore, Status
from sync.state.status import MAYBE_IN_ERP, NEVER_SENT

__all__ = ["Change", "Planner", "Put", "approval_required", "reversal_dates"]


class Put(StrEnum):
    """What putting a voucher (or attaching records to one) did."""

    #: same content as the live revision, which the ERP already holds
    ALREADY = "already"
    #: same content as the live revision, not yet posted: the records count against it
    ATTACHED = "attached"
    #: a new revision went into the outbox (after retiring the old one)
    NEW = "new"
    #: the key has no live revision to attach to
    MISSING = "missing"


def approval_required(mappings: Any) -> frozenset[str]:
    """Names of the mappings whose vouchers wait for `crmsync approve` (``approval: required``)."""
    return frozenset(
        m.name for m in getattr(mappings, "mappings", ()) if getattr(m.spec, "approval", "none") == "required"
    )


def reversal_dates(mappings: Any) -> dict[str, str]:
    """Mapping name -> its ``reversal_date`` policy (original_if_open, original, today)."""
    return {
        m.name: str(getattr(m.spec, "reversal_date", "original_if_open"))
        for m in getattr(mappings, "mappings", ())
    }


class Change(StrEnum):
    """What the planner did to one voucher key (counted in ``Planner.tally``)."""

    #: the live revision already has this content: nothing to do
    UNCHANGED = "unchanged"
    #: a new voucher or a new revision went into the outbox
    ADDED = "added"
    #: a reversal of a revision the ERP holds (or may hold) went into the outbox
    REVERSED = "reversed"
    #: a revision never sent was withdrawn (superseded): nothing to undo in the ERP
    WITHDRAWN = "withdrawn"


class Planner:
    """Writes vouchers into the outbox under the reversal rule; call inside a transaction."""

    def __init__(
        self,
        store: StateStore,
        run_id: int | None,
        today: dt.date | None = None,
        approval: frozenset[str] = frozenset(),
        *,
        dates: Mapping[str, str] | None = None,
        closed_periods: Collection[str] = (),
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.today = today or today_in_china()
        #: mappings with `approval: required`: their new vouchers wait as awaiting_approval (issue 8)
        self.approval = approval
        #: mapping -> reversal_date policy; periods the destination takes no postings in
        self.dates = dict(dates or {})
        self.closed_periods = frozenset(closed_periods)
        #: what each put and void did to the outbox, for a caller that reports it (remap)
        self.tally: Counter[Change] = Counter()
        #: called with each voucher that goes into the outbox (+1) or is withdrawn unsent (-1)
        self.on_change: Callable[[Voucher, int], None] | None = None

    @classmethod
    def of(
        cls,
        store: StateStore,
        run_id: int | None,
        mappings: Any,
        destination: object | None = None,
        today: dt.date | None = None,
    ) -> Planner:
        """The planner for a run: the mappings' approval and reversal-date rules, the destination's
        closed periods (known without a call only where it says so: the embedded ledger)."""
        closed = getattr(destination, "closed_periods", ()) if destination is not None else ()
        return cls(
            store,
            run_id,
            today,
            approval_required(mappings),
            dates=reversal_dates(mappings),
            closed_periods=closed if isinstance(closed, Collection) else (),
        )

    def reversal_day(self, original: Voucher) -> dt.date:
        """When a reversal of ``original`` is dated, by its mapping's ``reversal_date``."""
        policy = self.dates.get(original.mapping.name, "original_if_open")
        if policy == "today":
            return self.today
        if policy == "original" or original.period not in self.closed_periods:
            return original.date
        return self._first_open_day(original.period)

    def revision_day(self, voucher: Voucher) -> dt.date:
        """When a new revision of a key with history is dated: its own date unless its period is
        closed, then like the reversal it follows (``original`` keeps the date: the ERP refuses it
        until the period is reopened, which is what that policy asks for)."""
        policy = self.dates.get(voucher.mapping.name, "original_if_open")
        if voucher.period not in self.closed_periods or policy == "original":
            return voucher.date
        return self.today if policy == "today" else self._first_open_day(voucher.period)

    def _first_open_day(self, period: str) -> dt.date:
        """The first day of the first period after ``period`` (itself closed) that is open."""
        year, month = (int(part) for part in period.split("-"))
        while f"{year:04d}-{month:02d}" in self.closed_periods:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return dt.date(year, month, 1)

    def _redated(self, voucher: Voucher) -> Voucher:
        """``voucher`` moved out of a closed period (a new revision of an edited record)."""
        day = self.revision_day(voucher)
        if day == voucher.date:
            return voucher
        data = voucher.model_dump()
        data.update(date=day, period=f"{day.year:04d}-{day.month:02d}", revision="")
        return Voucher.model_validate(data)

    def put(self, voucher: Voucher, style: ReversalStyle | str, records: int) -> Put:
        """Put ``voucher`` as the live revision of its key (``Put.ALREADY``, ``ATTACHED`` or ``NEW``)."""
        store = self.store
        head = store.get_head(voucher.key)
        if head is not None and head.revision and head.content == voucher.revision:
            self.tally[Change.UNCHANGED] += 1
            return self.attach(voucher.key, records)
        content = voucher.revision  # what the mapping made: an unchanged record is recognised by it
        if head is not None and voucher.period in self.closed_periods:
            voucher = self._redated(voucher)  # an edit of a closed period lands in the first open one
        revision = voucher.revision
        # a key never seen has no history: spare the query (the common case)
        taken = set(store.revisions_of(voucher.key)) if head is not None else set()
        if revision in taken:
            n = 2
            while f"{voucher.revision}.{n}" in taken:
                n += 1
            revision = f"{voucher.revision}.{n}"
            voucher = voucher.model_copy(update={"revision": revision})
        depends = (
            self._retire(voucher.key, head.revision, style) if head is not None and head.revision else None
        )
        self._insert(voucher, kind="voucher", style=style, records=records, depends_on=depends)
        store.set_head(voucher.key, revision, content)
        self._changed(Change.ADDED, voucher, 1)
        return Put.NEW

    def attach(self, key: str, records: int) -> Put:
        """Count ``records`` against the live revision of ``key`` (``Put.ALREADY`` if posted)."""
        head = self.store.get_head(key)
        if head is None or not head.revision:
            return Put.MISSING
        row = self.store.get_voucher(key, head.revision)
        if row is None:
            return Put.MISSING
        if row.status == Status.POSTED:
            return Put.ALREADY
        if records and self.run_id is not None:
            self.store.attach_run(row.external_ref, self.run_id, records)
        return Put.ATTACHED

    def void(self, key: str, style: ReversalStyle | str) -> bool:
        """The source record behind ``key`` is gone (voided, deleted, now skipped): undo it.

        Returns True when a reversal voucher was planned.
        """
        head = self.store.get_head(key)
        if head is None or not head.revision:
            return False
        planned = self._retire(key, head.revision, style)
        self.store.set_head(key, "", "")  # no live revision; the key's history stays known
        return planned is not None

    def _retire(self, key: str, revision: str, style: ReversalStyle | str) -> str | None:
        row = self.store.get_voucher(key, revision)
        if row is None:
            return None
        if row.status in NEVER_SENT:
            # guarded: a voucher approved meanwhile (awaiting -> pending) is superseded all the same
            self.store.transition(row.external_ref, Status.SUPERSEDED, expected=NEVER_SENT)
            if self.on_change is not None:
                self._changed(Change.WITHDRAWN, Voucher.from_stored(row.payload), -1)
            else:
                self.tally[Change.WITHDRAWN] += 1
            return None
        if row.status == Status.POSTED or row.status in MAYBE_IN_ERP:
            original = Voucher.from_stored(row.payload)
            reversal = original.reversal(ReversalStyle(style), on=self.reversal_day(original))
            existing = self.store.get_by_ref(reversal.external_ref)
            if existing is not None:
                return existing.external_ref
            self._insert(
                reversal,
                kind="reversal",
                style=style,
                records=0,
                depends_on=row.external_ref if row.status in MAYBE_IN_ERP else None,
                reversal_of=row.external_ref,
            )
            self._changed(Change.REVERSED, reversal, 1)
            return reversal.external_ref
        return None

    def _changed(self, change: Change, voucher: Voucher, sign: int) -> None:
        self.tally[change] += 1
        if self.on_change is not None:
            self.on_change(voucher, sign)

    def _insert(
        self,
        voucher: Voucher,
        *,
        kind: str,
        style: ReversalStyle | str,
        records: int,
        depends_on: str | None,
        reversal_of: str | None = None,
    ) -> None:
        src = voucher.source
        self.store.insert_voucher(
            key=voucher.key,
            revision=voucher.revision,
            mapping=voucher.mapping.name,
            kind=kind,
            record_ids=[s.record_id for s in voucher.sources],
            source=(src.system, src.stream, src.record_id),
            payload=voucher.model_dump_json(),
            total=str(voucher.total),
            voucher_date=voucher.date.isoformat(),
            reversal_of=reversal_of,
            depends_on=depends_on,
            reversal_style=str(ReversalStyle(style).value),
            run_id=self.run_id,
            run_records=records,
            status=Status.AWAITING_APPROVAL
            if kind == "voucher" and voucher.mapping.name in self.approval
            else Status.PENDING,
        )
