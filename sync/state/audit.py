"""The audit trail: who did what to the books, when, in an append-only hash chain.

Every post, reversal, refusal, retry, approval, manual reconciliation decision and config
change is one entry in the state store's ``audit_log`` (migration 3), written in the same
transaction as the change it records, so the trail and the outbox never disagree. It lives
with the state store because it is one of its tables: the engine records into it without
knowing any feature above it.

The chain: entry ``n`` stores ``prev_hash`` (entry ``n-1``'s hash, 64 zeros for the first)
and ``hash = sha256(canonical JSON of its fields + prev_hash)``. The single-row table
``audit_head`` holds the last sequence number and hash, so deleting the newest entries is
detected too. Appends take the head row first (``FOR UPDATE`` on PostgreSQL; SQLite's write
transaction is already exclusive), so concurrent writers cannot fork the chain.

The poster records a batch of vouchers as one entry (``record_batch``): its detail holds one
row per voucher (``fields`` + ``vouchers``), so the chain hash covers every voucher of the
batch, at a tenth of the bytes and hashing of an entry each. ``entries`` (and ``crmsync audit
export``) gives one line per voucher all the same, each with its batch's seq and hashes and
its ``item`` number in the batch; ``verify`` checks the stored entries.

What this proves, and what not: any change made without recomputing the chain (an edited
amount, a deleted row, two rows swapped) is found and named. Someone with write access to the
database who recomputes every later hash and the head is not detected; keep the head hash
printed by ``crmsync audit verify`` outside the database to catch that.
"""

from __future__ import annotations

import contextvars
import getpass
import hashlib
import json
import os
import socket
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sync.state.store import StateStore, now_iso

__all__ = [
    "GENESIS",
    "Action",
    "AuditConfig",
    "AuditEntry",
    "Problem",
    "acting_as",
    "actor_name",
    "entries",
    "entries_about",
    "head",
    "note_config",
    "record",
    "record_batch",
    "verify",
]

GENESIS = "0" * 64


class AuditConfig(BaseModel):
    """The ``audit:`` section of config.yaml."""

    model_config = ConfigDict(extra="forbid")

    head_file: str | None = Field(
        None,
        description="after every sync, append the chain head (entry number and hash) to this file, "
        "kept outside the database so that a rewritten history shows (relative to config.yaml)",
    )


class Action(StrEnum):
    """The entry kinds (``action`` column)."""

    POST = "post"
    REVERSAL = "reversal"
    REFUSED = "refused"
    RETRY = "retry"
    APPROVE = "approve"
    MANUAL_MATCH = "manual_match"
    MANUAL_UNMATCH = "manual_unmatch"
    CONFIG_CHANGED = "config_changed"
    DISMISS = "dismiss"
    REMAP = "remap"
    ADOPT = "adopt"
    REBIND = "rebind"
    ROTATE_KEY = "rotate_key"
    COMPACT = "compact"
    PAUSE = "pause"
    RESUME = "resume"
    #: web console users added, removed, given a new password (``detail.op``)
    USERS = "users"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit entry as stored, with the hashes that chain it to the one before."""

    seq: int
    at: str
    action: str
    subject: str
    detail: dict[str, Any]
    who: str
    host: str
    pid: int
    run_id: int | None
    prev_hash: str
    hash: str
    #: the voucher's place (1, 2, ...) in a batch entry (``record_batch``); None for a single entry
    item: int | None = None

    def public_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Problem:
    """The first break in the chain: which entry, and what is wrong with it."""

    seq: int
    message: str


_actor_cache: list[tuple[str, str, int]] = []

#: the person acting, when it is not the OS user (a web console login): ``acting_as``
_acting: contextvars.ContextVar[str | None] = contextvars.ContextVar("crmsync_audit_actor", default=None)


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Record every entry made inside as done by ``name`` (the console's logged-in user)."""
    token = _acting.set(name)
    try:
        yield
    finally:
        _acting.reset(token)


def _actor() -> tuple[str, str, int]:
    """(who, host, pid): the console user acting, else the OS user of this process."""
    who, host, pid = _process_actor()
    acting = _acting.get()
    return (acting, host, pid) if acting else (who, host, pid)


def actor_name() -> str:
    """The name the next entry records as who acted."""
    return _actor()[0]


def _process_actor() -> tuple[str, str, int]:
    pid = os.getpid()
    if not _actor_cache or _actor_cache[0][2] != pid:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = os.environ.get("USER", "") or f"uid {os.getuid()}"
        _actor_cache[:] = [(user, socket.gethostname(), pid)]
    return _actor_cache[0]


