"""Manual match / unmatch decisions, kept in the state store (table ``reconcile_decisions``,
created by state-store migration 2) and applied on every later run.

A ``match`` or an ``unmatch`` of the whole line replaces the earlier decisions on that
bank line (they stay, marked revoked, for the audit trail). An ``unmatch`` of named
payments only adds forbidden pairs: a manual match keeps its other payments, and the
automatic rules never pair them again. ``unmatch`` without payments sends the line to
suspense until someone matches it.
"""

from __future__ import annotations

import json
import os

from sync import audit
from sync.reconcile.model import Decision
from sync.state import StateStore
from sync.state.store import now_iso

__all__ = ["active_decisions", "record_decision"]


def record_decision(store: StateStore, decision: Decision, who: str = "") -> int:
    """Store a decision (revoking the earlier ones on the same bank line); returns its id."""
    who = who or os.environ.get("USER", "")
    with store.transaction():
        if decision.action == "match" or not decision.payment_ids:
            store._execute(
                "UPDATE reconcile_decisions SET revoked = ? WHERE bank_id = ? AND revoked IS NULL",
                (now_iso(), decision.bank_id),
            )
        store._execute(
            "INSERT INTO reconcile_decisions (action, bank_id, payment_ids, note, who, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                decision.action,
                decision.bank_id,
                json.dumps(list(decision.payment_ids)),
                decision.note,
                who,
                now_iso(),
            ),
        )
        row = store._one(
            "SELECT MAX(id) AS id FROM reconcile_decisions WHERE bank_id = ?", (decision.bank_id,)
        )
        audit.record(  # audit hook (sync.audit): same transaction as the decision
            store,
            audit.Action.MANUAL_MATCH if decision.action == "match" else audit.Action.MANUAL_UNMATCH,
            decision.bank_id,
            {
                "payment_ids": list(decision.payment_ids),
                "note": decision.note,
                "decision_id": row["id"] if row else None,
            },
        )
    return int(row["id"]) if row else 0


def active_decisions(store: StateStore) -> list[Decision]:
    """The decisions in force, oldest first."""
    rows = store._all(
        "SELECT action, bank_id, payment_ids, note FROM reconcile_decisions WHERE revoked IS NULL ORDER BY id"
    )
    return [Decision(r["action"], r["bank_id"], tuple(json.loads(r["payment_ids"])), r["note"]) for r in rows]
