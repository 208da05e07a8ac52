"""Table ``reconcile_decisions``: manual match / unmatch decisions, applied on every later run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sync.state.base import StoreBase, now_iso

__all__ = ["DecisionRow", "DecisionsTable"]


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One decision in force, as stored."""

    id: int
    action: str
    bank_id: str
    payment_ids: tuple[str, ...]
    note: str


class DecisionsTable(StoreBase):
    """Add a decision (revoking the earlier ones on its bank line when it replaces them), list them."""

    def add_decision(
        self, action: str, bank_id: str, payment_ids: Sequence[str], note: str, who: str, *, replaces: bool
    ) -> int:
        """Store one decision; ``replaces``: the earlier decisions on ``bank_id`` are revoked first.

        Call inside a transaction (with the audit entry that records it); returns its id.
        """
        if replaces:
            self._execute(
                "UPDATE reconcile_decisions SET revoked = ? WHERE bank_id = ? AND revoked IS NULL",
                (now_iso(), bank_id),
            )
        row = self._one(
            "INSERT INTO reconcile_decisions (action, bank_id, payment_ids, note, who, created) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (action, bank_id, json.dumps(list(payment_ids)), note, who, now_iso()),
        )
        assert row is not None
        return int(row["id"])

    def active_decisions(self) -> list[DecisionRow]:
        """The decisions in force, oldest first."""
        rows = self._all(
            "SELECT id, action, bank_id, payment_ids, note FROM reconcile_decisions WHERE revoked IS NULL "
            "ORDER BY id"
        )
        return [
            DecisionRow(
                int(r["id"]), r["action"], r["bank_id"], tuple(json.loads(r["payment_ids"])), r["note"]
            )
            for r in rows
        ]