#: a detail longer than this (a batch of vouchers) is stored deflated in ``packed``, its text ''
PACK_OVER = 1024
_COLUMNS = "seq, at, action, subject, detail, packed, who, host, pid, run_id, prev_hash, hash"


def _pack(detail: str) -> tuple[str, bytes | None]:
    """(text column, packed column) for a detail: long ones deflated (the hash covers the text)."""
    if len(detail) <= PACK_OVER:
        return detail, None
    return "", zlib.compress(detail.encode(), 6)


def _unpack(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its detail as text again (a damaged packed detail reads as its damage)."""
    packed = row.pop("packed", None)
    if packed is not None:
        try:
            row["detail"] = zlib.decompress(bytes(packed)).decode()
        except (zlib.error, UnicodeDecodeError):
            row["detail"] = "(damaged packed detail)"
    return row


def _canonical_detail(detail: Mapping[str, Any]) -> str:
    return json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _digest(fields: Mapping[str, Any], prev_hash: str) -> str:
    body = json.dumps(
        {
            "seq": int(fields["seq"]),
            "at": str(fields["at"]),
            "action": str(fields["action"]),
            "subject": str(fields["subject"]),
            "detail": str(fields["detail"]),
            "who": str(fields["who"]),
            "host": str(fields["host"]),
            "pid": int(fields["pid"]),
            "run_id": None if fields["run_id"] is None else int(fields["run_id"]),
            "prev_hash": prev_hash,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    store: StateStore,
    action: str,
    subject: str = "",
    detail: Mapping[str, Any] | None = None,
    *,
    run_id: int | None = None,
) -> int:
    """Append one entry (joining the caller's transaction if there is one); returns its seq."""
    who, host, pid = _actor()
    with store.transaction():
        head = store._one(f"SELECT seq, hash FROM audit_head WHERE id = 1{store.for_update_sql}")
        prev_seq, prev_hash = (int(head["seq"]), str(head["hash"])) if head else (0, GENESIS)
        fields: dict[str, Any] = {
            "seq": prev_seq + 1,
            "at": now_iso(),
            "action": str(action),
            "subject": subject,
            "detail": _canonical_detail(detail or {}),
            "who": who,
            "host": host,
            "pid": pid,
            "run_id": run_id,
        }
        digest = _digest(fields, prev_hash)
        text, packed = _pack(fields["detail"])
        store._execute(
            "INSERT INTO audit_log (seq, at, action, subject, detail, packed, who, host, pid, run_id, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fields["seq"],
                fields["at"],
                fields["action"],
                fields["subject"],
                text,
                packed,
                fields["who"],
                fields["host"],
                fields["pid"],
                fields["run_id"],
                prev_hash,
                digest,
            ),
        )
        store._execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (fields["seq"], digest))
    return int(fields["seq"])


#: the columns of a batch entry's rows; ``subject`` is the voucher's external reference
_BATCH_KEY = "vouchers"


def record_batch(
    store: StateStore,
    action: str,
    items: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    run_id: int | None = None,
) -> None:
    """Append one entry for a batch of ``(subject, detail)`` of one action (the poster's batches).

    The details become rows under the union of their keys (a key a detail lacks reads back as
    null), so the chain hash covers every voucher.
    """
    if not items:
        return
    if len(items) == 1:
        subject, detail = items[0]
        record(store, action, subject, detail, run_id=run_id)
        return
    fields = list(dict.fromkeys(k for _, detail in items for k in detail))
    rows = [[subject, *(detail.get(k) for k in fields)] for subject, detail in items]
    record(
        store,
        action,
        f"{len(items)} vouchers",
        {"fields": ["subject", *fields], _BATCH_KEY: rows},
        run_id=run_id,
    )


def _expand(entry: AuditEntry) -> Iterator[AuditEntry]:
    """A batch entry as one entry per voucher (others as they are)."""
    rows, fields = entry.detail.get(_BATCH_KEY), entry.detail.get("fields")
    if not isinstance(rows, list) or not isinstance(fields, list) or fields[:1] != ["subject"]:
        yield entry
        return
    for number, row in enumerate(rows, start=1):
        values = dict(zip(fields, row, strict=False))
        subject = str(values.pop("subject", ""))
        yield replace(entry, subject=subject, detail=values, item=number)


def _rows(store: StateStore, batch: int = 1000) -> Iterator[dict[str, Any]]:
    after = -1
    while True:
        rows = store._all(
            f"SELECT {_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", (after, batch)
        )
        if not rows:
            return
        yield from (_unpack(r) for r in rows)
        after = int(rows[-1]["seq"])


