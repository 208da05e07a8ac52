"""Manual match / unmatch decisions, kept in the state store (table ``reconcile_decisions``,
created by state-store migration 2) and applied on every later run.

A ``match`` or an ``unmatch`` of the whole line replaces the earlier decisions on that
bank line (they stay, marked revoked, for the audit trail). An ``unmatch`` of named
payments only adds forbidden pairs: a manual match keeps its other payments, and the
automatic rules never pair them again. ``unmatch`` without payments sends the line to
suspense until someone matches it.
"""

from __future__ import annotations

import os

from sync.reconcile.model import Decision
from sync.state import StateStore, audit

__all__ = ["active_decisions", "record_decision"]


def record_decision(store: StateStore, decision: Decision, who: str = "") -> int:
    """Store a decision (revoking the earlier ones on the same bank line); returns its id."""
    who = who or os.environ.get("USER", "")
    with store.transaction():
        decision_id = store.add_decision(
            decision.action,
            decision.bank_id,
            decision.payment_ids,
            decision.note,
            who,
            replaces=decision.action == "match" or not decision.payment_ids,
        )
        audit.record(  # same transaction as the decision
            store,
            audit.Action.MANUAL_MATCH if decision.action == "match" else audit.Action.MANUAL_UNMATCH,
            decision.bank_id,
            {"payment_ids": list(decision.payment_ids), "note": decision.note, "decision_id": decision_id},
        )
    return decision_id


def active_decisions(store: StateStore) -> list[Decision]:
    """The decisions in force, oldest first."""
    return [
        Decision("match" if r.action == "match" else "unmatch", r.bank_id, r.payment_ids, r.note)
        for r in store.active_decisions()
    ]
