"""What the voucher report reads from the outbox: a voucher, what became of it, its amounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sync.model import Voucher
from sync.money import ZERO, total

__all__ = ["VoucherItem", "posted_amount", "sign", "source_amount"]


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
