"""Customer data at rest (issue 19): sealed payloads, the key and where it lives, rotation.

The format itself (compress, encrypt, bind to the table) is checked on its own; then what a
store does with a key that is missing, wrong, readable by others or being rotated, on a real
SQLite file.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.errors import ConfigurationError, StateError
from sync.state.keyring import key_file_problem, next_key_file
from sync.state.sealing import KEY_ENV, PREVIOUS_KEY_ENV, Sealer, key_id, new_key_text, parse_key
from sync.state.sqlite import SqliteStore
from sync.state.upkeep import rotate_key

PAYMENT = {
    "_id": "4f07734fc112cf99f40c31b0",
    "account_id__r": "西安秦川软件技术有限公司",
    "payment_amount": "97226.45",
    "payment_time": 1793462400000,
    "bank_account": "6222021001123456789",
}


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(PREVIOUS_KEY_ENV, raising=False)


def _sealer() -> Sealer:
    return Sealer(parse_key(new_key_text(), "test"))


@given(st.text())
def test_a_sealed_text_opens_to_the_same_text(text: str) -> None:
    sealer = _sealer()
    assert sealer.open(sealer.seal(text, "source_records"), "source_records") == text


def test_a_sealed_record_is_smaller_than_its_json_and_holds_no_plain_text() -> None:
    text = json.dumps(PAYMENT, ensure_ascii=False, sort_keys=True)
    blob = _sealer().seal(text, "source_records")
    assert len(blob) < len(text.encode())
    assert "西安秦川".encode() not in blob and b"6222021001123456789" not in blob


def test_a_blob_moved_to_another_table_does_not_open() -> None:
    sealer = _sealer()
    blob = sealer.seal("{}", "quarantine")
    with pytest.raises(StateError, match="altered or damaged"):
        sealer.open(blob, "outbox")


def test_a_blob_sealed_with_another_key_names_both_keys() -> None:
    blob = _sealer().seal("{}", "outbox")
    other = _sealer()
    with pytest.raises(StateError, match=f"encrypted with key {blob[1:5].hex()}.*{other.key_id}"):
        other.open(blob, "outbox")


@pytest.mark.parametrize("text", ["", "short", "A" * 40, "zz" * 32])
def test_a_key_that_is_not_256_bits_is_a_configuration_error_without_its_value(text: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a 256-bit key") as info:
        parse_key(text, KEY_ENV)
    assert not text or text not in info.value.message


def _store_with_record(path: Path, **kw: object) -> SqliteStore:
    store = SqliteStore(path, **kw)  # type: ignore[arg-type]
    with store.transaction():
        store.keep_record("crm", "PaymentObj", PAYMENT["_id"], PAYMENT)
    return store


def _stored(store: SqliteStore) -> dict[str, object]:
    (rec,) = store.stored_records("crm", "PaymentObj")
    return rec.record


def test_the_embedded_default_makes_a_key_file_beside_the_state_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    store = _store_with_record(tmp_path / "state.db")
    store.close()
    key_file = tmp_path / "state.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file_problem(key_file) == ""
    assert key_id(parse_key(key_file.read_text(), "k")) == SqliteStore(tmp_path / "state.db").sealed_key_id()


def test_a_key_file_others_can_read_is_named_with_the_fix(tmp_path: Path) -> None:
    _store_with_record(tmp_path / "state.db").close()
    key_file = tmp_path / "state.db.key"
    key_file.chmod(0o644)
    assert "can be read by others" in key_file_problem(key_file)
    assert "chmod 600" in key_file_problem(key_file)


def test_a_missing_key_file_refuses_the_store_and_makes_no_new_key(tmp_path: Path) -> None:
    _store_with_record(tmp_path / "state.db").close()
    (tmp_path / "state.db.key").unlink()
    with pytest.raises(StateError, match=r"key file .*state\.db\.key of state store .* is missing") as info:
        SqliteStore(tmp_path / "state.db")
    assert info.value.exit_code == 2
    assert "nothing was changed" in info.value.hint
    assert not (tmp_path / "state.db.key").exists()


def test_a_wrong_key_refuses_the_store_before_anything_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_with_record(tmp_path / "state.db").close()
    monkeypatch.setenv(KEY_ENV, new_key_text())
    with pytest.raises(
        StateError, match=f"is encrypted with key [0-9a-f]{{8}}, but the key from {KEY_ENV} is"
    ) as info:
        SqliteStore(tmp_path / "state.db")
    assert info.value.exit_code == 2
    monkeypatch.delenv(KEY_ENV)
    assert _stored(SqliteStore(tmp_path / "state.db")) == PAYMENT  # nothing was lost


def test_a_key_from_the_environment_is_used_and_no_key_file_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key_text()
    monkeypatch.setenv(KEY_ENV, key)
    store = _store_with_record(tmp_path / "state.db")
    assert store.sealed_key_id() == key_id(parse_key(key, "k"))
    assert _stored(store) == PAYMENT
    assert not (tmp_path / "state.db.key").exists()


def test_rotating_a_key_file_reseals_everything_and_retires_the_old_key(tmp_path: Path) -> None:
    store = _store_with_record(tmp_path / "state.db")
    old = store.sealed_key_id()
    with store.locked(0):
        done = rotate_key(store)
    store.close()
    assert done.old_key == old and done.new_key != old and done.records >= 1
    assert Path(done.retired).name == f"state.db.key.{old}.retired"
    assert stat.S_IMODE(Path(done.retired).stat().st_mode) == 0o600
    reopened = SqliteStore(tmp_path / "state.db")
    assert reopened.sealed_key_id() == done.new_key
    assert _stored(reopened) == PAYMENT
    assert not next_key_file(tmp_path / "state.db.key").exists()


def test_a_rotation_stopped_half_way_leaves_everything_readable_and_finishes_next_time(
    tmp_path: Path,
) -> None:
    store = _store_with_record(tmp_path / "state.db")
    with store.transaction():
        store.keep_record("crm", "PaymentObj", "second", {**PAYMENT, "_id": "second"})
    old = store.sealed_key_id()
    store.close()
    nxt = next_key_file(tmp_path / "state.db.key")
    new = new_key_text()
    nxt.write_text(new)  # the rotation made its key, then was killed before re-sealing
    half = SqliteStore(tmp_path / "state.db")
    half.sealer = Sealer(parse_key(nxt.read_text(), "k"), dict(half.sealer.keys))
    with half.transaction():  # one record re-sealed with the new key, the other not yet
        half.keep_record("crm", "PaymentObj", "second", {**PAYMENT, "_id": "second", "edited": True})
    half.close()
    again = SqliteStore(tmp_path / "state.db")
    assert len(again.stored_records("crm", "PaymentObj")) == 2  # both keys open what they sealed
    with again.locked(0):
        done = rotate_key(again)
    assert done.old_key == old and done.new_key == key_id(parse_key(new, "k"))
    again.close()
    assert [r.record_id for r in SqliteStore(tmp_path / "state.db").stored_records("crm", "PaymentObj")] == [
        PAYMENT["_id"],
        "second",
    ]


def test_rotating_a_configured_key_needs_the_old_one_as_previous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = new_key_text(), new_key_text()
    monkeypatch.setenv(KEY_ENV, first)
    store = _store_with_record(tmp_path / "state.db")
    with store.locked(0), pytest.raises(ConfigurationError, match="no new key to rotate to"):
        rotate_key(store)
    store.close()
    monkeypatch.setenv(KEY_ENV, second)
    monkeypatch.setenv(PREVIOUS_KEY_ENV, first)
    store = SqliteStore(tmp_path / "state.db")
    with store.locked(0):
        done = rotate_key(store)
    store.close()
    assert done.new_key == key_id(parse_key(second, "k")) and done.records >= 1
    monkeypatch.delenv(PREVIOUS_KEY_ENV)
    assert _stored(SqliteStore(tmp_path / "state.db")) == PAYMENT  # the old key is no longer needed


def test_records_an_older_crmsync_wrote_in_plain_text_are_sealed_when_the_store_is_opened(
    tmp_path: Path,
) -> None:
    store = _store_with_record(tmp_path / "state.db")
    with store.transaction():  # as schema 7 wrote it: plain JSON, nothing sealed, no key recorded
        store._execute(
            "UPDATE source_records SET payload = ?, sealed = NULL",
            (json.dumps(PAYMENT, ensure_ascii=False, sort_keys=True),),
        )
        store._execute("DELETE FROM control WHERE name = 'seal_key_id'")
    store.close()
    reopened = SqliteStore(tmp_path / "state.db")
    row = reopened._one("SELECT payload, sealed FROM source_records")
    assert row is not None and row["payload"] == "" and row["sealed"] is not None
    assert _stored(reopened) == PAYMENT


def test_a_read_only_open_reads_sealed_records_with_the_key_file(tmp_path: Path) -> None:
    _store_with_record(tmp_path / "state.db").close()
    (tmp_path / "state.db").chmod(0o444)
    store = SqliteStore(tmp_path / "state.db", read_only=True)
    assert _stored(store) == PAYMENT  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir() if "key" in p.name) == ["state.db.key"]
