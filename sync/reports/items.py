"""What the voucher report reads from the outbox: a voucher, what became of it, its amounts.

A month of 200,000 vouchers must fit in a few hundred megabytes, so the report keeps of each
voucher only ``VoucherFacts`` (its key, amounts, status and the source record it names, with
repeated texts shared) and reads the full voucher again only to write its lines.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sync.model import Voucher
from sync.money import ZERO, total

__all__ = [
    "ListedOutbox",
    "OutboxSource",
    "SourceLite",
    "VoucherFacts",
    "VoucherItem",
    "facts_of",
    "posted_amount",
    "sign",
    "source_amount",
]


@dataclass(frozen=True, slots=True)
class VoucherItem:
    """One outbox row: the voucher and what became of it."""

    voucher: Voucher
    status: str
    erp_id: str = ""
    erp_number: str = ""
    last_error: str = ""


def sign(v: Voucher) -> int:
    return -1 if v.reversal_of else 1


def source_amount(v: Voucher) -> Decimal | None:
    """Signed amount read from the voucher's source records; None when one was not recorded."""
    if any(s.amount is None for s in v.sources):
        return None
    return sign(v) * total(s.amount or ZERO for s in v.sources)


def posted_amount(v: Voucher) -> Decimal:
    """Signed voucher amount: a reversal undoes (red: negative lines; swap: same total)."""
    return -abs(v.total) if v.reversal_of else v.total


@dataclass(frozen=True, slots=True)
class SourceLite:
    """The first source record of a voucher, as the report shows and links it."""

    system: str
    stream: str
    record_id: str
    name: str


@dataclass(frozen=True, slots=True)
class VoucherFacts:
    """What the report keeps of one outbox row between reading the outbox and writing the lines."""

    seq: int
    key: str
    revision: str
    reversal_of: str
    date: dt.date
    period: str
    group: str
    status: str
    erp_number: str
    last_error: str
    total: Decimal
    posted: Decimal  # signed: a reversal counts negative
    read: Decimal | None  # signed source amount; None when a source record had none
    mapping: str
    system: str
    stream: str
    record_id: str  # of the first source record
    name: str
    record_ids: str  # every source record's id, comma separated
    n_sources: int
    n_lines: int

    @property
    def external_ref(self) -> str:
        return f"{self.key}#{self.revision}"

    @property
    def source(self) -> SourceLite:
        return SourceLite(self.system, self.stream, self.record_id, self.name)


_DATES: dict[dt.date, dt.date] = {}


def _shared(text: str) -> str:
    """One copy of a text that repeats across vouchers (period, group, stream, status …)."""
    return sys.intern(text) if len(text) < 200 else text


def facts_of(seq: int, item: VoucherItem) -> VoucherFacts:
    v = item.voucher
    src = v.source
    amount = v.total  # a sum of the lines: made once, kept once
    posted = -abs(amount) if v.reversal_of else amount
    read = source_amount(v)
    ids = src.record_id if len(v.sources) == 1 else ", ".join(s.record_id for s in v.sources)
    return VoucherFacts(
        seq=seq,
        key=v.key,
        revision=v.revision,
        reversal_of=_shared(v.reversal_of or ""),
        date=_DATES.setdefault(v.date, v.date),
        period=_shared(v.period),
        group=_shared(v.group),
        status=_shared(str(item.status)),
        erp_number=item.erp_number,
        last_error=_shared(item.last_error or ""),
        total=amount,
        posted=posted,
        read=posted if read == posted else read,  # the same value kept once
        mapping=_shared(v.mapping.name),
        system=_shared(src.system),
        stream=_shared(src.stream),
        record_id=src.record_id,
        name=src.name,  # an order or payment number: one per record, not shared
        record_ids=ids,
        n_sources=len(v.sources),
        n_lines=len(v.lines),
    )


class OutboxSource(Protocol):
    """Where the report reads vouchers: once all of them, then again a few hundred at a time."""

    def items(self) -> Iterator[tuple[int, VoucherItem]]:
        """Every outbox row oldest first, with its number."""

    def vouchers(self, seqs: Sequence[int]) -> Mapping[int, Voucher]:
        """The vouchers numbered ``seqs``."""


class ListedOutbox:
    """An outbox held in memory (tests, small exports): the row number is the list index."""

    def __init__(self, items: Sequence[VoucherItem]) -> None:
        self._items = items

    def items(self) -> Iterator[tuple[int, VoucherItem]]:
        yield from enumerate(self._items)

    def vouchers(self, seqs: Sequence[int]) -> Mapping[int, Voucher]:
        return {s: self._items[s].voucher for s in seqs}
