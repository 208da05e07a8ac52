"""``crmsync remap``: a mapping changed after the sync reaches history on purpose, exactly once.

The tenant's payments go through the shipped ``payment_received`` mapping, copied beside the
test so it can be edited as an IT admin would: a lookup row fixed (bank transfers booked on
the wrong bank account), a rule narrowed, a second mapping added for the same stream. The
ledger is read directly: the trial balance must move by exactly what the dry run announced.
"""

from __future__ import annotations

import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.state import open_state
from tests.engine.tenant import PAYMENT_MAPPING, balances, crmsync, make_setup, payments, source_ids_in_ledger

WRONG, RIGHT = "1002.01", "1002.02"  # 工商银行基本户 -> 招商银行一般户 for 银行转账 (term 1)


def _tenant(tmp_path: Path, state_url: str, records: list[dict[str, Any]]) -> tuple[Any, Path]:
    folder = tmp_path / "mappings"
    shutil.copytree(PAYMENT_MAPPING.parent, folder)
    setup = make_setup(tmp_path / "t", state_url, records, mapping=folder / PAYMENT_MAPPING.name)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    return setup, folder


def _fix_bank_account(folder: Path) -> None:
    csv = folder / "lookups" / "bank_accounts.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(f"1,{WRONG},", f"1,{RIGHT},"), encoding="utf-8")


def _delta(before: dict[str, Decimal], after: dict[str, Decimal]) -> dict[str, Decimal]:
    accounts = set(before) | set(after)
    moved = {a: after.get(a, Decimal(0)) - before.get(a, Decimal(0)) for a in accounts}
    return {a: v for a, v in moved.items() if v}


