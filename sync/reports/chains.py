"""A voucher key's history across periods: its revisions, their reversals, the live one.

Finance compares a CRM record's *current* amount with what the books hold for it. An edit
of a posted order leaves three pieces: the original, its reversal and the new revision,
possibly in different periods (a closed period cannot take the reversal). A period's voucher
report attributes the record's current amount to the period of its live revision and each
posted piece to its own period; over all periods the pieces net to the current amount, and
in a period where they do not, the report lists the record with the period of every piece.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sync.money import ZERO
from sync.reports.items import VoucherItem, posted_amount, source_amount
from sync.state.status import IN_ERP, Status

__all__ = ["Chain", "chains"]

REVERSAL_SUFFIX = "~rev"


@dataclass
class Chain:
    """Every outbox row of one voucher key (reversals included), in outbox order."""

    key: str
    items: list[VoucherItem] = field(default_factory=list)

    @property
    def reversed_revisions(self) -> dict[str, VoucherItem]:
        """Original revision -> the reversal that undoes it."""
        return {i.voucher.reversal_of: i for i in self.items if i.voucher.reversal_of}

    @property
    def live(self) -> VoucherItem | None:
        """The revision that stands for the record now (None: voided, or every revision reversed)."""
        undone = self.reversed_revisions
        standing = [
            i
            for i in self.items
            if not i.voucher.reversal_of and i.voucher.revision not in undone and i.status != Status.REVERSED
        ]
        return standing[-1] if standing else None

    def read_in(self, period: str | None) -> Decimal:
        """The record's current amount, in the period of its live revision (every period: None)."""
        live = self.live
        if live is None or (period is not None and live.voucher.period != period):
            return ZERO
        return source_amount(live.voucher) or ZERO

    def posted_in(self, period: str | None) -> Decimal:
        """What the ERP holds for the record in ``period`` (None: net across all periods)."""
        return sum(
            (
                posted_amount(i.voucher)
                for i in self.items
                if i.status in IN_ERP and (period is None or i.voucher.period == period)
            ),
            ZERO,
        )

    def spans_periods(self) -> bool:
        return len({i.voucher.period for i in self.items if i.status in IN_ERP}) > 1

    def pieces(self) -> str:
        """Every piece with its period, amount and ERP number: ``2026-10 +1,000.00 记-12; …``."""
        parts = []
        for i in self.items:
            amount = posted_amount(i.voucher) if i.status in IN_ERP else ZERO
            sign = "+" if amount >= 0 else "−"
            what = "冲销 reversal" if i.voucher.reversal_of else "凭证 voucher"
            where = i.erp_number or str(i.status)
            parts.append(f"{i.voucher.period} {sign}{abs(amount):,.2f} {what} {where}")
        return "; ".join(parts)

    def link_of(self, item: VoucherItem) -> str:
        """The chain column of a voucher: what it reverses, or what reversed it."""
        v = item.voucher
        if v.reversal_of:
            return f"冲销 reverses {self.key}#{v.reversal_of}"
        reversal = self.reversed_revisions.get(v.revision)
        return f"被冲销 reversed by {reversal.voucher.external_ref}" if reversal else ""


def chains(items: Iterable[VoucherItem]) -> dict[str, Chain]:
    """The items grouped by voucher key (a reversal ``<key>~rev`` joins its original's key)."""
    out: dict[str, Chain] = {}
    for item in items:
        key = item.voucher.key.removesuffix(REVERSAL_SUFFIX)
        out.setdefault(key, Chain(key)).items.append(item)
    return out
