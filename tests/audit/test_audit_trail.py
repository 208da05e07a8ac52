"""The audit trail: what a sync writes, and ``crmsync audit verify`` catching tampering.

Tampering is done the way an intruder (or a careless admin) would: straight SQL on the state
store, after dropping the append-only triggers. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest

from sync.reconcile.decisions import record_decision
from sync.reconcile.model import Decision
from sync.state import audit, open_state
from tests.engine.tenant import Setup, crmsync, make_setup, payment, payments


def _sql(state_url: str, *statements: str) -> list[tuple[Any, ...]]:
    """Run raw SQL against the store behind crmsync's back; the last statement's rows."""
    rows: list[tuple[Any, ...]] = []
    if state_url.startswith("sqlite:///"):
        conn = sqlite3.connect(state_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            for s in statements:
                cur = conn.execute(s)
                rows = cur.fetchall() if cur.description else []
        finally:
            conn.close()
        return rows
    import psycopg

    from sync.state.postgres import split_schema

    dsn, schema = split_schema(state_url)
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(f'SET search_path TO "{schema}"')
        for s in statements:
            pcur = pg.execute(s)
            rows = pcur.fetchall() if pcur.description else []
    return rows


def _unguard(state_url: str) -> str:
    if state_url.startswith("sqlite:///"):
        return "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete"
    return "DROP TRIGGER audit_log_append_only ON audit_log"


def _tamper(state_url: str, *statements: str) -> None:
    _sql(state_url, *_unguard(state_url).split("; "), *statements)


def _verify(setup: Setup) -> Any:
    return crmsync("audit", "verify", "-c", str(setup.config), "--format", "json")


@pytest.fixture
def synced(tmp_path: Path, state_url: str) -> tuple[Setup, str]:
    """Five payments posted one per batch: six stored entries to tamper with."""
    setup = make_setup(tmp_path, state_url, payments(5), batch_size=1)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    return setup, state_url


def _entries(setup: Setup) -> list[dict[str, Any]]:
    res = crmsync("audit", "export", "-c", str(setup.config), "--format", "json")
    assert res.exit_code == 0
    rows: list[dict[str, Any]] = res.summary  # type: ignore[assignment]
    return rows


def test_a_sync_records_the_config_and_every_post_with_who_and_what(synced: tuple[Setup, str]) -> None:
    setup, _ = synced
    rows = _entries(setup)
    assert [r["seq"] for r in rows] == list(range(1, 7)) and {r["item"] for r in rows} == {None}
    assert rows[0]["action"] == "config_changed" and rows[0]["detail"]["first"] is True
    files = rows[0]["detail"]["files"]
    assert "config" in files and any(k.endswith("payment_received.yaml") for k in files)
    assert all(len(h) == 64 for h in files.values())
    posts = rows[1:]
    assert {r["action"] for r in posts} == {"post"}
    assert all(r["detail"]["erp_number"].startswith("收-") and r["run_id"] == 1 for r in posts)
    assert all(r["who"] and r["host"] and r["pid"] > 0 for r in rows)
    assert _verify(setup).summary == {
        "ok": True,
        "entries": 6,
        "head_hash": rows[-1]["hash"],
        "first_bad_entry": None,
        "problem": None,
    }


def test_a_batch_is_one_entry_exported_as_one_line_per_voucher(tmp_path: Path, state_url: str) -> None:
    setup = make_setup(tmp_path, state_url, payments(5), batch_size=10)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    rows = _entries(setup)
    assert [(r["seq"], r["item"]) for r in rows] == [(1, None), *((2, i) for i in range(1, 6))]
    posts = rows[1:]
    assert sorted(r["subject"] for r in posts) == sorted(str(r[0]) for r in _sql(state_url, _POSTED_REFS))
    assert all(r["action"] == "post" and r["detail"]["erp_number"].startswith("收-") for r in posts)
    assert len({r["hash"] for r in posts}) == 1
    assert _verify(setup).summary["entries"] == 2


def test_an_edited_voucher_inside_a_batch_entry_is_found(tmp_path: Path, state_url: str) -> None:
    setup = make_setup(tmp_path, state_url, payments(5), batch_size=10)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    _tamper(state_url, "UPDATE audit_log SET detail = REPLACE(detail, '收-3', '收-9') WHERE seq = 2")
    res = _verify(setup)
    assert res.exit_code == 1 and res.summary["first_bad_entry"] == 2 and "edited" in res.summary["problem"]


_POSTED_REFS = "SELECT external_ref FROM outbox WHERE status = 'posted'"


@pytest.fixture
def packed(tmp_path: Path, state_url: str) -> tuple[Setup, str]:
    """Twenty payments in one batch: an entry whose detail is long enough to be kept deflated."""
    setup = make_setup(tmp_path, state_url, payments(20), batch_size=50)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    return setup, state_url


def test_a_long_batch_detail_is_stored_deflated_and_reads_back_whole(packed: tuple[Setup, str]) -> None:
    setup, url = packed
    stored = _sql(url, "SELECT detail, packed FROM audit_log WHERE seq = 2")
    assert stored[0][0] == "" and stored[0][1] is not None and len(bytes(stored[0][1])) > 100
    rows = _entries(setup)
    posts = [r for r in rows if r["seq"] == 2]
    assert len(posts) == 20 and all(r["detail"]["erp_number"].startswith("收-") for r in posts)
    assert sorted(r["subject"] for r in posts) == sorted(str(r[0]) for r in _sql(url, _POSTED_REFS))
    assert _verify(setup).summary["ok"] is True


def test_an_edited_voucher_inside_a_deflated_batch_entry_is_found(packed: tuple[Setup, str]) -> None:
    setup, url = packed
    blob = bytes(_sql(url, "SELECT packed FROM audit_log WHERE seq = 2")[0][0])
    edited = zlib.compress(zlib.decompress(blob).replace("收-3".encode(), "收-9".encode()))
    hex_blob = edited.hex()
    literal = f"X'{hex_blob}'" if url.startswith("sqlite:///") else f"'\\x{hex_blob}'::bytea"
    _tamper(url, f"UPDATE audit_log SET packed = {literal} WHERE seq = 2")
    res = _verify(setup)
    assert res.exit_code == 1 and res.summary["first_bad_entry"] == 2 and "edited" in res.summary["problem"]


def test_a_vouchers_entries_are_found_inside_a_deflated_batch(packed: tuple[Setup, str]) -> None:
    _, url = packed
    ref = str(_sql(url, _POSTED_REFS)[7][0])
    with open_state(url) as store:
        about = audit.entries_about(store, ref)
    assert [(e.action, e.subject) for e in about] == [("post", ref)]


def test_an_unchanged_config_is_not_recorded_again_and_an_edit_is(synced: tuple[Setup, str]) -> None:
    setup, _ = synced
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    assert [r["action"] for r in _entries(setup)].count("config_changed") == 1
    setup.config.write_text(setup.config.read_text() + "# 财务部 2026-11 调整\n", encoding="utf-8")
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    changes = [r for r in _entries(setup) if r["action"] == "config_changed"]
    assert len(changes) == 2 and changes[1]["detail"]["changed"] == ["config"]
    assert "财务部" not in str(changes[1])  # hashes only, never the content


def test_an_edited_payment_records_the_reversal_and_the_new_post(tmp_path: Path, state_url: str) -> None:
    records = payments(3)
    setup = make_setup(tmp_path, state_url, records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    records[1] = payment(1, "8888.88")
    setup.write_payments(records)
    assert crmsync("sync", "-c", str(setup.config)).exit_code == 0
    rows = _entries(setup)
    reversal = next(r for r in rows if r["action"] == "reversal")
    assert reversal["detail"]["reversal_of"] and reversal["run_id"] == 2
    assert any(r["action"] == "post" and r["detail"]["total"] == "8888.88" for r in rows)
    assert _verify(setup).exit_code == 0


def test_retry_approve_and_manual_match_are_recorded(tmp_path: Path, state_url: str) -> None:
    records = payments(2)
    records[1] = {**records[1], "payment_amount": "12.3.4"}
    setup = make_setup(tmp_path, state_url, records)
    crmsync("sync", "-c", str(setup.config))
    crmsync("retry", "-c", str(setup.config), "pay000001")
    crmsync("approve", "-c", str(setup.config))
    store = open_state(state_url)
    try:
        record_decision(store, Decision("match", "CMB-20261102-0001", ("pay000000",), "客户电话确认"))
        record_decision(store, Decision("unmatch", "CMB-20261102-0001", (), ""))
    finally:
        store.close()
    rows = _entries(setup)
    retry = next(r for r in rows if r["action"] == "retry")
    assert retry["subject"] == "pay000001" and retry["detail"]["still_quarantined"] == 1
    match = next(r for r in rows if r["action"] == "manual_match")
    assert match["subject"] == "CMB-20261102-0001" and match["detail"]["payment_ids"] == ["pay000000"]
    assert any(r["action"] == "manual_unmatch" for r in rows)
    assert _verify(setup).exit_code == 0


def test_the_store_refuses_updates_and_deletes_of_entries(synced: tuple[Setup, str]) -> None:
    _, url = synced
    for statement in (
        "UPDATE audit_log SET subject = 'x' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ):
        with pytest.raises(Exception, match="append-only"):
            _sql(url, statement)


def test_verify_names_an_edited_entry(synced: tuple[Setup, str]) -> None:
    setup, url = synced
    _tamper(url, 'UPDATE audit_log SET detail = REPLACE(detail, \'"total":"\', \'"total":"1\') WHERE seq = 3')
    res = _verify(setup)
    assert res.exit_code == 1 and res.summary["first_bad_entry"] == 3
    assert "entry 3 (post" in res.summary["problem"] and "edited" in res.summary["problem"]
    text = crmsync("audit", "verify", "-c", str(setup.config))
    assert text.exit_code == 1 and "BROKEN at entry 3" in text.stderr


def test_verify_names_a_deleted_entry(synced: tuple[Setup, str]) -> None:
    setup, url = synced
    _tamper(url, "DELETE FROM audit_log WHERE seq = 4")
    res = _verify(setup)
    assert res.exit_code == 1 and res.summary["first_bad_entry"] == 4
    assert "entry 4 missing" in res.summary["problem"]


def test_verify_names_a_deleted_entry_even_when_renumbered(synced: tuple[Setup, str]) -> None:
    setup, url = synced
    _tamper(url, "DELETE FROM audit_log WHERE seq = 4", "UPDATE audit_log SET seq = seq - 1 WHERE seq > 4")
    res = _verify(setup)
    assert res.exit_code == 1 and res.summary["first_bad_entry"] == 4


def test_verify_names_swapped_entries(synced: tuple[Setup, str]) -> None:
    setup, url = synced
    _tamper(
        url,
        "UPDATE audit_log SET seq = -1 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 5",
        "UPDATE audit_log SET seq = 5 WHERE seq = -1",
    )
    res = _verify(setup)
    assert res.exit_code == 1 and res.summary["first_bad_entry"] == 2


def test_verify_notices_the_newest_entries_deleted(synced: tuple[Setup, str]) -> None:
    setup, url = synced
    _tamper(url, "DELETE FROM audit_log WHERE seq >= 5")
    res = _verify(setup)
    assert res.exit_code == 1 and res.summary["first_bad_entry"] == 5
    assert "head records entry 6" in res.summary["problem"]


def test_export_csv_has_one_row_per_entry_with_hashes(synced: tuple[Setup, str]) -> None:
    setup, _ = synced
    res = crmsync("audit", "export", "-c", str(setup.config), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert res.exit_code == 0 and [r["seq"] for r in rows] == [str(i) for i in range(1, 7)]
    assert all(len(r["hash"]) == 64 for r in rows) and rows[1]["prev_hash"] == rows[0]["hash"]