def test_a_fixed_lookup_is_previewed_then_reposted_for_exactly_the_affected_records(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(40)
    setup, folder = _tenant(tmp_path, state_url, records)
    transfers = [r for r in records if r["payment_term"] == "1"]
    moved = sum((Decimal(r["payment_amount"]) for r in transfers), Decimal(0))
    before = balances(setup.ledger)
    _fix_bank_account(folder)

    dry = crmsync("remap", "-c", str(setup.config), "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.stderr
    assert (dry.summary["added"], dry.summary["reversed"]) == (len(transfers), len(transfers))
    assert dry.summary["unchanged"] == len(records) - len(transfers)
    assert {
        (d["period"], d["account"]): (Decimal(d["debit"]), Decimal(d["credit"])) for d in dry.summary["delta"]
    } == {
        ("2026-11", WRONG): (-moved, Decimal(0)),  # red reversal: the debit taken back
        ("2026-11", RIGHT): (moved, Decimal(0)),
    }
    assert balances(setup.ledger) == before  # the dry run changed nothing

    posted = crmsync("remap", "-c", str(setup.config), "--post", "--format", "json")
    assert posted.exit_code == 0, posted.stderr
    assert posted.summary["delta"] == dry.summary["delta"]
    assert _delta(before, balances(setup.ledger)) == {WRONG: -moved, RIGHT: moved}
    reversed_ids = source_ids_in_ledger(setup.ledger, reversals=True)
    assert reversed_ids == Counter(r["_id"] for r in transfers)  # only the affected ones

    again = crmsync("remap", "-c", str(setup.config), "--post", "--format", "json")
    assert (again.summary["added"], again.summary["reversed"]) == (0, 0)
    assert again.summary["unchanged"] == len(records)
    assert _delta(before, balances(setup.ledger)) == {WRONG: -moved, RIGHT: moved}


def test_sync_and_status_say_which_mapping_changed_and_name_the_command(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(12)
    setup, folder = _tenant(tmp_path, state_url, records)
    _fix_bank_account(folder)

    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.exit_code == 0 and res.summary["read"] == 0
    [stale] = res.summary["stale_mappings"]
    assert (stale["mapping"], stale["older"], stale["never_offered"]) == ("payment_received", 12, 0)
    text = crmsync("status", "-c", str(setup.config)).stdout
    assert (
        "mapping 'payment_received' changed" in text and "12 records were mapped by an older version" in text
    )
    assert "crmsync remap --mapping payment_received --dry-run" in text

    assert crmsync("remap", "-c", str(setup.config)).exit_code == 0  # planned; the next sync posts
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.summary["stale_mappings"] == [] and res.summary["vouchers_posted"] > 0


def test_a_comment_in_a_mapping_is_not_a_new_version(tmp_path: Path, state_url: str) -> None:
    setup, folder = _tenant(tmp_path, state_url, payments(5))
    path = folder / PAYMENT_MAPPING.name
    path.write_text("# reviewed by 财务 2026-12\n" + path.read_text(encoding="utf-8"), encoding="utf-8")

    assert crmsync("sync", "-c", str(setup.config), "--format", "json").summary["stale_mappings"] == []


def test_a_rule_that_now_excludes_records_reverses_them(tmp_path: Path, state_url: str) -> None:
    records = payments(20)
    setup, folder = _tenant(tmp_path, state_url, records)
    path = folder / PAYMENT_MAPPING.name
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "when: life_status == 'normal'", "when: life_status == 'normal' and payment_term != '4'"
        ),
        encoding="utf-8",
    )
    cash = [r for r in records if r["payment_term"] == "4"]

    res = crmsync("remap", "-c", str(setup.config), "--post", "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert (res.summary["reversed"], res.summary["added"]) == (len(cash), 0)
    assert source_ids_in_ledger(setup.ledger, reversals=True) == Counter(r["_id"] for r in cash)
    assert "1001" not in balances(setup.ledger)  # 库存现金 back to zero


def test_a_mapping_added_for_a_stream_already_read_is_offered_its_history(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(9)
    setup, folder = _tenant(tmp_path, state_url, records)
    memo = folder / "payment_memo.yaml"
    memo.write_text(
        (folder / PAYMENT_MAPPING.name)
        .read_text(encoding="utf-8")
        .replace("name: payment_received", "name: payment_memo")
        .replace("group: 收", "group: 记"),
        encoding="utf-8",
    )
    config = setup.config.read_text(encoding="utf-8")
    setup.config.write_text(config.replace("mappings: [", f"mappings: [{str(memo)!r}, "), encoding="utf-8")

    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    [stale] = res.summary["stale_mappings"]
    assert (stale["mapping"], stale["never_offered"]) == ("payment_memo", 9)
    dry = crmsync(
        "remap", "-c", str(setup.config), "--mapping", "payment_memo", "--dry-run", "--format", "json"
    )
    assert (dry.summary["added"], dry.summary["reversed"], dry.summary["records"]) == (9, 0, 9)


def test_a_date_window_remaps_only_the_vouchers_dated_inside_it(tmp_path: Path, state_url: str) -> None:
    records = payments(27)  # one payment a day, 2026-11-01 .. 11-27
    setup, folder = _tenant(tmp_path, state_url, records)
    _fix_bank_account(folder)

    res = crmsync(
        "remap",
        "-c",
        str(setup.config),
        "--since",
        "2026-11-10",
        "--until",
        "2026-11-19",
        "--dry-run",
        "--format",
        "json",
    )
    inside = [r for i, r in enumerate(records) if 10 <= 1 + i % 27 <= 19]
    assert res.summary["records"] == len(inside)
    assert res.summary["added"] == sum(r["payment_term"] == "1" for r in inside)


def test_bad_requests_exit_2_and_a_held_lock_exits_4_changing_nothing(tmp_path: Path, state_url: str) -> None:
    setup, folder = _tenant(tmp_path, state_url, payments(6))
    _fix_bank_account(folder)
    before = balances(setup.ledger)

    unknown = crmsync("remap", "-c", str(setup.config), "--mapping", "payment_recieved")
    assert unknown.exit_code == 2 and "no mapping named 'payment_recieved'" in unknown.stderr
    assert "payment_received" in unknown.stderr  # the names it could have meant
    backwards = crmsync("remap", "-c", str(setup.config), "--since", "2026-11-30", "--until", "2026-11-01")
    assert backwards.exit_code == 2 and "--since 2026-11-30 is after --until 2026-11-01" in backwards.stderr
    with open_state(state_url) as holder:
        holder.acquire_lock(0)
        try:
            held = crmsync("remap", "-c", str(setup.config), "--post")
        finally:
            holder.release_lock()
    assert held.exit_code == 4
    with open_state(state_url) as store:
        assert store.counts_by_status() == {"posted": 6}
    assert balances(setup.ledger) == before
