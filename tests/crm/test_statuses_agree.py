"""Reports, vouchers and reconciliation agree on a tenant where payments pass through every status.

Each payment's history is a sequence of versions (an edit, a void, a change awaiting approval,
a delete), synced run by run into the ledger; afterwards the amount the ledger holds per
payment (1122 credits less reversals), the payments the reports count and those
reconciliation matches against are the same, to the cent.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.crm import load_book
from sync.reconcile.config import ReconcileConfig
from sync.reconcile.inputs import crm_from_records
from sync.reports.config import ReportsConfig
from tests.engine.tenant import crmsync, make_setup, payment

#: (statuses version by version, amounts version by version): what the last version leaves
HISTORIES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("normal",), ("97226.45",)),  # stays: counts
    (("normal", "invalid"), ("5000.00", "5000.00")),  # voided: out
    (("normal", "in_change"), ("50000.11", "52000.00")),  # a change waits: the approved amount stands
    (("normal", "in_change", "normal"), ("3000.00", "3300.00", "3300.00")),  # the change approved
    (("under_review", "normal"), ("1234.56", "1234.56")),  # approved later: counts
    (("under_review",), ("888.88",)),  # never approved: nothing
    (("normal", "ineffective"), ("777.70", "777.70")),  # no longer effective: out
    (("normal", "deleted"), ("4999.40", "4999.40")),  # deleted: out
]
WANT = {0: "97226.45", 2: "50000.11", 3: "3300.00", 4: "1234.56"}


def _version(i: int, status: str, amount: str, n: int) -> dict[str, Any]:
    deleted = status == "deleted"
    record = payment(i, amount, status="normal" if deleted else status)
    record["last_modified_time"] += n * 1000
    if deleted:
        record["is_deleted"] = True
    return record


def test_reports_vouchers_and_reconciliation_count_the_same_payments(tmp_path: Path, state_url: str) -> None:
    every: list[dict[str, Any]] = []
    setup = make_setup(tmp_path, state_url, [])
    longest = max(len(statuses) for statuses, _ in HISTORIES)
    for n in range(longest):  # one sync per round of edits, as they reach the CRM over time
        latest = [
            _version(i, statuses[min(n, len(statuses) - 1)], amounts[min(n, len(amounts) - 1)], n)
            for i, (statuses, amounts) in enumerate(HISTORIES)
        ]
        every += latest
        setup.write_payments(latest)
        assert crmsync("sync", "-c", str(setup.config)).exit_code == 0

    with sqlite3.connect(setup.ledger) as conn:  # what the payments took off the receivable, net
        ledger = {
            rid: Decimal(minor) / 100
            for rid, minor in conn.execute(
                "SELECT v.source_id, SUM(l.credit_minor - l.debit_minor) FROM lines l "
                "JOIN vouchers v ON v.id = l.voucher_id WHERE l.account = '1122' GROUP BY v.source_id"
            )
            if minor
        }
    want = {f"pay{i:06d}": Decimal(amount) for i, amount in WANT.items()}
    assert ledger == want

    pairs = [("PaymentObj", r) for r in every]  # the reports read every version, oldest first
    reported = {pid: p.amount for pid, p in load_book(pairs, ReportsConfig().fields()).payments.items()}
    matched, _, problems = crm_from_records(pairs, ReconcileConfig().crm_fields.fields())
    assert problems == []
    assert reported == want == {p.id: p.amount for p in matched}
