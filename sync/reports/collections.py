"""回款报表: money received, per day, month or quarter, by customer, payment method, sales
owner and order.

A payment counts on its 回款日期 (``payment_time`` in China time) when it falls inside
``[start, end]``, a refund (退款) on its 退款日期: the summary shows money received (gross),
refunded and net per period, and the refunds sheet lists each refund. Against orders, a
payment is split by its 回款明细 rows, or given whole to its ``order_id``; what no order takes
is shown as unapplied, so every view of payments sums to the same total received.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sync.crm import CrmBook, Payment, Refund
from sync.money import ZERO, total
from sync.reports.receivables import receivables
from sync.tables.model import Cell, Column, Kind, Table

__all__ = ["Granularity", "bucket", "collection_tables", "received_by", "split_to_orders"]

Granularity = Literal["day", "month", "quarter"]
UNAPPLIED = "未核销 / unapplied"


def bucket(day: dt.date, granularity: Granularity) -> str:
    """The label of the period a date falls in: 2026-11-28, 2026-11 or 2026-Q4."""
    if granularity == "day":
        return day.isoformat()
    if granularity == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def payments_between(book: CrmBook, start: dt.date, end: dt.date) -> list[Payment]:
    return sorted(
        (p for p in book.payments.values() if start <= p.date <= end), key=lambda p: (p.date, p.name)
    )


def refunds_between(book: CrmBook, start: dt.date, end: dt.date) -> list[Refund]:
    return sorted(
        (r for r in book.refunds.values() if start <= r.date <= end), key=lambda r: (r.date, r.name)
    )


def split_to_orders(
    book: CrmBook, payment: Payment, index: dict[str, list[tuple[str, Decimal]]] | None = None
) -> Iterator[tuple[str, Decimal]]:
    """(order id or "", amount) parts of a payment; "" is the unapplied rest. Sums to the payment."""
    if index is None:
        index = allocation_index(book)
    rows = list(index.get(payment.id, ()))
    if not rows and payment.order_id:
        rows = [(payment.order_id, payment.amount)]
    left = payment.amount
    for order_id, amount in rows:
        if order_id in book.orders:
            left -= amount
            yield order_id, amount
    if left:
        yield "", left


def allocation_index(book: CrmBook) -> dict[str, list[tuple[str, Decimal]]]:
    """payment id -> [(order id, amount)] from the 回款明细 rows."""
    index: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for row in book.allocations.values():
        index[row.payment_id].append((row.order_id, row.amount))
    return index


@dataclass(frozen=True, slots=True)
class Dimension:
    """A way to group collections (by customer, method, owner …) for one sheet."""

    key: str
    zh: str
    en: str
    value: Callable[[Payment], str]


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("customer", "客户", "Customer", lambda p: p.account_name),
    Dimension("method", "回款方式", "Payment method", lambda p: p.method),
    Dimension("owner", "负责人", "Sales owner", lambda p: p.owner or "-"),
)


def received_by(
    payments: list[Payment], value: Callable[[Payment], str], granularity: Granularity
) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """(period, dimension value) -> (payment count, amount received)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    sums: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for p in payments:
        k = (bucket(p.date, granularity), value(p))
        counts[k] += 1
        sums[k] += p.amount
    return {k: (counts[k], sums[k]) for k in sorted(sums)}


def _dimension_table(dim: Dimension, payments: list[Payment], granularity: Granularity, scope: str) -> Table:
    grouped = received_by(payments, dim.value, granularity)
    columns = (
        Column("period", "期间", "Period"),
        Column(dim.key, dim.zh, dim.en),
        Column("count", "笔数", "Payments", Kind.INT),
        Column("amount", "回款金额", "Received", Kind.MONEY),
    )
    rows = tuple((period, value, n, amount) for (period, value), (n, amount) in grouped.items())
    totals = ("合计 / Total", None, len(payments), total(p.amount for p in payments))
    return Table(
        f"by_{dim.key}",
        f"按{dim.zh}",
        f"By {dim.en.lower()}",
        columns,
        rows,
        totals,
        note_zh=scope,
        note_en=scope,
    )


