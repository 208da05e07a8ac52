"""变更中 (in_change): a change of an approved record waits for approval; what was posted stands.

The shipped mappings say ``hold_when: get('life_status') == 'in_change'``: the held version
posts nothing and reverses nothing; the approved version (normal again) then replaces the
posted voucher by a reversal and the new one, like any edit. The CRM read model keeps the
same rule (sync.crm.fields), so reports and the ledger agree throughout.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sync.crm import load_book
from sync.reports.config import ReportsConfig
from tests.engine.tenant import balances, crmsync, make_setup, payment, refs_in_ledger


def _book_total(records: list[dict[str, object]]) -> Decimal:
    book = load_book([("PaymentObj", r) for r in records], ReportsConfig().fields())
    return sum((p.amount for p in book.payments.values()), Decimal(0))


def test_a_change_awaiting_approval_leaves_the_posted_voucher_and_the_approved_one_replaces_it(
    tmp_path: Path, state_url: str
) -> None:
    first = payment(1, "50000.11")
    setup = make_setup(tmp_path, state_url, [first])
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0

    changing = {
        **payment(1, "52000.00", status="in_change"),
        "last_modified_time": first["last_modified_time"] + 1,
    }
    setup.write_payments([changing])
    held = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert held.exit_code == 0 and held.summary["skipped"] == 1 and held.summary["vouchers_posted"] == 0
    assert len(refs_in_ledger(setup.ledger)) == 1 and balances(setup.ledger)["1122"] == Decimal("-50000.11")
    assert _book_total([first, changing]) == Decimal("50000.11")  # the reports say the same

    approved = {**payment(1, "52000.00"), "last_modified_time": first["last_modified_time"] + 2}
    setup.write_payments([approved])
    done = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert done.exit_code == 0 and done.summary["reversed"] == 1
    assert balances(setup.ledger)["1122"] == Decimal("-52000.00")
    assert _book_total([first, changing, approved]) == Decimal("52000.00")


def test_a_record_first_seen_in_change_posts_nothing_until_approved(tmp_path: Path, state_url: str) -> None:
    setup = make_setup(tmp_path, state_url, [payment(2, "8888.88", status="in_change")])
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    assert not refs_in_ledger(setup.ledger)
    setup.write_payments([payment(2, "8888.88")])
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    assert balances(setup.ledger)["1122"] == Decimal("-8888.88")


def test_a_void_after_a_held_change_reverses_the_posted_voucher(tmp_path: Path, state_url: str) -> None:
    setup = make_setup(tmp_path, state_url, [payment(3, "1234.56")])
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    setup.write_payments([payment(3, "1300.00", status="in_change")])
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    setup.write_payments([payment(3, "1300.00", status="invalid")])
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    assert "1122" not in balances(setup.ledger)  # posted, then reversed: nothing left