def _entry(row: Mapping[str, Any]) -> AuditEntry:
    try:
        detail = json.loads(row["detail"])
    except ValueError:
        detail = {"unreadable": str(row["detail"])}
    return AuditEntry(
        seq=int(row["seq"]),
        at=str(row["at"]),
        action=str(row["action"]),
        subject=str(row["subject"]),
        detail=detail if isinstance(detail, dict) else {"value": detail},
        who=str(row["who"]),
        host=str(row["host"]),
        pid=int(row["pid"]),
        run_id=None if row["run_id"] is None else int(row["run_id"]),
        prev_hash=str(row["prev_hash"]),
        hash=str(row["hash"]),
    )


def entries(store: StateStore) -> Iterator[AuditEntry]:
    """Every entry, oldest first; a batch entry as one per voucher (``item`` 1, 2, ...)."""
    for row in _rows(store):
        yield from _expand(_entry(row))


def entries_about(store: StateStore, subject: str) -> list[AuditEntry]:
    """The entries about one subject (a voucher's external reference), oldest first, batch
    entries' rows included (a scan of the trail: for one voucher's page, not for lists)."""
    quoted = json.dumps(subject, ensure_ascii=False)
    escaped = quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = store._all(
        f"SELECT {_COLUMNS} FROM audit_log "
        "WHERE subject = ? OR detail LIKE ? ESCAPE '\\' OR packed IS NOT NULL ORDER BY seq",
        (subject, f"%{escaped}%"),
    )
    found = (_unpack(r) for r in rows)
    return [
        e
        for row in found
        if row["subject"] == subject or quoted in str(row["detail"])
        for e in _expand(_entry(row))
        if e.subject == subject
    ]


def _label(row: Mapping[str, Any]) -> str:
    return f"entry {row['seq']} ({row['action']} {row['subject']} at {row['at']})".replace(" )", ")")


def verify(store: StateStore) -> tuple[int, str, Problem | None]:
    """Walk the chain: (entries checked, head hash, the first problem or None)."""
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    for row in _rows(store):
        seq = int(row["seq"])
        if seq != expected_seq:
            gone = f"entry {expected_seq}" if seq == expected_seq + 1 else f"entries {expected_seq}-{seq - 1}"
            return (
                checked,
                prev_hash,
                Problem(
                    expected_seq, f"{gone} missing: {_label(row)} follows entry {expected_seq - 1} (deleted)"
                ),
            )
        if _digest(row, str(row["prev_hash"])) != row["hash"]:
            return (
                checked,
                prev_hash,
                Problem(seq, f"{_label(row)}: content does not match its hash (edited or moved)"),
            )
        if row["prev_hash"] != prev_hash:
            return (
                checked,
                prev_hash,
                Problem(
                    seq, f"{_label(row)}: does not link to entry {seq - 1} (deleted, reordered or inserted)"
                ),
            )
        prev_hash, expected_seq, checked = str(row["hash"]), seq + 1, checked + 1
    head = store._one("SELECT seq, hash FROM audit_head WHERE id = 1")
    if head is not None and (int(head["seq"]) != checked or head["hash"] != prev_hash):
        return (
            checked,
            prev_hash,
            Problem(
                checked + 1,
                f"the chain ends at entry {checked} but its head records entry {head['seq']} "
                f"(the newest entries were deleted, or the head was altered)",
            ),
        )
    return checked, prev_hash, None


def head(store: StateStore) -> tuple[int, str]:
    """The chain head as the store records it: (last entry number, its hash)."""
    row = store._one("SELECT seq, hash FROM audit_head WHERE id = 1")
    return (int(row["seq"]), str(row["hash"])) if row else (0, GENESIS)


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def note_config(store: StateStore, files: Mapping[str, Path], *, run_id: int | None = None) -> bool:
    """Record a ``config_changed`` entry when the config/mapping files differ from the last one seen.

    ``files`` maps a role (``config``, ``mapping:orders.yaml``) to its path. Only hashes are
    stored, never content (the config may hold inline secrets). Returns True if recorded.
    """
    current = {role: _file_hash(path) for role, path in sorted(files.items())}
    last = store._one(
        "SELECT detail, packed FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1",
        (Action.CONFIG_CHANGED,),
    )
    if last is not None:
        last = _unpack(last)
    previous: dict[str, str] = {}
    if last is not None:
        try:
            previous = dict(json.loads(last["detail"]).get("files", {}))
        except (ValueError, AttributeError):
            previous = {}
    if last is not None and previous == current:
        return False
    changed = sorted(k for k in set(current) | set(previous) if current.get(k) != previous.get(k))
    record(
        store,
        Action.CONFIG_CHANGED,
        str(files.get("config", "")),
        {"files": current, "changed": changed, "first": last is None},
        run_id=run_id,
    )
    return True
