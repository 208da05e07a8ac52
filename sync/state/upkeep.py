"""Upkeep of a state store an operator runs on purpose: key rotation and compaction.

Both run under the run lock, so no sync writes while they do, and both are safe to stop at
any moment: a rotation stopped half-way leaves every record readable (the new key waits
beside the old one, ``<key file>.next``) and the next ``rotate-key`` finishes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sync.errors import ConfigurationError
from sync.state import audit
from sync.state.keyring import finish_rotation, next_key_file, retired_key_file, write_key_file
from sync.state.sealing import KEY_ENV, PREVIOUS_KEY_ENV, Sealer, new_key_text, parse_key
from sync.state.store import StateStore

__all__ = ["Compacted", "Rotated", "compact", "rotate_key"]


@dataclass(frozen=True)
class Rotated:
    """What a key rotation did."""

    old_key: str
    new_key: str
    records: int
    #: where the key file's old key was kept ('' when the key came from the config or environment)
    retired: str = ""


@dataclass(frozen=True)
class Compacted:
    """What a compaction reclaimed (bytes; SQLite: the file, PostgreSQL: the schema's tables)."""

    before: int
    after: int


def _from_file(store: StateStore) -> bool:
    spec = store.key_spec
    return not spec.key and not os.environ.get(KEY_ENV, "").strip() and spec.key_file is not None


def rotate_key(store: StateStore) -> Rotated:
    """Seal every record with a new key. The caller holds the run lock.

    Key file: a new key is made (``<key file>.next``), every record re-sealed with it, then it
    takes the old one's place and the old one is kept as ``<key file>.<id>.retired`` (backups
    from before need it). Configured key: the operator has put the new key in place and the
    old one in ``CRMSYNC_STATE_KEY_PREVIOUS`` (or ``state.previous_keys``).
    """
    old = store.sealed_key_id() or store.sealer.key_id
    if _from_file(store):
        key_file = store.key_spec.key_file
        assert key_file is not None
        nxt = next_key_file(key_file)
        if not nxt.is_file():
            write_key_file(nxt, new_key_text())
        new = parse_key(nxt.read_text(encoding="ascii"), f"the key file {nxt}")
        store.sealer = Sealer(new, dict(store.sealer.keys), f"the key file {key_file}")
    elif store.sealer.key_id == old and not store.sealer.keys.keys() - {old}:
        raise ConfigurationError(
            f"the state is sealed with key {old}, the key configured now: there is no new key to rotate to",
            hint=f"put the new key in {KEY_ENV} (or state.key) and the old one in {PREVIOUS_KEY_ENV} "
            "(or state.previous_keys), then run `crmsync state rotate-key` again",
        )
    records = store.reseal()
    with store.transaction():
        store.set_sealed_key()
        audit.record(
            store,
            audit.Action.ROTATE_KEY,
            store.sealer.key_id,
            {"old_key": old, "new_key": store.sealer.key_id, "records": records},
        )
    retired = ""
    if _from_file(store):
        key_file = store.key_spec.key_file
        assert key_file is not None
        finish_rotation(key_file, store.sealer.key_id)
        if old != store.sealer.key_id:
            retired = str(retired_key_file(key_file, old))
    return Rotated(old, store.sealer.key_id, records, retired)


def compact(store: StateStore) -> Compacted:
    """Give the space of deleted and rewritten rows back (SQLite VACUUM; PostgreSQL VACUUM FULL)."""
    before = store.size_bytes()
    store.vacuum()
    after = store.size_bytes()
    audit.record(store, audit.Action.COMPACT, "", {"before": before, "after": after})
    return Compacted(before, after)
