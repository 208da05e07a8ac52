"""The store writes what a row's own key already says only once, and older stores are rebuilt.

A payment's voucher key is ``mapping:stream:record id`` and its head's content is its revision:
written as '' and read back whole. Migration 9 rebuilds the SQLite key tables WITHOUT ROWID;
a store made by the release before it keeps every row and reads the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.state import base as state_base
from sync.state import open_state
from sync.state.records import Head, IndexRow
from sync.state.schema import MIGRATIONS

KEY = "payment_received:PaymentObj:64a1f0c2e4b0a5d3c1e2f9a8"
REVISION = "0361a0c2199bea53"


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
    url = f"sqlite:///{tmp_path / 'state.db'}"
    released = {v: s for v, s in MIGRATIONS.items() if v <= 8}
    monkeypatch.setattr(state_base, "MIGRATIONS", released)
    monkeypatch.setattr(state_base, "LATEST", 8)
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
        assert "record_index_version" in {r["name"] for r in indexes}
