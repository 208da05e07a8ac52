"""What each customer still owes, as of a date: payments applied to orders.

The rules, in one place because aging, overdue lists, credit exposure and reminders all
depend on them:

- only orders dated on or before ``as_of`` and payments received on or before it count;
- a payment with 回款明细 (OrderPaymentObj rows) is applied to orders by those rows; what
  its rows leave over is unapplied cash of the customer;
- a payment without rows but with ``order_id`` is applied to that order in full;
- a payment with neither (or applied to an order that does not count) is unapplied cash;
- an order paid beyond its amount is settled, and the excess is unapplied cash;
- a refund (退款) paid on or before ``as_of`` gives money back: with an ``order_id`` of an
  order that counts it takes that much off what was applied to the order (which is open
  again by it), else off the customer's unapplied cash (which may go below zero: money
  refunded beyond the customer's credit is owed back). So a customer's net receivable is
  orders − payments + refunds, the movement the shipped mappings post on 1122;
- a customer's exposure is open order amounts minus unapplied cash.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sync.crm import CrmBook, Order
from sync.money import ZERO

__all__ = ["OpenItem", "Receivables", "receivables"]


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An order with money still owed on it as of the date."""

    order: Order
    applied: Decimal
    open: Decimal
    age_days: int  # days since the order date
    overdue_days: int  # days past the due date; <= 0 when not yet due

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


@dataclass
class Receivables:
    """Orders with what was applied to each, the common ground of aging, credit and reminders."""

    as_of: dt.date
    items: list[OpenItem] = field(default_factory=list)
    #: account id -> unapplied cash (payments not applied to a counting order, overpayments)
    unapplied: dict[str, Decimal] = field(default_factory=dict)
    #: order id -> amount applied to it up to as_of (settled orders included)
    applied: dict[str, Decimal] = field(default_factory=dict)

    def open_by_account(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for item in self.items:
            totals[item.order.account_id] += item.open
        return dict(totals)

    def exposure(self) -> dict[str, Decimal]:
        """Account id -> open order amounts minus unapplied cash (can be negative: a credit)."""
        totals = self.open_by_account()
        for account_id, cash in self.unapplied.items():
            totals[account_id] = totals.get(account_id, ZERO) - cash
        return totals


def receivables(book: CrmBook, as_of: dt.date) -> Receivables:
    """The open items and unapplied cash of every customer as of ``as_of`` (inclusive)."""
    orders = {oid: o for oid, o in book.orders.items() if o.date <= as_of}
    applied: dict[str, Decimal] = defaultdict(lambda: ZERO)
    unapplied: dict[str, Decimal] = defaultdict(lambda: ZERO)
    _apply_payments(book, as_of, orders, applied, unapplied)
    for refund in book.refunds.values():
        if refund.date > as_of:
            continue
        if refund.order_id in orders:
            applied[refund.order_id] -= refund.amount
        else:
            unapplied[refund.account_id] -= refund.amount

    result = Receivables(as_of)
    for order in sorted(orders.values(), key=lambda o: (o.date, o.name, o.id)):
        paid = applied.get(order.id, ZERO)
        result.applied[order.id] = paid
        owed = order.amount - paid
        if owed < ZERO:
            unapplied[order.account_id] += -owed
        if owed > ZERO:
            result.items.append(
                OpenItem(order, paid, owed, (as_of - order.date).days, (as_of - order.due).days)
            )
    result.unapplied = {k: v for k, v in unapplied.items() if v}
    return result


def _apply_payments(
    book: CrmBook,
    as_of: dt.date,
    orders: Mapping[str, Order],
    applied: dict[str, Decimal],
    unapplied: dict[str, Decimal],
) -> None:
    """Each payment up to ``as_of`` onto its orders (by 回款明细 rows, else ``order_id``)."""
    rows_by_payment: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for row in book.allocations.values():
        rows_by_payment[row.payment_id].append((row.order_id, row.amount))
    for payment in book.payments.values():
        if payment.date > as_of:
            continue
        rows = rows_by_payment.get(payment.id)
        if not rows and payment.order_id:
            rows = [(payment.order_id, payment.amount)]
        left = payment.amount
        for order_id, amount in rows or ():
            if order_id in orders:
                applied[order_id] += amount
                left -= amount
        if left:
            unapplied[payment.account_id] += left
