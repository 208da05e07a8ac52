"""The state store: every behaviour on SQLite and on PostgreSQL (``state_url`` is parametrized)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from sync.errors import LockHeld, StateError
from sync.model import MappingRef, SourceRef, Voucher, VoucherLine
from sync.state import Status, TransitionRefused, open_state
from sync.state.records import DirtyGroup, Head
from sync.state.schema import LATEST
from sync.state.status import FINAL, TRANSITIONS, sources_of

ROOT = Path(__file__).resolve().parents[2]


def voucher(record_id: str = "4f07734fc112cf99f40c31b0", amount: str = "97226.45") -> Voucher:
    return Voucher(
        key=f"payment_received:PaymentObj:{record_id}",
        book="001",
        date=dt.date(2026, 11, 2),
        group="收",
        summary="回款 20261101-000001 西安秦川软件技术有限公司",
        lines=(
            VoucherLine(account="1002.01", side="debit", amount=Decimal(amount)),
            VoucherLine(account="1122", side="credit", amount=Decimal(amount), dims={"customer": "C0001"}),
        ),
        sources=(SourceRef(system="crm", stream="PaymentObj", record_id=record_id, name="20261101-000001"),),
        mapping=MappingRef(name="payment_received", file="payment_received.yaml", line=3),
    )


def put(store, v: Voucher, **kw) -> None:  # type: ignore[no-untyped-def]
    with store.transaction():
        store.insert_voucher(
            key=v.key,
            revision=v.revision,
            mapping=v.mapping.name,
            kind=kw.pop("kind", "voucher"),
            record_ids=[s.record_id for s in v.sources],
            source=("crm", "PaymentObj", v.source.record_id),
            payload=v.model_dump_json(),
            total=str(v.total),
            voucher_date=v.date.isoformat(),
            **kw,
        )


def test_migrations_are_applied_once_and_recorded(state_url: str) -> None:
    with open_state(state_url) as store:
        assert store.schema_version() == LATEST
    with open_state(state_url) as store:  # reopening applies nothing twice
        rows = store._all("SELECT version FROM schema_migrations")
        assert [r["version"] for r in rows] == list(range(1, LATEST + 1))


def test_cursor_round_trips_airbyte_state_json(state_url: str) -> None:
    state = {"v": 1, "file": "回款.jsonl", "offset": 2429, "sha256": "8373b04e"}
    with open_state(state_url) as store:
        assert store.get_cursor("crm", "PaymentObj") is None
        with store.transaction():
            store.set_cursor("crm", "PaymentObj", state)
        with store.transaction():
            store.set_cursor("crm", "PaymentObj", {**state, "offset": 4858})
        assert store.get_cursor("crm", "PaymentObj") == {**state, "offset": 4858}
        assert [(c.source, c.stream) for c in store.cursors()] == [("crm", "PaymentObj")]


def test_a_failed_transaction_leaves_nothing_behind(state_url: str) -> None:
    with open_state(state_url) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.set_cursor("crm", "PaymentObj", {"offset": 1})
            put(store, voucher())
            raise RuntimeError("crash between records and STATE")
        assert store.get_cursor("crm", "PaymentObj") is None
        assert store.counts_by_status() == {}


def test_outbox_moves_through_the_statuses_and_keeps_the_erp_reference(state_url: str) -> None:
    v = voucher()
    with open_state(state_url) as store:
        put(store, v, run_id=7, run_records=1)
        row = store.get_voucher(v.key, v.revision)
        assert row is not None and row.status == Status.PENDING and row.external_ref == v.external_ref
        assert Voucher.model_validate_json(row.payload) == v
        with store.transaction():
            store.transition(v.external_ref, Status.SENDING, attempt=True)
            store.transition(v.external_ref, Status.POSTED, erp_id="100042", erp_number="收-12", error="")
        row = store.get_by_ref(v.external_ref)
        assert row is not None
        assert (row.status, row.erp_id, row.erp_number, row.attempts) == ("posted", "100042", "收-12", 1)
        assert row.posted is not None and row.total == "97226.45"
        assert store.run_outcomes(7) == {"posted": 1}


def test_vouchers_are_listed_by_status_date_and_source_record(state_url: str) -> None:
    a, b = voucher("a1", "100.10"), voucher("b2", "200.20")
    with open_state(state_url) as store:
        put(store, a)
        put(store, b)
        with store.transaction():
            store.transition(b.external_ref, Status.SENDING)
            store.transition(b.external_ref, Status.FAILED, error="凭证字不存在 (Kingdee 2001)")
        assert [r.source_id for r in store.list_vouchers()] == ["b2", "a1"]  # newest first
        assert [r.source_id for r in store.list_vouchers(status="failed")] == ["b2"]
        assert [r.source_id for r in store.list_vouchers(source_id="a1")] == ["a1"]
        assert store.list_vouchers(since="2026-11-03") == []
        assert len(store.list_vouchers(limit=1)) == 1
        assert store.counts_by_status() == {"failed": 1, "pending": 1}
        assert store.retry_failed([b.key]) == 1
        assert store.counts_by_status() == {"pending": 2}


def test_ready_batch_holds_a_voucher_back_until_its_reversal_took_effect(state_url: str) -> None:
    old, new = voucher(amount="100.00"), voucher(amount="120.00")
    rev = old.reversal("red", on=dt.date(2026, 11, 28))
    with open_state(state_url) as store:
        put(store, rev, kind="reversal", reversal_of=old.external_ref)
        put(store, new, depends_on=rev.external_ref)
        assert [r.external_ref for r in store.ready_batch(10, 0)] == [rev.external_ref]
        with store.transaction():
            store.transition(rev.external_ref, Status.SENDING)
            store.transition(rev.external_ref, Status.POSTED, erp_id="9", erp_number="收-9")
        assert [r.external_ref for r in store.ready_batch(10, 0)] == [new.external_ref]
        assert store.reversal_for(old.external_ref).external_ref == rev.external_ref  # type: ignore[union-attr]


def test_record_index_heads_and_contributions(state_url: str) -> None:
    with open_state(state_url) as store:
        with store.transaction():
            store.put_record("payment_received", "crm", "PaymentObj", "r1", ["k1"], ["g1"])
            store.set_head("k1", "abc", "abc")
            store.put_contribution("daily", "g1", "r1", '{"amount": "10.00"}')
            store.mark_group_dirty("daily", "g1", "red", 1)
            store.mark_group_dirty("daily", "g1", "red", 1)
        assert store.get_record("payment_received", "crm", "PaymentObj", "r1") == (["k1"], ["g1"])
        assert store.get_record("payment_received", "crm", "PaymentObj", "zz") == ([], [])
        assert store.get_head("k1") == Head("k1", "abc", "abc")
        assert store.group_members("daily", "g1") == [("r1", '{"amount": "10.00"}')]
        assert store.dirty_groups() == [DirtyGroup("daily", "g1", "red", 2)]
        with store.transaction():
            store.clear_dirty_group("daily", "g1")
            store.remove_contribution("daily", "g1", "r1")
            store.drop_head("k1")
        assert store.dirty_groups() == [] and store.group_members("daily", "g1") == []
        assert store.get_head("k1") is None


def test_quarantine_keeps_the_raw_record_and_resolves(state_url: str) -> None:
    record = {"_id": "8908aff8", "name": "SO-20261101-0007", "order_amount": None}
    with open_state(state_url) as store:
        with store.transaction():
            store.quarantine(
                "sales_order_confirmed", "crm", "SalesOrderObj", "8908aff8", record, "order_amount 缺失"
            )
            store.quarantine(
                "sales_order_confirmed", "crm", "SalesOrderObj", "8908aff8", record, "still missing"
            )
        [row] = store.open_quarantine()
        assert row.record == record and row.problem == "still missing"
        with store.transaction():
            store.resolve_quarantine("sales_order_confirmed", "crm", "SalesOrderObj", "8908aff8")
        assert store.open_quarantine() == []


def test_control_flags_and_runs(state_url: str) -> None:
    with open_state(state_url) as store:
        store.set_flag("paused", "月结 in progress")
        assert store.get_flag("paused") == "月结 in progress"
        store.set_flag("paused", None)
        assert store.get_flag("paused") is None
        run = store.start_run("cron")
        store.finish_run(run, "done", {"read": 3})
        [last] = store.last_runs(1)
        assert (last.id, last.status, last.counts, last.pid) == (
            run,
            "done",
            {"read": 3},
            os.getpid(),
        )


def test_the_second_lock_holder_waits_then_gives_up_with_exit_code_4(state_url: str) -> None:
    with open_state(state_url) as first, open_state(state_url) as second:
        first.acquire_lock(0)
        started = time.monotonic()
        with pytest.raises(LockHeld) as info:
            second.acquire_lock(0.5)
        assert time.monotonic() - started >= 0.5
        assert info.value.exit_code == 4
        assert f"pid {os.getpid()}" in info.value.message and "holds the lock" in info.value.message
        first.release_lock()
        second.acquire_lock(0)  # free again
        second.release_lock()


def test_a_killed_runs_lock_does_not_block_the_next_run(state_url: str) -> None:
    code = (
        "import sys, time; from sync.state import open_state; "
        "s = open_state(sys.argv[1]); s.acquire_lock(0); print('locked', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, state_url], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with open_state(state_url) as store:
            with pytest.raises(LockHeld):
                store.acquire_lock(0)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            store.acquire_lock(5)
            store.release_lock()
    finally:
        proc.kill()
        proc.wait()


def test_a_corrupt_state_file_is_a_clear_state_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes("this is not a database, it is a shopping list: 大米 10kg\n".encode() * 200)
    with pytest.raises(StateError) as info:
        open_state(f"sqlite:///{path}")
    assert info.value.exit_code == 2
    assert str(path) in info.value.message and "corrupt" in info.value.hint


def test_a_state_file_from_a_newer_crmsync_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with open_state(url) as store, store.transaction():
        store._execute("INSERT INTO schema_migrations (version, applied) VALUES (?, ?)", (LATEST + 1, "x"))
    with pytest.raises(StateError, match="newer than this crmsync"):
        open_state(url)


def test_sqlite_store_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    with open_state(f"sqlite:///{tmp_path / 'state.db'}") as store:
        assert store._one("PRAGMA journal_mode")["journal_mode"] == "wal"  # type: ignore[index]
        assert store._one("PRAGMA busy_timeout")["timeout"] >= 1000  # type: ignore[index]


def test_a_move_the_state_machine_forbids_is_refused_and_changes_nothing(state_url: str) -> None:
    v = voucher()
    with open_state(state_url) as store:
        put(store, v)
        with pytest.raises(TransitionRefused, match="cannot become posted: it is pending"):
            store.transition(v.external_ref, Status.POSTED, erp_id="1", erp_number="记-1")
        row = store.get_by_ref(v.external_ref)
        assert row is not None and (row.status, row.erp_id) == (Status.PENDING, None)


def test_a_move_from_a_status_the_voucher_no_longer_has_is_refused(state_url: str) -> None:
    v = voucher()
    with open_state(state_url) as store:
        put(store, v, status=Status.AWAITING_APPROVAL)
        with store.transaction():
            store.transition(v.external_ref, Status.SUPERSEDED)  # a newer revision arrived
        assert store.approve(v.external_ref) is False  # listed while waiting, approved too late
        row = store.get_by_ref(v.external_ref)
        assert row is not None and row.status is Status.SUPERSEDED


def test_every_status_has_its_moves_and_final_ones_have_none() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert {Status.REVERSED, Status.SUPERSEDED} == FINAL
    assert sources_of(Status.SENDING) == {Status.PENDING}
    assert sources_of(Status.POSTED) == {Status.SENDING}
