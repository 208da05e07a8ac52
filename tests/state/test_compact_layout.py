"""The store writes what a row's own key already says only once, and older stores are rebuilt.

A payment's voucher key is ``mapping:stream:record id`` and its head's content is its revision:
written as '' and read back whole. Migration 9 rebuilds the SQLite key tables WITHOUT ROWID;
a store made by the release before it keeps every row and reads the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync.state import base as state_base
from sync.state import open_state
from sync.state.records import Head, IndexRow
from sync.state.schema import MIGRATIONS

KEY = "payment_received:PaymentObj:64a1f0c2e4b0a5d3c1e2f9a8"
REVISION = "0361a0c2199bea53"


def _as_release(version: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A state URL whose store is made, until ``monkeypatch.undo()``, by the schema of that release."""
    monkeypatch.setattr(state_base, "MIGRATIONS", {v: s for v, s in MIGRATIONS.items() if v <= version})
    monkeypatch.setattr(state_base, "LATEST", version)
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_the_default_key_and_a_content_equal_to_its_revision_are_stored_once(state_url: str) -> None:
    with open_state(state_url) as store:
        with store.transaction():
            store.put_record(
                "payment_received", "crm", "PaymentObj", "64a1f0c2e4b0a5d3c1e2f9a8", [KEY], [], "v1"
            )
            store.set_head(KEY, REVISION, REVISION)
        stored = store._one("SELECT voucher_keys FROM record_index")
        head = store._one("SELECT content FROM heads")
        assert stored == {"voucher_keys": '[""]'} and head == {"content": ""}
        assert store.get_index(
            "payment_received", "crm", "PaymentObj", "64a1f0c2e4b0a5d3c1e2f9a8"
        ) == IndexRow([KEY], [], "v1")
        assert store.get_head(KEY) == Head(KEY, REVISION, REVISION)


def test_other_keys_and_a_content_unlike_the_revision_are_kept_as_they_are(state_url: str) -> None:
    custom = "回款:上海明远信息科技有限公司:2026-11"
    with open_state(state_url) as store:
        with store.transaction():
            store.put_record("payment_received", "crm", "PaymentObj", "r1", [custom, f"{KEY}:fee"], [], "v1")
            store.set_head(KEY, f"{REVISION}.2", REVISION)  # a second revision of the same content
        assert store.get_record("payment_received", "crm", "PaymentObj", "r1") == ([custom, f"{KEY}:fee"], [])
        assert store.get_head(KEY) == Head(KEY, f"{REVISION}.2", REVISION)


def test_a_store_of_the_release_before_is_rebuilt_without_rowid_and_keeps_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _as_release(8, tmp_path, monkeypatch)
    with open_state(url) as store, store.transaction():  # rows as that release wrote them
        store._execute(
            "INSERT INTO heads (key, revision, content) VALUES (?, ?, ?)", (KEY, REVISION, REVISION)
        )
        store._execute(
            "INSERT INTO record_index (mapping, source, stream, record_id, voucher_keys, group_keys, "
            "updated, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "payment_received",
                "crm",
                "PaymentObj",
                "64a1f0c2e4b0a5d3c1e2f9a8",
                f'["{KEY}"]',
                "[]",
                "t",
                "v1",
            ),
        )
    monkeypatch.undo()
    with open_state(url) as store:
        assert store.schema_version() == max(MIGRATIONS)
        tables = store._all("SELECT name, sql FROM sqlite_master WHERE name IN ('heads', 'record_index')")
        assert len(tables) == 2 and all("WITHOUT ROWID" in str(t["sql"]) for t in tables)
        assert store.get_head(KEY) == Head(KEY, REVISION, REVISION)
        assert store.get_record("payment_received", "crm", "PaymentObj", "64a1f0c2e4b0a5d3c1e2f9a8") == (
            [KEY],
            [],
        )
        indexes = store._all(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'record_index'"
        )
        assert "record_index_version" not in {r["name"] for r in indexes}  # gone since migration 12


def _voucher_row(
    store: Any,
    key: str,
    revision: str,
    payload: str = '{"summary": "回款 PAY-2026-1101 上海明远信息科技有限公司"}',
) -> None:
    store.insert_voucher(
        key=key,
        revision=revision,
        mapping="payment_received",
        kind="voucher",
        record_ids=[key.rsplit(":", 1)[1]],
        source=("crm", "PaymentObj", key.rsplit(":", 1)[1]),
        payload=payload,
        total="11300.50",
        voucher_date="2026-11-03",
    )


