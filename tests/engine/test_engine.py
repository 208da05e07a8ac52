"""The engine end to end, in-process: files source -> mappings -> outbox -> embedded ledger.

Every test runs on SQLite and on PostgreSQL state (``state_url``). The ledger never dedupes
(``dedupe: false``), so "exactly once" is proven by crmsync, not granted by the ledger.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.state import Status, open_state
from tests.engine.conftest import crmsync
from tests.engine.tenant import (
    balances,
    expected_balances,
    make_setup,
    payment,
    payments,
    refs_in_ledger,
    source_ids_in_ledger,
)


def adds_up(s: dict) -> bool:  # type: ignore[type-arg]
    return s["read"] == s["posted"] + s["already_posted"] + s["skipped"] + s["quarantined"] + s["failed"]


def test_first_run_posts_every_record_once_and_a_second_run_does_nothing(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(23)
    setup = make_setup(tmp_path, state_url, records)
    first = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert (first.summary["read"], first.summary["posted"], first.summary["vouchers_posted"]) == (23, 23, 23)
    assert adds_up(first.summary)
    assert set(source_ids_in_ledger(setup.ledger).values()) == {1}
    assert balances(setup.ledger) == expected_balances(records)
    second = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert second.exit_code == 0
    assert (second.summary["read"], second.summary["vouchers_posted"]) == (0, 0)
    assert sum(refs_in_ledger(setup.ledger).values()) == 23


def test_text_summary_names_every_count(tmp_path: Path, state_url: str) -> None:
    setup = make_setup(tmp_path, state_url, payments(3))
    res = crmsync("sync", "-c", str(setup.config))
    assert res.exit_code == 0
    for word in (
        "read 3",
        "mapped 3",
        "posted 3",
        "already posted 0",
        "reversed 0",
        "skipped by rule 0",
        "quarantined 0",
        "failed 0",
    ):
        assert word in res.stdout
    again = crmsync("sync", "-c", str(setup.config))
    assert "nothing new" in again.stdout


def test_editing_a_posted_amount_posts_one_reversal_and_one_new_voucher(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(12)
    setup = make_setup(tmp_path, state_url, records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    records[4] = {**records[4], "payment_amount": "1130.05"}
    setup.write_payments(records)
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.exit_code == 0, res.stderr
    s = res.summary
    assert (s["reversed"], s["posted"], s["vouchers_posted"]) == (1, 1, 2)
    assert s["already_posted"] == 11 and adds_up(s)
    rid = records[4]["_id"]
    assert source_ids_in_ledger(setup.ledger)[rid] == 2  # the original and the new revision
    assert source_ids_in_ledger(setup.ledger, reversals=True) == {rid: 1}
    assert balances(setup.ledger) == expected_balances(records)
    with open_state(state_url) as store:
        statuses = sorted(r.status for r in store.list_vouchers(source_id=rid))
    assert statuses == ["posted", "posted", "reversed"]


def test_an_edit_back_to_earlier_content_posts_it_again_under_a_new_reference(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(3)
    setup = make_setup(tmp_path, state_url, records)
    original = records[1]["payment_amount"]
    for amount in ("77.70", original):
        crmsync("sync", "-c", str(setup.config))
        records[1] = {**records[1], "payment_amount": amount}
        setup.write_payments(records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    assert balances(setup.ledger) == expected_balances(records)
    assert max(refs_in_ledger(setup.ledger).values()) == 1


def test_a_voided_record_is_reversed_and_its_balance_returns_to_zero(tmp_path: Path, state_url: str) -> None:
    records = payments(6)
    setup = make_setup(tmp_path, state_url, records)
    crmsync("sync", "-c", str(setup.config))
    records[2] = {**records[2], "life_status": "invalid"}
    setup.write_payments(records)
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.summary["reversed"] == 1 and res.summary["skipped"] == 1 and adds_up(res.summary)
    assert balances(setup.ledger) == expected_balances(records)


def test_transient_errors_are_retried_and_each_voucher_posted_once(tmp_path: Path, state_url: str) -> None:
    records = payments(30)
    setup = make_setup(
        tmp_path,
        state_url,
        records,
        destination={"type": "faulty", "seed": 3, "transient": 0.5},
        batch_size=3,
    )
    for _ in range(5):
        res = crmsync("sync", "-c", str(setup.config), "--format", "json")
        if res.exit_code == 0 and res.summary["read"] == 0:
            break
    assert set(refs_in_ledger(setup.ledger).values()) == {1}
    assert len(refs_in_ledger(setup.ledger)) == 30
    assert balances(setup.ledger) == expected_balances(records)


def test_unknown_outcomes_are_looked_up_and_never_sent_twice(tmp_path: Path, state_url: str) -> None:
    records = payments(20)
    setup = make_setup(
        tmp_path,
        state_url,
        records,
        batch_size=4,
        destination={"type": "faulty", "seed": 5, "unknown_after_commit": 0.5, "lost_response": 0.3},
    )
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert res.summary["posted"] == 20
    assert refs_in_ledger(setup.ledger) == {r: 1 for r in refs_in_ledger(setup.ledger)}
    assert len(refs_in_ledger(setup.ledger)) == 20
    with open_state(state_url) as store:
        rows = store.list_vouchers()
    assert {r.status for r in rows} == {"posted"}
    assert all(r.erp_number for r in rows)


def test_an_unknown_outcome_whose_lookup_fails_waits_for_the_next_run(tmp_path: Path, state_url: str) -> None:
    records = payments(4)
    faults = {
        "type": "faulty",
        "seed": 1,
        "lost_response": 1.0,
        "lookup_transient": 1.0,
        "lookup_faults": "after_send",
    }
    setup = make_setup(tmp_path, state_url, records, destination=faults, batch_size=4)
    first = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert first.exit_code == 1 and first.summary["failed"] == 4 and adds_up(first.summary)
    assert len(refs_in_ledger(setup.ledger)) == 4  # the ERP has them; crmsync cannot know yet
    with open_state(state_url) as store:
        assert store.counts_by_status() == {"sending": 4}
    clean = make_setup(tmp_path, state_url, records, batch_size=4)  # same files, faults gone
    second = crmsync("sync", "-c", str(clean.config), "--format", "json")
    assert second.exit_code == 0 and second.summary["vouchers_posted"] == 4
    assert set(refs_in_ledger(setup.ledger).values()) == {1}


def test_a_lookup_that_fails_before_the_first_send_sends_nothing_and_the_next_run_posts(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(4)
    faults = {"type": "faulty", "seed": 1, "lookup_transient": 1.0}
    setup = make_setup(tmp_path, state_url, records, destination=faults, batch_size=4)
    first = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert first.exit_code == 1 and first.summary["failed"] == 4 and adds_up(first.summary)
    assert refs_in_ledger(setup.ledger) == {}  # never sent blind
    with open_state(state_url) as store:
        rows = store.list_vouchers()
    assert {r.status for r in rows} == {"pending"}
    assert all("could not be asked" in r.last_error for r in rows)
    clean = make_setup(tmp_path, state_url, records, batch_size=4)
    second = crmsync("sync", "-c", str(clean.config), "--format", "json")
    assert second.exit_code == 0 and second.summary["vouchers_posted"] == 4
    assert set(refs_in_ledger(setup.ledger).values()) == {1}


def test_a_closed_period_fails_with_the_ledgers_message_and_retry_posts_after_reopening(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(5)
    records[0] = payment(0, "88.80", day=2)
    setup = make_setup(tmp_path, state_url, records)
    text = setup.config.read_text(encoding="utf-8")
    setup.config.write_text(
        text.replace('"dedupe": false', '"dedupe": false, "closed_periods": ["2026-11"]'), encoding="utf-8"
    )
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.exit_code == 1 and res.summary["failed"] == 5 and adds_up(res.summary)
    failures = crmsync("failures", "-c", str(setup.config), "--format", "json").summary
    assert len(failures["failed"]) == 5 and all("2026-11" in f["last_error"] for f in failures["failed"])
    setup.config.write_text(text, encoding="utf-8")  # finance reopened the period
    again = crmsync("retry", "-c", str(setup.config), "--all", "--format", "json")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.summary["vouchers_requeued"] == 5 and again.summary["summary"]["vouchers_posted"] == 5
    assert balances(setup.ledger) == expected_balances(records)


def test_a_record_that_cannot_be_mapped_is_quarantined_and_the_run_goes_on(
    tmp_path: Path, state_url: str
) -> None:
    records = payments(8)
    records[3] = {**records[3], "payment_amount": "一千元"}
    setup = make_setup(tmp_path, state_url, records)
    (setup.data / "PaymentObj.jsonl").open("a", encoding="utf-8").write("{not json\n")
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.exit_code == 1
    assert (res.summary["read"], res.summary["posted"], res.summary["quarantined"]) == (9, 7, 2)
    assert adds_up(res.summary)
    failures = crmsync("failures", "-c", str(setup.config), "--format", "json").summary
    problems = {q["record_id"]: q for q in failures["quarantined"]}
    assert problems[records[3]["_id"]]["record"]["payment_amount"] == "一千元"
    assert "一千元" in problems[records[3]["_id"]]["problem"]
    records[3] = {**records[3], "payment_amount": "1000.00"}  # fixed at the source
    setup.write_payments(records)
    (setup.data / "PaymentObj.jsonl").open("a", encoding="utf-8").write("{not json\n")  # still there
    fixed = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert fixed.summary["posted"] == 1
    remaining = crmsync("failures", "-c", str(setup.config), "--format", "json").summary["quarantined"]
    # the fixed record left the quarantine; the unreadable line stays listed for a person
    assert [q["record_id"] for q in remaining] == ["PaymentObj.jsonl:9"]
    assert balances(setup.ledger) == expected_balances(records)


def _quarantined_places(setup: Any) -> list[str]:
    res = crmsync("failures", "-c", str(setup.config), "--format", "json")
    return [q["record_id"] for q in res.summary["quarantined"]]


def test_an_unreadable_line_fixed_in_the_file_leaves_the_quarantine(tmp_path: Path, state_url: str) -> None:
    records = payments(6)
    setup = make_setup(tmp_path, state_url, records)
    path = setup.data / "PaymentObj.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    good = lines[2]
    lines[2] = good.replace('"payment_amount"', '"payment_amount" 1130.00, "x"', 1)  # broken JSON
    path.write_text("".join(lines), encoding="utf-8")
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 1
    assert _quarantined_places(setup) == ["PaymentObj.jsonl:3"]

    lines[2] = good  # the admin fixes the export
    path.write_text("".join(lines), encoding="utf-8")
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.exit_code == 0 and res.summary["posted"] == 1
    assert _quarantined_places(setup) == []
    assert crmsync("failures", "-c", str(setup.config)).exit_code == 0
    assert balances(setup.ledger) == expected_balances(records)


def test_a_removed_line_leaves_the_quarantine_and_a_moved_one_is_listed_at_its_new_place(
    tmp_path: Path, state_url: str
) -> None:
    setup = make_setup(tmp_path, state_url, payments(4))
    path = setup.data / "PaymentObj.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines[:2], "{not json\n", *lines[2:], "[1, 2]\n"]), encoding="utf-8")
    crmsync("sync", "-c", str(setup.config))
    assert sorted(_quarantined_places(setup)) == ["PaymentObj.jsonl:3", "PaymentObj.jsonl:6"]

    path.write_text("".join([*lines[1:], "[1, 2]\n"]), encoding="utf-8")  # line 1 and the bad line 3 removed
    crmsync("sync", "-c", str(setup.config))
    assert _quarantined_places(setup) == ["PaymentObj.jsonl:4"]  # the array, now on line 4


def test_retry_maps_a_quarantined_record_again_with_the_current_mapping(
    tmp_path: Path, state_url: str
) -> None:
    mapping = tmp_path / "m" / "payment.yaml"
    mapping.parent.mkdir()
    original = (
        Path(__file__).resolve().parents[2] / "mappings/fxiaoke-kingdee/payment_received.yaml"
    ).read_text(encoding="utf-8")
    broken = original.replace("    csv: lookups/bank_accounts.csv", "    csv: bank.csv").replace(
        '    on_missing: default\n    default: "1002.01"', "    on_missing: error"
    )
    assert broken != original
    (mapping.parent / "bank.csv").write_text(
        "payment_term,account,label\n1,1002.01,工商银行\n", encoding="utf-8"
    )
    (mapping.parent / "lookups").symlink_to(
        Path(__file__).resolve().parents[2] / "mappings/fxiaoke-kingdee/lookups"
    )
    mapping.write_text(broken, encoding="utf-8")
    records = [payment(1, "500.00", term="1"), payment(2, "66.60", term="3")]
    setup = make_setup(tmp_path, state_url, records, mapping=mapping)
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert (res.summary["posted"], res.summary["quarantined"]) == (1, 1)
    (mapping.parent / "bank.csv").write_text(
        "payment_term,account,label\n1,1002.01,工商银行\n3,1012.02,微信支付\n", encoding="utf-8"
    )
    retried = crmsync("retry", "-c", str(setup.config), "--all", "--format", "json")
    assert retried.exit_code == 0, retried.stdout + retried.stderr
    assert retried.summary["records_remapped"] == 1 and retried.summary["still_quarantined"] == 0
    assert balances(setup.ledger) == expected_balances(records)
    assert crmsync("failures", "-c", str(setup.config), "--format", "json").summary["quarantined"] == []


def test_pause_holds_posting_and_resume_lets_the_next_run_post(tmp_path: Path, state_url: str) -> None:
    setup = make_setup(tmp_path, state_url, payments(4))
    assert crmsync("pause", "-c", str(setup.config)).exit_code == 0
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.summary["paused"] and res.summary["vouchers_posted"] == 0 and not setup.ledger.exists()
    assert crmsync("resume", "-c", str(setup.config)).exit_code == 0
    res = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert res.summary["vouchers_posted"] == 4


def test_summarised_vouchers_are_reversed_and_rebuilt_when_a_late_record_joins(
    tmp_path: Path, state_url: str
) -> None:
    mapping = tmp_path / "daily.yaml"
    mapping.write_text(
        """version: 1
