"""A voucher key's history across periods: its revisions, their reversals, the live one.

Finance compares a CRM record's *current* amount with what the books hold for it. An edit
of a posted order leaves three pieces: the original, its reversal and the new revision,
possibly in different periods (a closed period cannot take the reversal). A period's voucher
report attributes the record's current amount to the period of its live revision and each
posted piece to its own period; over all periods the pieces net to the current amount, and
in a period where they do not, the report lists the record with the period of every piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sync.money import ZERO
from sync.reports.items import VoucherFacts
from sync.state.status import IN_ERP, Status

__all__ = ["Chain", "Chains", "chains"]

REVERSAL_SUFFIX = "~rev"


@dataclass(slots=True)
class Chain:
    """Every outbox row of one voucher key (reversals included), in outbox order."""

    key: str
    items: list[VoucherFacts] = field(default_factory=list)

    @property
    def reversed_revisions(self) -> dict[str, VoucherFacts]:
        """Original revision -> the reversal that undoes it."""
        return {i.reversal_of: i for i in self.items if i.reversal_of}

    @property
    def live(self) -> VoucherFacts | None:
        """The revision that stands for the record now (None: voided, or every revision reversed)."""
        undone = self.reversed_revisions
        standing = [
            i
            for i in self.items
            if not i.reversal_of and i.revision not in undone and i.status != Status.REVERSED
        ]
        return standing[-1] if standing else None

    def read_in(self, period: str | None) -> Decimal:
        """The record's current amount, in the period of its live revision (every period: None)."""
        live = self.live
        if live is None or (period is not None and live.period != period):
            return ZERO
        return live.read or ZERO

    def posted_in(self, period: str | None) -> Decimal:
        """What the ERP holds for the record in ``period`` (None: net across all periods)."""
        return sum(
            (i.posted for i in self.items if i.status in IN_ERP and (period is None or i.period == period)),
            ZERO,
        )

    def spans_periods(self) -> bool:
        return len({i.period for i in self.items if i.status in IN_ERP}) > 1

    def pieces(self) -> str:
        """Every piece with its period, amount and ERP number: ``2026-10 +1,000.00 记-12; …``."""
        parts = []
        for i in self.items:
            amount = i.posted if i.status in IN_ERP else ZERO
            sign = "+" if amount >= 0 else "−"
            what = "冲销 reversal" if i.reversal_of else "凭证 voucher"
            where = i.erp_number or str(i.status)
            parts.append(f"{i.period} {sign}{abs(amount):,.2f} {what} {where}")
        return "; ".join(parts)

    def link_of(self, item: VoucherFacts) -> str:
        """The chain column of a voucher: what it reverses, or what reversed it."""
        if item.reversal_of:
            return f"冲销 reverses {self.key}#{item.reversal_of}"
        if len(self.items) == 1:
            return ""
        reversal = self.reversed_revisions.get(item.revision)
        return f"被冲销 reversed by {reversal.external_ref}" if reversal else ""


class Chains(Mapping[str, Chain]):
    """Every voucher key's chain. Most keys hold one voucher, kept as itself (a month of
    200,000 vouchers would otherwise hold 200,000 one-item chains); a ``Chain`` is made for
    a key when it is asked for."""

    __slots__ = ("_held",)

    def __init__(self, items: Iterable[VoucherFacts]) -> None:
        held: dict[str, VoucherFacts | list[VoucherFacts]] = {}
        for item in items:
            key = item.key.removesuffix(REVERSAL_SUFFIX)
            before = held.get(key)
            if before is None:
                held[key] = item
            elif isinstance(before, list):
                before.append(item)
            else:
                held[key] = [before, item]
        self._held = held

    def __getitem__(self, key: str) -> Chain:
        held = self._held[key]
        return Chain(key, held if isinstance(held, list) else [held])

    def __len__(self) -> int:
        return len(self._held)

    def __iter__(self) -> Iterator[str]:
        return iter(self._held)

    def of(self, item: VoucherFacts) -> Chain:
        """The chain ``item`` belongs to."""
        return self[item.key.removesuffix(REVERSAL_SUFFIX)]


def chains(items: Iterable[VoucherFacts]) -> Chains:
    """The items grouped by voucher key (a reversal ``<key>~rev`` joins its original's key)."""
    return Chains(items)
