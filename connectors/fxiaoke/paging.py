"""Keyset paging on ``last_modified_time`` and the exactly-once cursor, without airbyte_cdk.

Why keyset and not ``offset``: offset paging over a result set sorted by
``last_modified_time`` loses a row whenever a record read on an earlier page is edited
before the next page (it jumps to the end and every later row shifts one place left), and
``offset`` stops at 10,000 (errorCode 10013). So every page is a fresh query from the last
``last_modified_time`` read: ``last_modified_time GTE t``, sorted by ``last_modified_time``
then ``_id``, ``offset`` 0. Rows already delivered at ``t`` come back and are dropped by
``_id`` + ``last_modified_time``. When a full page holds nothing but rows at ``t`` (a bulk
import stamps thousands of rows with one millisecond), paging switches to the documented
deep-paging form for that instant, ``last_modified_time EQ t`` + ``_id GT <last id>`` sorted by
``_id`` (docs/specs/fxiaoke.md §2.6), then carries on with ``last_modified_time GT t``. Offset stays 0 for any
volume.

The cursor (the Airbyte stream state) is the highest ``last_modified_time`` delivered plus the
``_id``s delivered within the overlap window below it. A new run, or a resumed interrupted
one, starts at ``watermark - overlap`` (clock skew, late commits) and drops exactly the rows it
already delivered, so every (``_id``, ``last_modified_time``) reaches the engine once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Cursor", "PageQuery", "next_query"]

LMT = "last_modified_time"
_BY_TIME = [{"fieldName": LMT, "isAsc": True}, {"fieldName": "_id", "isAsc": True}]
_BY_ID = [{"fieldName": "_id", "isAsc": True}]


@dataclass(frozen=True)
class PageQuery:
    """One page's frozen filter: ``last_modified_time <op> bound`` (and ``_id GT after_id``).

    ``voided`` pages add ``life_status EQ invalid``: the sweep for voided records (see Cursor).
    """

    op: Literal["GTE", "GT", "EQ"]
    bound: int
    after_id: str | None = None
    voided: bool = False

    def search_query_info(self, limit: int) -> dict[str, Any]:
        """The ``search_query_info`` of this page (field values are strings, as the docs show)."""
        filters = [{"field_name": LMT, "field_values": [str(self.bound)], "operator": self.op}]
        if self.voided:
            filters.append({"field_name": "life_status", "field_values": ["invalid"], "operator": "EQ"})
        if self.op == "EQ":
            if self.after_id is not None:
                filters.append({"field_name": "_id", "field_values": [self.after_id], "operator": "GT"})
            orders = _BY_ID
        else:
            orders = _BY_TIME
        return {"limit": limit, "offset": 0, "filters": filters, "orders": orders}

    def describe(self) -> str:
        """The page's filter in words, for error messages."""
        text = f"page filter last_modified_time {self.op} {self.bound}"
        text += f" and _id GT {self.after_id}" if self.after_id else ""
        return text + (" and life_status EQ invalid" if self.voided else "")

    def as_slice(self) -> dict[str, Any]:
        return {"op": self.op, "bound": self.bound, "after_id": self.after_id, "voided": self.voided}

    @classmethod
    def from_slice(cls, value: Mapping[str, Any]) -> PageQuery:
        return cls(
            op=value["op"],
            bound=int(value["bound"]),
            after_id=value.get("after_id"),
            voided=bool(value.get("voided", False)),
        )


def next_query(query: PageQuery, page: list[dict[str, Any]], limit: int) -> PageQuery | None:
    """The page after ``page`` (read with ``query``), or None when the stream is exhausted."""
    if len(page) < limit:
        if query.op == "EQ":  # the rows sharing this instant are done; go on above it
            return PageQuery("GT", query.bound, voided=query.voided)
        return None
    last = page[-1]
    if query.op == "EQ":
        return PageQuery("EQ", query.bound, last["_id"], voided=query.voided)
    last_time = int(last[LMT])
    if int(page[0][LMT]) == last_time:
        # a full page of one instant (a bulk import): the same query would return it again, so
        # walk the rest of that instant by _id (the page holds its first rows in _id order)
        return PageQuery("EQ", last_time, last["_id"], voided=query.voided)
    return PageQuery("GTE", last_time, voided=query.voided)