name: daily_receipts
source: crm
stream: PaymentObj
control_amount: amount(payment_amount)
voucher: {book: "001", date: date(payment_time), group: 收, summary: "回款 {{ name }}"}
summarise:
  by: {day: date(payment_time), customer: account_id}
  summary: "{{ day }} 回款汇总 {{ customer }}"
lines:
  - {account: "1002.01", debit: amount(payment_amount)}
  - {account: "1122", credit: amount(payment_amount), dims: {customer: "{{ account_id }}"}}
""",
        encoding="utf-8",
    )
    records = [payment(0, "100.10", day=5), payment(20, "200.25", day=5), payment(1, "9.99", day=6)]
    setup = make_setup(tmp_path, state_url, records, mapping=mapping)
    first = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert first.summary["vouchers_posted"] == 2 and first.summary["posted"] == 3 and adds_up(first.summary)
    late = payment(40, "0.01", day=5)  # same customer as payment 0 and 20 (40 % 20 == 0)
    setup.write_payments([*records, late])
    second = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert second.summary["reversed"] == 1 and second.summary["vouchers_posted"] == 2
    assert balances(setup.ledger) == {"1002.01": Decimal("310.35"), "1122": Decimal("-310.35")}


def test_a_destination_that_is_down_exits_3_with_a_clear_message(tmp_path: Path, state_url: str) -> None:
    setup = make_setup(tmp_path, state_url, payments(2))
    setup.ledger.mkdir()  # the ledger "file" is a folder: the ledger cannot be opened
    res = crmsync("sync", "-c", str(setup.config))
    assert res.exit_code == 3, res.stdout + res.stderr
    assert "error:" in res.stderr and "Traceback" not in res.stderr
    # the look-up before sending could not reach the ERP: nothing was sent, they wait `pending`
    status = crmsync("status", "-c", str(setup.config), "--format", "json")
    assert status.summary["vouchers"] == {"pending": 2}
    setup.ledger.rmdir()  # the ERP is back
    again = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert again.exit_code == 0 and again.summary["vouchers_posted"] == 2
    assert set(refs_in_ledger(setup.ledger).values()) == {1}


def test_a_voucher_found_in_the_erp_with_other_amounts_is_not_adopted_but_failed_with_both(
    tmp_path: Path, state_url: str
) -> None:
    import sqlite3

    setup = make_setup(tmp_path, state_url, payments(4))
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    with sqlite3.connect(setup.ledger) as conn:  # someone edited one voucher in the ERP by hand
        ref, minor = conn.execute(
            "SELECT external_ref, total_minor FROM vouchers ORDER BY id LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE vouchers SET total_minor = total_minor + 1 WHERE external_ref = ?", (ref,))
    _lose_state(state_url)
    again = crmsync("sync", "-c", str(setup.config), "--format", "json")
    assert again.exit_code == 1 and again.summary["vouchers_adopted"] == 3
    assert again.summary["vouchers_failed"] == 1 and again.summary["vouchers_posted"] == 0
    with open_state(state_url) as store:
        [failed] = store.rows_with_status(Status.FAILED)
    assert failed.external_ref == ref
    ours = f"{Decimal(minor).scaleb(-2):,.2f}"
    theirs = f"{Decimal(minor + 1).scaleb(-2):,.2f}"
    assert f"debit total of {theirs}, while ours is {ours}" in failed.last_error
    assert set(refs_in_ledger(setup.ledger).values()) == {1}


def _lose_state(state_url: str) -> None:
    """The state is gone: the SQLite file deleted, or the PostgreSQL schema dropped."""
    if state_url.startswith("sqlite:///"):
        path = Path(state_url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    import psycopg

    url, schema = state_url.split("?schema=")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