def _orders_table(
    book: CrmBook, payments: list[Payment], granularity: Granularity, scope: str, end: dt.date
) -> Table:
    """Received per order and period, with what the order has received in all and still owes at ``end``."""
    to_date = receivables(book, end).applied
    sums: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    index = allocation_index(book)
    for p in payments:
        for order_id, amount in split_to_orders(book, p, index):
            sums[(bucket(p.date, granularity), order_id)] += amount
    rows: list[tuple[Cell, ...]] = []
    for (period, order_id), amount in sorted(
        sums.items(), key=lambda kv: (kv[0][0], kv[0][1] == "", kv[0][1])
    ):
        order = book.orders.get(order_id)
        if order is None:
            rows.append((period, UNAPPLIED, "", None, amount, None, None))
        else:
            paid = to_date.get(order.id)
            # paid beyond its amount: settled (the excess is the customer's unapplied cash in the aging)
            owed = None if paid is None else max(order.amount - paid, ZERO)
            rows.append((period, order.name, order.account_name, order.amount, amount, paid, owed))
    columns = (
        Column("period", "期间", "Period"),
        Column("order", "订单编号", "Order"),
        Column("customer", "客户", "Customer"),
        Column("order_amount", "订单金额", "Order amount", Kind.MONEY),
        Column("amount", "本期回款", "Received", Kind.MONEY),
        Column("received_to_date", "累计回款", "Received to date", Kind.MONEY),
        Column("open", "未收余额", "Still owed", Kind.MONEY),
    )
    totals = ("合计 / Total", None, None, None, total(p.amount for p in payments), None, None)
    return Table(
        "by_order", "按订单", "Against orders", columns, tuple(rows), totals, note_zh=scope, note_en=scope
    )


def collection_tables(
    book: CrmBook, start: dt.date, end: dt.date, granularity: Granularity
) -> tuple[Table, ...]:
    """Received by period, then by customer, method, owner and order; every table sums alike."""
    payments = payments_between(book, start, end)
    refunds = refunds_between(book, start, end)
    scope = f"{start.isoformat()} – {end.isoformat()}"
    received: dict[str, list[Decimal]] = defaultdict(list)
    refunded: dict[str, list[Decimal]] = defaultdict(list)
    for p in payments:
        received[bucket(p.date, granularity)].append(p.amount)
    for r in refunds:
        refunded[bucket(r.date, granularity)].append(r.amount)
    rows = tuple(
        (
            k,
            len(received[k]),
            total(received[k]),
            len(refunded[k]),
            total(refunded[k]),
            total(received[k]) - total(refunded[k]),
        )
        for k in sorted(set(received) | set(refunded))
    )
    gross, back = total(p.amount for p in payments), total(r.amount for r in refunds)
    summary = Table(
        "received",
        "回款汇总",
        "Received",
        (
            Column("period", "期间", "Period"),
            Column("count", "笔数", "Payments", Kind.INT),
            Column("amount", "回款金额", "Received", Kind.MONEY),
            Column("refund_count", "退款笔数", "Refunds", Kind.INT),
            Column("refunded", "退款金额", "Refunded", Kind.MONEY),
            Column("net", "净回款", "Net received", Kind.MONEY),
        ),
        rows,
        ("合计 / Total", len(payments), gross, len(refunds), back, gross - back),
        note_zh=scope,
        note_en=scope,
    )
    return (
        summary,
        *(_dimension_table(d, payments, granularity, scope) for d in DIMENSIONS),
        _orders_table(book, payments, granularity, scope, end),
        _refunds_table(book, refunds, scope),
    )


def _refunds_table(book: CrmBook, refunds: list[Refund], scope: str) -> Table:
    """Every refund of the period, with the order it was paid back on."""
    columns = (
        Column("date", "退款日期", "Refund date", Kind.DATE),
        Column("refund", "退款编号", "Refund"),
        Column("customer", "客户", "Customer"),
        Column("order", "订单编号", "Order"),
        Column("method", "退款方式", "Method"),
        Column("amount", "退款金额", "Refunded", Kind.MONEY),
    )
    rows = tuple(
        (
            r.date,
            r.name,
            r.account_name,
            book.orders[r.order_id].name if r.order_id in book.orders else "",
            r.method,
            r.amount,
        )
        for r in refunds
    )
    totals = ("合计 / Total", None, None, None, None, total(r.amount for r in refunds))
    return Table("refunds", "退款", "Refunds", columns, rows, totals, note_zh=scope, note_en=scope)