@dataclass
class Cursor:
    """Exactly-once bookkeeping: the watermark and what was delivered inside the overlap window.

    Voided records: whether the query API returns ``life_status: invalid`` rows by default is
    not documented (docs/specs/fxiaoke.md §6.2). So after the main pass each run sweeps once more with
    ``life_status EQ invalid`` from where the pass began (``void_from``, kept in the state until
    the sweep completes, so an interrupted run still sweeps its whole range). The voided rows
    delivered since the pass began are kept in the state too (``voided``, few: voids are rare)
    until the sweep completes, so neither the sweep nor a resumed run delivers one twice. The
    sweep never moves the watermark.
    """

    overlap_ms: int
    watermark: int | None = None
    #: _id -> last_modified_time of rows delivered with time >= watermark - overlap
    recent: dict[str, int] = field(default_factory=dict)
    #: where the pending sweep for voided rows starts (None: no sweep pending)
    void_from: int | None = None
    #: _id -> time of voided rows delivered since the pending sweep's pass began
    voided: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None, overlap_ms: int) -> Cursor:
        """Rebuild from an Airbyte stream state (tolerates an empty or foreign state)."""
        state = state or {}
        return cls(
            overlap_ms=overlap_ms,
            watermark=_ms(state.get(LMT)),
            recent=_times(state.get("recent")),
            void_from=_ms(state.get("void_from")),
            voided=_times(state.get("voided")),
        )

    def start_query(self, start_ms: int) -> PageQuery:
        """Where a run begins: the watermark minus the overlap, never before ``start_ms``."""
        if self.watermark is None:
            return PageQuery("GTE", start_ms)
        return PageQuery("GTE", max(start_ms, self.watermark - self.overlap_ms))

    def begin(self, start_ms: int) -> PageQuery:
        """The first page of a run; remembers where its sweep for voided rows must start."""
        query = self.start_query(start_ms)
        if self.void_from is None:
            self.void_from = query.bound
        return query

    def sweep_query(self, start_ms: int) -> PageQuery:
        """The first page of the sweep for voided rows."""
        return PageQuery("GTE", start_ms if self.void_from is None else self.void_from, voided=True)

    def accept(self, record: Mapping[str, Any], *, sweep: bool = False) -> bool:
        """True (and remembered) when this (_id, last_modified_time) was not delivered yet."""
        record_id, lmt = record["_id"], int(record[LMT])
        if self.recent.get(record_id) == lmt or self.voided.get(record_id) == lmt:
            return False
        if record.get("life_status") == "invalid":
            self.voided[record_id] = lmt
        if not sweep and (self.watermark is None or lmt > self.watermark):
            self.watermark = lmt
        self.recent[record_id] = lmt
        return True

    def to_state(self) -> dict[str, Any]:
        """The Airbyte stream state; the window is pruned to what a restart can still meet."""
        state: dict[str, Any] = {}
        if self.watermark is not None:
            floor = self.watermark - self.overlap_ms
            if any(v < floor for v in self.recent.values()):
                self.recent = {k: v for k, v in self.recent.items() if v >= floor}
            state[LMT] = self.watermark
        if self.recent or self.watermark is not None:
            state["recent"] = dict(self.recent)
        if self.void_from is not None:
            state["void_from"] = self.void_from
            state["voided"] = dict(self.voided)
        return state

    def sweep_done(self) -> None:
        """The sweep for voided rows is complete: forget its start and what it saw."""
        self.void_from = None
        self.voided = {}


def _times(value: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        return None
    return int(value)
