"""What each page and API answer shows, read from the state store (no HTTP here).

Every function takes an open store (and the config where a report is built) and returns
plain data: the API sends it as JSON, the templates render it. Voucher items have the shape
``crmsync vouchers --format json`` prints (``OutboxRow.public_dict``), with the facts added.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.config import AppConfig
from sync.errors import ConfigurationError
from sync.model import Voucher
from sync.state import OutboxRow, StateStore, Status, audit
from sync.state.voucher_facts import VoucherFilter

__all__ = [
    "ALL_STATUSES",
    "NotFound",
    "failures",
    "find_voucher",
    "overview",
    "parse_filter",
    "pretty_json",
    "voucher_detail",
    "voucher_page",
]

ALL_STATUSES = [s.value for s in Status]


class NotFound(LookupError):
    """No such voucher or entry (HTTP 404)."""


def _amount_cents(text: str, field: str) -> int | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigurationError(
            f"{field} {text!r} is not an amount", hint="write it like 1500 or 1500.00"
        ) from None
    if not value.is_finite() or abs(value) > Decimal("1e15"):
        raise ConfigurationError(f"{field} {text!r} is out of range", hint="write an amount like 1500.00")
    return int((abs(value) * 100).to_integral_value())


def parse_filter(params: dict[str, str]) -> VoucherFilter:
    """The voucher list's query parameters as a filter (a bad value is a 400 naming it)."""
    status = params.get("status", "").strip()
    if status and status not in ALL_STATUSES:
        raise ConfigurationError(f"status {status!r} is unknown", hint="one of " + ", ".join(ALL_STATUSES))
    period = params.get("period", "").strip()
    if period and not (len(period) == 7 and period[4] == "-" and period.replace("-", "").isdigit()):
        raise ConfigurationError(f"period {period!r} is not YYYY-MM", hint="e.g. 2026-11")
    return VoucherFilter(
        period=period,
        status=status,
        mapping=params.get("mapping", "").strip(),
        voucher_group=params.get("group", "").strip(),
        customer=params.get("customer", "").strip(),
        amount_min_cents=_amount_cents(params.get("amount_min", ""), "amount_min"),
        amount_max_cents=_amount_cents(params.get("amount_max", ""), "amount_max"),
        q=params.get("q", "").strip()[:200],
    )


def _item(row: OutboxRow) -> dict[str, Any]:
    return dict(row.public_dict())


def voucher_page(store: StateStore, f: VoucherFilter, page: int, page_size: int) -> dict[str, Any]:
    """``{"items": [...], "total": N, "page": P, "page_size": S, "pages": K}``."""
    page = max(1, page)
    rows, total = store.search_vouchers(f, offset=(page - 1) * page_size, limit=page_size)
    return {
        "items": [_item(r) for r in rows],
        # for the page only (the API's items stay as `crmsync vouchers --format json` prints them)
        "summaries": {r.external_ref: _summary(r) for r in rows},
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": max(1, -(-total // page_size)),
    }


def _summary(row: OutboxRow) -> str:
    try:
        return str(json.loads(row.payload).get("summary") or "")
    except (ValueError, AttributeError):
        return ""


def find_voucher(store: StateStore, ref: str) -> OutboxRow:
    """A voucher by external reference (key#revision), or its key's newest revision."""
    row = store.get_by_ref(ref) if "#" in ref else None
    if row is None:
        revisions = store.revisions_of(ref)
        rows = [r for r in (store.get_voucher(ref, rev) for rev in revisions) if r is not None]
        row = max(rows, key=lambda r: r.seq) if rows else None
    if row is None:
        raise NotFound(f"no voucher {ref!r}")
    return row


def _lines(row: OutboxRow) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        voucher = Voucher.from_stored(row.payload)
    except ValueError:
        return [], {}
    lines = [
        {
            "account": line.account,
            "debit": str(line.debit) if line.debit else "",
            "credit": str(line.credit) if line.credit else "",
            "currency": line.currency,
            "amount_foreign": None if line.amount_foreign is None else str(line.amount_foreign),
            "dims": line.dimensions,
            "memo": line.memo,
        }
        for line in voucher.lines
    ]
    head = {
        "book": voucher.book,
        "period": voucher.period,
        "group": voucher.group,
        "summary": voucher.summary,
        "currency": voucher.currency,
        "sources": [s.model_dump(mode="json") for s in voucher.sources],
        "mapping_file": voucher.mapping.file,
        "mapping_line": voucher.mapping.line,
    }
    return lines, head


def _audit_of(store: StateStore, ref: str) -> list[dict[str, Any]]:
    return [e.public_dict() for e in audit.entries_about(store, ref)]


def voucher_detail(store: StateStore, ref: str) -> dict[str, Any]:
    """One voucher: lines, ERP id/number, the source records as read, the reversal chain, audit."""
    row = find_voucher(store, ref)
    lines, head = _lines(row)
    sources = []
    for rid in row.record_ids or [row.source_id]:
        record = store.stored_record(row.source_system, row.source_stream, rid)
        sources.append(
            {"system": row.source_system, "stream": row.source_stream, "id": rid, "record": record}
        )
    reverses = store.get_by_ref(row.reversal_of) if row.reversal_of else None
    reversal = store.reversal_for(row.external_ref)
    revisions = []
    for rev in store.revisions_of(row.key):
        other = store.get_voucher(row.key, rev)
        if other is not None and other.external_ref != row.external_ref:
            revisions.append({"external_ref": other.external_ref, "status": other.status, "seq": other.seq})
    return {
        **_item(row),
        "reversed_by": reversal.external_ref if reversal else row.reversed_by,
        **head,
        "lines": lines,
        "source_record": sources[0]["record"] if sources else None,
        "source_records": sources,
        "reverses_voucher": _item(reverses) if reverses else None,
        "reversed_by_voucher": _item(reversal) if reversal else None,
        "revisions": sorted(revisions, key=lambda r: int(r["seq"])),
        "audit": _audit_of(store, row.external_ref),
    }


def failures(config: AppConfig, store: StateStore) -> dict[str, Any]:
    """The shape of ``crmsync failures --format json``."""
    from sync.writeback.run import writeback_standing

    _, unwritten = writeback_standing(config)
    return {
        "quarantined": [q.public_dict() for q in store.open_quarantine()],
        "failed": [_item(r) for r in store.list_vouchers(status=Status.FAILED)],
        "writeback": [asdict(e) for e in unwritten],
    }


def overview(config: AppConfig, store: StateStore) -> dict[str, Any]:
    """Last runs, counts by status, open quarantine, pause flag, destination, stale mappings."""
    from sync.engine.identity import describe, stored_identity
    from sync.operations import stale_mappings

    stale, notes = stale_mappings(config, store)
    destination = stored_identity(store)
    return {
        "state": store.where,
        "destination": destination,
        "destination_text": describe(destination) if destination else "",
        "paused": store.get_flag("paused"),
        "runs": [r.public_dict() for r in store.last_runs(10)],
        "vouchers": store.counts_by_status(),
        "quarantined": store.open_quarantine_count(),
        "stale_mappings": [s.public_dict() for s in stale],
        "notes": notes,
        "awaiting_approval": store.count_status(Status.AWAITING_APPROVAL),
    }


def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
