"""Summarisation: many records -> one voucher per group, from JSON-able contributions.

Each record of a summarised mapping contributes its own (balanced) lines; the engine stores
them per (group, record) and asks for the group's voucher from all current members. Lines
merge when they come from the same mapping line (its index in ``lines:``) with the same
account, side, currency and dimensions; the result does not depend on the order the
records arrived in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sync.mapping.api import Contribution
from sync.model import SourceRef, VoucherLine
from sync.money import ZERO

__all__ = ["ROUNDING_INDEX", "Merged", "contribution_payload", "merge"]

#: the mapping-line index given to a rounding-difference line (after every real line)
ROUNDING_INDEX = 10_000


def contribution_payload(
    header: Mapping[str, Any], lines: Sequence[tuple[int, VoucherLine]], source: SourceRef, extra: str
) -> dict[str, Any]:
    """What one record contributes, as JSON-able data (amounts as decimal strings)."""
    return {
        "header": {**header, "date": header["date"].isoformat()},
        "lines": [
            [
                index,
                ln.account,
                ln.side.value,
                str(ln.amount),
                ln.currency,
                None if ln.amount_foreign is None else str(ln.amount_foreign),
                None if ln.rate is None else str(ln.rate),
                [list(d) for d in ln.dims],
                ln.memo,
            ]
            for index, ln in lines
        ],
        "source": {
            "system": source.system,
            "stream": source.stream,
            "record_id": source.record_id,
            "name": source.name,
            "amount": None if source.amount is None else str(source.amount),
        },
        "extra": extra,
    }


class Merged:
    """The summed content of a group, ready to become a Voucher."""

    def __init__(
        self, header: dict[str, Any], lines: list[VoucherLine], sources: tuple[SourceRef, ...], extra: str
    ) -> None:
        self.header, self.lines, self.sources, self.extra = header, lines, sources, extra


def merge(contributions: Sequence[Contribution]) -> Merged:
    """Sum the members' lines; header from the member with the smallest record id, latest date."""
    members = sorted(contributions, key=lambda c: c.record_id)
    sums: dict[tuple[Any, ...], list[Any]] = {}
    for c in members:
        for index, account, side, amount, currency, foreign, rate, dims, memo in c.payload["lines"]:
            slot = (index, side, account, tuple(tuple(d) for d in dims), currency)
            entry = sums.setdefault(slot, [ZERO, None, set(), set()])
            entry[0] += Decimal(amount)
            if foreign is not None:
                entry[1] = (entry[1] or ZERO) + Decimal(foreign)
            entry[2].add(rate)
            entry[3].add(memo)
    lines = []
    for slot in sorted(sums):
        amount, foreign, rates, memos = sums[slot]
        if amount == ZERO and foreign in (None, ZERO):
            continue
        rate = next(iter(rates)) if len(rates) == 1 else None
        lines.append(
            VoucherLine(
                account=slot[2],
                side=slot[1],
                amount=amount,
                currency=slot[4],
                amount_foreign=foreign,
                rate=None if foreign is None or rate is None else Decimal(rate),
                dims=slot[3],
                memo=next(iter(memos)) if len(memos) == 1 else "",
            )
        )
    dates = {c.payload["header"]["date"] for c in members}
    header = {**members[0].payload["header"], "date": dt.date.fromisoformat(max(dates))}
    if len(dates) > 1:
        header["period"] = ""  # the latest date's month
    sources = tuple(
        SourceRef(
            system=s["system"],
            stream=s["stream"],
            record_id=s["record_id"],
            name=s["name"],
            amount=None if s["amount"] is None else Decimal(s["amount"]),
        )
        for s in (c.payload["source"] for c in members)
    )
    extra = "\n".join(c.payload["extra"] for c in members if c.payload["extra"])
    return Merged(header, lines, sources, extra)
