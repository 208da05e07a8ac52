"""Keyset paging and the exactly-once cursor, as properties over arbitrary tenants (no HTTP)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.fxiaoke.paging import Cursor, PageQuery, next_query

Row = dict[str, Any]


def answer(rows: list[Row], query: PageQuery, limit: int) -> list[Row]:
    """What the API returns for one page: the filter, the order, the limit (offset is always 0)."""
    info = query.search_query_info(limit)
    assert info["offset"] == 0
    if query.op == "EQ":
        hits = [r for r in rows if r["last_modified_time"] == query.bound]
        if query.after_id is not None:
            hits = [r for r in hits if r["_id"] > query.after_id]
        hits.sort(key=lambda r: r["_id"])
    else:
        low = query.bound + (1 if query.op == "GT" else 0)
        hits = sorted(
            (r for r in rows if r["last_modified_time"] >= low),
            key=lambda r: (r["last_modified_time"], r["_id"]),
        )
    return hits[:limit]


def read(rows: list[Row], cursor: Cursor, limit: int, max_pages: int | None = None) -> tuple[list[Row], bool]:
    """Delivered rows, and whether the read finished (False: stopped after ``max_pages``)."""
    delivered: list[Row] = []
    query: PageQuery | None = cursor.start_query(0)
    pages = 0
    while query is not None:
        if max_pages is not None and pages == max_pages:
            return delivered, False
        page = answer(rows, query, limit)
        pages += 1
        assert pages < 10_000, "paging does not make progress"
        delivered += [r for r in page if cursor.accept(r)]
        query = next_query(query, page, limit)
    return delivered, True


tenants = st.lists(st.integers(min_value=1, max_value=40), min_size=0, max_size=120).map(
    lambda times: [{"_id": f"{i:024x}", "last_modified_time": t * 1000} for i, t in enumerate(times)]
)


@settings(max_examples=150, deadline=None)
@given(rows=tenants, limit=st.integers(min_value=1, max_value=12))
def test_every_row_is_delivered_exactly_once_whatever_the_ties_and_page_size(
    rows: list[Row], limit: int
) -> None:
    delivered, done = read(rows, Cursor(overlap_ms=5_000), limit)

    assert done
    assert sorted(r["_id"] for r in delivered) == sorted(r["_id"] for r in rows)


@settings(max_examples=150, deadline=None)
@given(
    rows=tenants,
    limit=st.integers(min_value=1, max_value=12),
    stop_after=st.integers(min_value=0, max_value=30),
    overlap_s=st.integers(min_value=0, max_value=20),
)
def test_a_read_interrupted_after_any_page_resumes_from_its_state_exactly_once(
    rows: list[Row], limit: int, stop_after: int, overlap_s: int
) -> None:
    cursor = Cursor(overlap_ms=overlap_s * 1000)
    first, _ = read(rows, cursor, limit, max_pages=stop_after)
    resumed = Cursor.from_state(cursor.to_state(), overlap_s * 1000)
    second, done = read(rows, resumed, limit)

    assert done
    assert sorted(r["_id"] for r in first + second) == sorted(r["_id"] for r in rows)


@settings(max_examples=100, deadline=None)
@given(rows=tenants, limit=st.integers(min_value=1, max_value=12), edited=st.data())
def test_after_edits_the_next_run_delivers_exactly_the_edited_rows(
    rows: list[Row], limit: int, edited: Any
) -> None:
    cursor = Cursor(overlap_ms=10_000)
    read(rows, cursor, limit)
    picks = edited.draw(st.sets(st.sampled_from(range(len(rows))), max_size=len(rows))) if rows else set()
    for n, index in enumerate(sorted(picks)):
        rows[index] = {**rows[index], "last_modified_time": 50_000 + n % 3}  # edits, some in the same ms

    again, _ = read(rows, Cursor.from_state(cursor.to_state(), 10_000), limit)

    assert sorted(r["_id"] for r in again) == sorted(rows[i]["_id"] for i in picks)


def test_a_full_page_of_one_instant_switches_to_paging_by_id_then_continues_above_it() -> None:
    page = [{"_id": f"{i:024x}", "last_modified_time": 7000} for i in range(3)]

    by_id = next_query(PageQuery("GTE", 1000), page, 3)
    assert by_id == PageQuery("EQ", 7000, f"{2:024x}")
    assert by_id.search_query_info(3)["filters"][1] == {
        "field_name": "_id",
        "field_values": [f"{2:024x}"],
        "operator": "GT",
    }
    assert next_query(by_id, page[:1], 3) == PageQuery("GT", 7000)


def test_the_state_keeps_only_what_a_restart_can_meet_again() -> None:
    cursor = Cursor(overlap_ms=1000)
    for i, t in enumerate([1000, 5000, 9500, 10_000]):
        cursor.accept({"_id": str(i), "last_modified_time": t})

    assert cursor.to_state() == {"last_modified_time": 10_000, "recent": {"2": 9500, "3": 10_000}}
    assert Cursor.from_state({}, 1000).start_query(42) == PageQuery("GTE", 42)
    assert Cursor.from_state(cursor.to_state(), 1000).start_query(42) == PageQuery("GTE", 9000)


def answer_with_voids(rows: list[Row], query: PageQuery, limit: int, hidden: bool) -> list[Row]:
    """Like ``answer``, with ``life_status``: a hiding API leaves voided rows out unless asked."""
    if query.voided:
        rows = [r for r in rows if r.get("life_status") == "invalid"]
    elif hidden:
        rows = [r for r in rows if r.get("life_status") != "invalid"]
    return answer(rows, query, limit)


def read_with_sweep(
    rows: list[Row], cursor: Cursor, limit: int, hidden: bool, max_pages: int | None = None
) -> tuple[list[Row], bool]:
    """What the stream does: the main pass, then the sweep for voided rows (stops after max_pages)."""
    delivered: list[Row] = []
    pages = 0
    for first in (cursor.begin, cursor.sweep_query):
        query: PageQuery | None = first(0)
        while query is not None:
            if max_pages is not None and pages == max_pages:
                return delivered, False
            page = answer_with_voids(rows, query, limit, hidden)
            pages += 1
            delivered += [r for r in page if cursor.accept(r, sweep=query.voided)]
            query = next_query(query, page, limit)
            if query is None and first == cursor.sweep_query:
                cursor.sweep_done()
    return delivered, True


voiding_tenants = st.lists(
    st.tuples(st.integers(min_value=1, max_value=40), st.booleans()), min_size=0, max_size=80
).map(
    lambda rows: [
        {"_id": f"{i:024x}", "last_modified_time": t * 1000, "life_status": "invalid" if v else "normal"}
        for i, (t, v) in enumerate(rows)
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    rows=voiding_tenants,
    limit=st.integers(min_value=1, max_value=8),
    hidden=st.booleans(),
    stop_after=st.integers(min_value=0, max_value=25),
)
def test_voided_rows_are_delivered_once_whether_or_not_the_api_hides_them_even_across_interruptions(
    rows: list[Row], limit: int, hidden: bool, stop_after: int
) -> None:
    complete, _ = read_with_sweep(rows, Cursor(overlap_ms=3000), limit, hidden)
    assert sorted(r["_id"] for r in complete) == sorted(r["_id"] for r in rows)  # one run: exactly once

    cursor = Cursor(overlap_ms=3000)
    first, _ = read_with_sweep(rows, cursor, limit, hidden, max_pages=stop_after)
    second, done = read_with_sweep(rows, Cursor.from_state(cursor.to_state(), 3000), limit, hidden)
    delivered = [r["_id"] for r in first + second]
    assert done
    assert sorted(delivered) == sorted(r["_id"] for r in rows)  # none lost, none twice
