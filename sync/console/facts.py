"""Copy the searchable facts of every new voucher out of the (sealed) outbox.

Run by the console, never by a sync: at start in the background for the whole backlog, and
before each voucher list for what a run added since, so a list is never more than a few
seconds behind the outbox. Two consoles on one store may fill at once (``ON CONFLICT DO
NOTHING``); a read-only store is simply not filled (the list then says how far it got).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.state import OutboxRow, StateStore
from sync.state.voucher_facts import VoucherFacts

__all__ = ["LOOK_BACK", "catch_up", "facts_of"]

#: seqs below the last one with facts that are checked again for rows committed late
LOOK_BACK = 10_000


def _cents(total: str) -> int:
    try:
        return int((abs(Decimal(total)) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        return 0


def _dims(line: dict[str, Any]) -> Iterable[tuple[str, str]]:
    for pair in line.get("dims") or ():
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            yield str(pair[0]), str(pair[1])


def facts_of(row: OutboxRow, customer_dimension: str) -> VoucherFacts:
    """The facts of one outbox row (a payload that cannot be read gives empty facts, never an error)."""
    try:
        payload = json.loads(row.payload)
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    lines = [line for line in payload.get("lines") or () if isinstance(line, dict)]
    customers = list(dict.fromkeys(v for line in lines for k, v in _dims(line) if k == customer_dimension))
    names = [str(s.get("name") or "") for s in payload.get("sources") or () if isinstance(s, dict)]
    words = [row.key, *row.record_ids, *names, *customers, str(payload.get("summary") or "")]
    return VoucherFacts(
        seq=row.seq,
        period=str(payload.get("period") or row.voucher_date[:7]),
        voucher_group=str(payload.get("group") or ""),
        customer=customers[0] if customers else "",
        amount_cents=_cents(row.total),
        search=" ".join(w for w in words if w).lower(),
    )


def catch_up(
    store: StateStore,
    customer_dimension: str,
    *,
    limit: int | None = None,
    batch: int = 2000,
    look_back: int = LOOK_BACK,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Fill the facts of vouchers that have none yet (at most ``limit``); returns how many.

    PostgreSQL hands out seqs before commit, so a row may appear below the head later: the
    sweep looks ``look_back`` seqs below it too (one run posts at a time, in order, so a late
    row is never far). A request fills only what lies above the head (``look_back=0``).
    ``stop`` is asked between batches (the console shutting down).
    """
    if getattr(store, "read_only", False):
        return 0
    done = 0
    head = max(0, store.facts_head() - look_back)
    while (limit is None or done < limit) and not stop():
        size = batch if limit is None else min(batch, limit - done)
        rows: Sequence[OutboxRow] = store.outbox_without_facts(head, size)
        if not rows:
            break
        store.add_voucher_facts([facts_of(r, customer_dimension) for r in rows])
        head = rows[-1].seq
        done += len(rows)
    return done
