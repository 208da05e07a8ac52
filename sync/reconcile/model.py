"""What reconciliation reads (CRM payments and orders) and what it says about every line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from sync.banking import BankTransaction
from sync.money import ZERO

__all__ = [
    "Allocation",
    "BankResult",
    "CrmOrder",
    "CrmPayment",
    "Decision",
    "PaymentResult",
    "ReconcileResult",
    "SettlementResult",
]

BankStatus = Literal["matched", "partial", "unmatched", "reversed", "platform", "settlement", "other"]
PaymentStatus = Literal["matched", "partial", "open", "claimed_not_received"]


@dataclass(frozen=True, slots=True)
class CrmPayment:
    """A CRM 回款 (PaymentObj): what a salesperson says the customer paid."""

    id: str
    number: str
    amount: Decimal
    date: dt.date
    customer: str = ""
    order_ids: tuple[str, ...] = ()
    order_numbers: tuple[str, ...] = ()
    payer_account: str = ""
    currency: str = "CNY"


@dataclass(frozen=True, slots=True)
class CrmOrder:
    """A CRM 销售订单, for receipts that name an order nobody entered a 回款 for yet."""

    id: str
    number: str
    amount: Decimal
    date: dt.date
    customer: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """A person's decision, kept across runs: ``match`` this bank line to these payments, or
    ``unmatch`` it (from these payments, or from any when ``payment_ids`` is empty)."""

    action: Literal["match", "unmatch"]
    bank_id: str
    payment_ids: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Allocation:
    """Part of a receipt applied to one payment (or to an order without a payment)."""

    amount: Decimal
    payment_id: str = ""
    payment_number: str = ""
    order_id: str = ""
    order_number: str = ""
    customer: str = ""


@dataclass
class BankResult:
    """The verdict on one bank or platform line; ``rule`` and ``confidence`` say why."""

    txn: BankTransaction
    status: BankStatus = "unmatched"
    rule: str = ""
    confidence: float = 0.0
    allocations: list[Allocation] = field(default_factory=list)
    #: shortfall accepted within tolerance (the bank kept it as a charge), booked as a fee;
    #: the payment ``fee_payment`` counts as paid in full
    fee: Decimal = ZERO
    fee_payment: str = ""
    note: str = ""
    #: payment ids a person may want to look at (ambiguous candidates)
    candidates: list[str] = field(default_factory=list)
    #: for a bank credit that is a platform settlement: the settlement's id
    settlement_id: str = ""

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), ZERO)

    @property
    def suspense(self) -> Decimal:
        """What of a customer receipt is applied to nothing: booked to the suspense account."""
        if self.status not in {"matched", "partial", "unmatched"} or self.txn.direction != "credit":
            return ZERO
        return self.txn.amount - self.allocated


@dataclass
class PaymentResult:
    """What became of one CRM payment: matched, partly, open, or claimed but not received."""

    payment: CrmPayment
    received: Decimal = ZERO
    bank_ids: list[str] = field(default_factory=list)
    status: PaymentStatus = "open"

    @property
    def open(self) -> Decimal:
        return self.payment.amount - self.received


@dataclass
class SettlementResult:
    """A platform payout (Stripe) or daily settlement (Alipay/WeChat) and the bank credit it became."""

    id: str
    platform: str
    amount: Decimal
    currency: str
    date: dt.date
    members: list[BankTransaction] = field(default_factory=list)
    bank_id: str = ""
    rule: str = ""

    @property
    def fees(self) -> Decimal:
        return sum((m.fee or ZERO for m in self.members), ZERO)


@dataclass
class ReconcileResult:
    """Every verdict of one reconciliation pass, the input of its report and its vouchers."""

    bank: list[BankResult]
    payments: list[PaymentResult]
    settlements: list[SettlementResult]
    as_of: dt.date

    def by_bank_id(self) -> dict[str, BankResult]:
        return {r.txn.id: r for r in self.bank}
