"""What each CRM record should show, derived from the outbox alone.

For every source record behind a voucher the ERP holds, the latest such voucher (highest
outbox sequence, reversal vouchers excluded) decides the values: its ERP number, id and
status (``posted``, or ``reversed`` once a reversal undid it). Deriving from the outbox,
rather than from events, makes write-back idempotent and self-healing: a value already
written is recognised by its hash and not sent again; one that failed is simply still due.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sync.model import Voucher
from sync.state.status import IN_ERP
from sync.writeback.config import WritebackConfig

__all__ = ["Desired", "changed_rows", "desired_values", "from_entry"]

_IN_ERP = tuple(sorted(IN_ERP))


@dataclass(frozen=True, slots=True)
class Desired:
    """The field values one CRM record should carry."""

    stream: str
    record_id: str
    fields: tuple[tuple[str, str], ...]
    seq: int

    @property
    def digest(self) -> str:
        blob = json.dumps(self.fields, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def changed_rows(store: Any, since: str) -> list[Any]:
    """Outbox rows of vouchers the ERP holds whose status changed at or after ``since``.

    Uses the store's ``rows_updated_since`` when it has one (an indexed query); otherwise
    filters every row (correct, slower on a large outbox).
    """
    query = getattr(store, "rows_updated_since", None)
    if query is not None:
        return list(query(since, _IN_ERP))
    return [r for r in store.list_vouchers() if r.status in _IN_ERP and str(r.updated) >= since]


def from_entry(stream: str, record_id: str, fields_json: str) -> Desired:
    """A Desired rebuilt from what the progress table stored (for retries of refused values)."""
    fields = json.loads(fields_json)
    return Desired(stream, record_id, tuple(sorted((str(k), str(v)) for k, v in fields.items())), 0)


def desired_values(rows: Iterable[object], config: WritebackConfig, source: str) -> list[Desired]:
    """One Desired per (object, record) of ``source`` that a posted voucher came from.

    ``rows`` are outbox rows (``OutboxRow``: seq, kind, status, payload, erp_id, erp_number).
    """
    best: dict[tuple[str, str], Desired] = {}
    for row in rows:
        status = str(getattr(row, "status", ""))
        if status not in _IN_ERP or getattr(row, "kind", "") == "reversal":
            continue
        try:
            voucher = Voucher.from_stored(str(getattr(row, "payload", "")))
        except ValidationError:
            continue
        if voucher.reversal_of:
            continue
        seq = int(getattr(row, "seq", 0))
        values = {
            "number": str(getattr(row, "erp_number", "") or ""),
            "erp_id": str(getattr(row, "erp_id", "") or ""),
            "status": config.status_labels.get(status, status),
        }
        for ref in voucher.sources:
            fields = config.objects.get(ref.stream)
            if fields is None or ref.system != source:
                continue
            key = (ref.stream, ref.record_id)
            if key in best and best[key].seq > seq:
                continue
            targets = fields.targets()
            best[key] = Desired(
                ref.stream,
                ref.record_id,
                tuple(sorted((field, values[what]) for what, field in targets.items())),
                seq,
            )
    return sorted(best.values(), key=lambda d: d.seq)