def test_a_store_of_release_11_loses_the_outbox_key_index_and_keeps_rows_and_numbering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _as_release(11, tmp_path, monkeypatch)
    with open_state(url) as store, store.transaction():  # rows as release 11 wrote them
        for key, revision in [*((KEY, f"{REVISION[:-1]}{n}") for n in range(1, 4)), (f"{KEY}x", REVISION)]:
            store._execute(
                "INSERT INTO outbox (key, revision, external_ref, mapping, kind, record_ids, source_id, "
                "status, payload, payload_hash, created, updated) VALUES (?, ?, ?, 'payment_received', "
                "'voucher', '[\"64a1f0c2e4b0a5d3c1e2f9a8\"]', '64a1f0c2e4b0a5d3c1e2f9a8', 'posted', '{}', "
                "'', 't', 't')",
                (key, revision, f"{key}#{revision}"),
            )
        store._execute("DELETE FROM outbox WHERE seq = 4")  # the newest seq is never handed out again
        rid = "64a1f0c2e4b0a5d3c1e2f9a8"
        store.keep_record("crm", "PaymentObj", rid, {"_id": rid})
    monkeypatch.undo()
    with open_state(url) as store:
        assert store.schema_version() == max(MIGRATIONS)
        ddl = {r["name"]: str(r["sql"]) for r in store._all("SELECT name, sql FROM sqlite_master")}
        assert "UNIQUE (key, revision)" not in ddl["outbox"] and "WITHOUT ROWID" in ddl["source_records"]
        assert "record_index_version" not in ddl and "outbox_erp_number" in ddl
        assert sorted(store.revisions_of(KEY)) == [f"{REVISION[:-1]}{n}" for n in range(1, 4)]
        assert store.get_voucher(KEY, f"{REVISION[:-1]}2") is not None
        assert store.stored_record("crm", "PaymentObj", "64a1f0c2e4b0a5d3c1e2f9a8") == {
            "_id": "64a1f0c2e4b0a5d3c1e2f9a8"
        }
        with store.transaction():
            _voucher_row(store, f"{KEY}y", REVISION)
        assert [r["seq"] for r in store._all("SELECT seq FROM outbox ORDER BY seq")] == [1, 2, 3, 5]


def test_a_keys_revisions_are_found_without_an_index_on_key_and_a_key_with_a_hash_is_apart(
    state_url: str,
) -> None:
    with open_state(state_url) as store:
        with store.transaction():
            _voucher_row(store, KEY, REVISION)
            _voucher_row(store, f"{KEY}#fee", REVISION)  # its refs start with KEY# too
            _voucher_row(store, KEY, f"{REVISION}.2")
        assert sorted(store.revisions_of(KEY)) == [REVISION, f"{REVISION}.2"]
        assert store.revisions_of(f"{KEY}#fee") == [REVISION]
        row = store.get_voucher(f"{KEY}#fee", REVISION)
        assert row is not None and row.key == f"{KEY}#fee"


def test_a_vouchers_own_key_and_the_key_and_revision_in_its_payload_are_stored_once(state_url: str) -> None:
    payload = (
        f'{{"key":"{KEY}","revision":"{REVISION}","book":"001","summary":"回款 上海明远信息科技有限公司"}}'
    )
    rid = KEY.rsplit(":", 1)[1]
    with open_state(state_url) as store:
        with store.transaction():
            _voucher_row(store, KEY, REVISION, payload)
        stored = store._one("SELECT key, record_ids, sealed FROM outbox")
        assert stored is not None and stored["key"] == "" and stored["record_ids"] == ""
        assert store.sealer.open(stored["sealed"], "outbox").startswith('~"book":"001"')
        row = store.get_voucher(KEY, REVISION)
        assert row is not None and row.key == KEY and row.payload == payload and row.record_ids == [rid]
        assert row.external_ref == f"{KEY}#{REVISION}"


def test_a_vouchers_mapping_reference_is_stored_once_for_all_its_vouchers(state_url: str) -> None:
    ref = (
        '{"name":"payment_received","file":"/srv/crmsync/mappings/payment_received.yaml",'
        '"line":4,"version":"v1"}'
    )
    with open_state(state_url) as store:
        for n in range(3):
            key = f"payment_received:PaymentObj:b{n}"
            payload = (
                f'{{"key":"{key}","revision":"{REVISION}","book":"001","summary":"回款 PAY-{n}",'
                f'"mapping":{ref},"reversal_of":null,"extra_revision":""}}'
            )
            with store.transaction():
                _voucher_row(store, key, REVISION, payload)
            row = store.get_voucher(key, REVISION)
            assert row is not None and row.payload == payload
        assert [r["ref"] for r in store._all("SELECT ref FROM mapping_refs")] == [ref]
        sealed = store._one("SELECT sealed FROM outbox ORDER BY seq DESC LIMIT 1")
        assert sealed is not None and '"mapping":@' in store.sealer.open(sealed["sealed"], "outbox")


def test_a_mapping_reference_of_a_rolled_back_transaction_is_not_remembered(state_url: str) -> None:
    ref = '{"name":"refund","file":"refund.yaml","line":2,"version":"v1"}'
    payload = f'{{"key":"k","revision":"{REVISION}","mapping":{ref},"reversal_of":null}}'
    with open_state(state_url) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store._refer_mapping(payload)
            raise RuntimeError("the run stops here")
        assert store._all("SELECT ref FROM mapping_refs") == []
        with store.transaction():
            cut = store._refer_mapping(payload)
        assert store._mapping_back(cut) == payload
        assert [r["ref"] for r in store._all("SELECT ref FROM mapping_refs")] == [ref]
