"""Manual decisions in the state store (migration 2), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sync.reconcile.decisions import active_decisions, record_decision
from sync.reconcile.model import Decision
from sync.state import open_state


def test_decisions_survive_reopening_and_replace_each_other(state_url: str, tmp_path: Path) -> None:
    store = open_state(state_url, tmp_path)
    try:
        record_decision(store, Decision("match", "camt053:b1", ("p1", "p2"), "客户电话确认"), who="finance")
        record_decision(store, Decision("unmatch", "camt053:b1", ("p2",)))
        record_decision(store, Decision("unmatch", "camt053:b9"))
    finally:
        store.close()
    store = open_state(state_url, tmp_path)
    try:
        assert active_decisions(store) == [
            Decision("match", "camt053:b1", ("p1", "p2"), "客户电话确认"),
            Decision("unmatch", "camt053:b1", ("p2",)),
            Decision("unmatch", "camt053:b9"),
        ]
        record_decision(store, Decision("match", "camt053:b9", ("p7",)))  # replaces the unmatch of b9
        assert [d for d in active_decisions(store) if d.bank_id == "camt053:b9"] == [
            Decision("match", "camt053:b9", ("p7",))
        ]
    finally:
        store.close()
