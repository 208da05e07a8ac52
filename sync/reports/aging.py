"""Receivables aging (账龄) and the overdue list, as of a date.

Buckets are by days since the order date (``basis="order"``, the usual 账龄) or days past
the due date (``basis="due"``): 0–30, 31–60, 61–90 and over 90; on the due basis items not
yet due go to their own "not due" column. Day counts are whole calendar days in China time.

DSO (days sales outstanding, 应收账款周转天数) per customer and overall: the net receivable
(zero when the customer is in credit) over the orders of the last ``DSO_WINDOW`` days, times
those days, rounded to whole days; empty for a customer without orders in the window.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from sync.crm import CrmBook
from sync.money import ZERO, total
from sync.reports.receivables import OpenItem, Receivables, receivables
from sync.tables.model import Cell, Column, Kind, Table

__all__ = [
    "BUCKETS",
    "DSO_WINDOW",
    "AgingRow",
    "aging_rows",
    "aging_table",
    "bucket_of",
    "dso",
    "overdue_table",
    "window_sales",
]

Basis = Literal["order", "due"]
#: (key, zh, en, lowest day, highest day or None)
BUCKETS: tuple[tuple[str, str, str, int, int | None], ...] = (
    ("d0_30", "0–30天", "0–30 days", 0, 30),
    ("d31_60", "31–60天", "31–60 days", 31, 60),
    ("d61_90", "61–90天", "61–90 days", 61, 90),
    ("d90p", "90天以上", "over 90 days", 91, None),
)
NOT_DUE = "not_due"


def bucket_of(days: int) -> str:
    """The bucket key for an age in days; negative ages (not yet due) are ``not_due``."""
    if days < 0:
        return NOT_DUE
    for key, _zh, _en, low, high in BUCKETS:
        if days >= low and (high is None or days <= high):
            return key
    raise AssertionError(days)  # pragma: no cover - the buckets cover every day >= 0


@dataclass(frozen=True, slots=True)
class AgingRow:
    """One customer's open receivable split into age buckets, with unapplied cash beside it."""

    account_id: str
    account_name: str
    buckets: dict[str, Decimal]
    unapplied: Decimal

    @property
    def open(self) -> Decimal:
        return total(self.buckets.values())

    @property
    def net(self) -> Decimal:
        return self.open - self.unapplied


def aging_rows(rec: Receivables, book: CrmBook, basis: Basis = "order") -> list[AgingRow]:
    """One row per customer with open items or unapplied cash, sorted by name."""
    per: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for item in rec.items:
        days = item.age_days if basis == "order" else (item.overdue_days if item.overdue else -1)
        per[item.order.account_id][bucket_of(days)] += item.open
    rows = []
    for account_id in set(per) | set(rec.unapplied):
        keys = [NOT_DUE] if basis == "due" else []
        keys += [b[0] for b in BUCKETS]
        buckets = {k: per[account_id].get(k, ZERO) for k in keys}
        rows.append(
            AgingRow(account_id, book.account_name(account_id), buckets, rec.unapplied.get(account_id, ZERO))
        )
    return sorted(rows, key=lambda r: (r.account_name, r.account_id))


#: the trailing days of sales DSO compares the receivable with
DSO_WINDOW = 90


def dso(receivable: Decimal, sales: Decimal, window: int = DSO_WINDOW) -> int | None:
    """Days sales outstanding, whole days (half up); None without sales in the window."""
    if sales <= ZERO:
        return None
    days = max(receivable, ZERO) / sales * window
    return int(days.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def window_sales(book: CrmBook, as_of: dt.date, window: int = DSO_WINDOW) -> dict[str, Decimal]:
    """Account id -> the amount of its orders dated in the ``window`` days up to ``as_of``."""
    start = as_of - dt.timedelta(days=window - 1)
    sales: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for order in book.orders.values():
        if start <= order.date <= as_of:
            sales[order.account_id] += order.amount
    return sales


def aging_table(book: CrmBook, as_of: dt.date, basis: Basis = "order") -> Table:
    rec = receivables(book, as_of)
    rows = aging_rows(rec, book, basis)
    sales = window_sales(book, as_of)
    bucket_cols = [Column(NOT_DUE, "未到期", "not yet due", Kind.MONEY)] if basis == "due" else []
    bucket_cols += [Column(key, zh, en, Kind.MONEY) for key, zh, en, _l, _h in BUCKETS]
    columns = (
        Column("account", "客户", "Customer"),
        Column("account_id", "客户ID", "Customer id"),
        *bucket_cols,
        Column("open", "未收合计", "Open total", Kind.MONEY),
        Column("unapplied", "未核销回款", "Unapplied cash", Kind.MONEY),
        Column("net", "净应收", "Net receivable", Kind.MONEY),
        Column("dso", "周转天数(DSO)", "DSO (days)", Kind.INT),
    )
    body: tuple[tuple[Cell, ...], ...] = tuple(
        (
            r.account_name,
            r.account_id,
            *(r.buckets[c.key] for c in bucket_cols),
            r.open,
            r.unapplied,
            r.net,
            dso(r.net, sales.get(r.account_id, ZERO)),
        )
        for r in rows
    )
    totals = (
        "合计 / Total",
        None,
        *(total(r.buckets[c.key] for r in rows) for c in bucket_cols),
        total(r.open for r in rows),
        total(r.unapplied for r in rows),
        total(r.net for r in rows),
        dso(total(max(r.net, ZERO) for r in rows), total(sales.values())),
    )
    basis_zh = "按订单日期" if basis == "order" else "按到期日"
    basis_en = "by order date" if basis == "order" else "by due date"
    return Table(
        "aging",
        "应收账龄",
        "Receivables aging",
        columns,
        body,
        totals,
        note_zh=f"截至 {as_of.isoformat()}，{basis_zh}计算账龄；"
        f"DSO = 净应收 ÷ 近{DSO_WINDOW}天订单额 × {DSO_WINDOW}",
        note_en=f"as of {as_of.isoformat()}, aged {basis_en}; DSO = net receivable / orders of the last "
        f"{DSO_WINDOW} days x {DSO_WINDOW}",
    )


def overdue_items(book: CrmBook, as_of: dt.date) -> list[OpenItem]:
    """Open items past their due date, by customer then by age (oldest first)."""
    rec = receivables(book, as_of)
    items = [i for i in rec.items if i.overdue]
    return sorted(
        items, key=lambda i: (i.order.account_name, i.order.account_id, -i.overdue_days, i.order.name)
    )


def overdue_table(book: CrmBook, as_of: dt.date) -> Table:
    items = overdue_items(book, as_of)
    columns = (
        Column("account", "客户", "Customer"),
        Column("owner", "负责人", "Sales owner"),
        Column("order", "订单编号", "Order"),
        Column("order_date", "下单日期", "Order date", Kind.DATE),
        Column("due", "到期日", "Due date", Kind.DATE),
        Column("overdue_days", "逾期天数", "Days overdue", Kind.INT),
        Column("amount", "订单金额", "Order amount", Kind.MONEY),
        Column("received", "已回款", "Received", Kind.MONEY),
        Column("open", "逾期未收", "Overdue amount", Kind.MONEY),
    )
    rows = tuple(
        (
            i.order.account_name,
            i.order.owner,
            i.order.name,
            i.order.date,
            i.order.due,
            i.overdue_days,
            i.order.amount,
            i.applied,
            i.open,
        )
        for i in items
    )
    totals = (
        "合计 / Total",
        None,
        None,
        None,
        None,
        None,
        total(i.order.amount for i in items),
        total(i.applied for i in items),
        total(i.open for i in items),
    )
    return Table(
        "overdue",
        "逾期清单",
        "Overdue list",
        columns,
        rows,
        totals,
        note_zh=f"截至 {as_of.isoformat()} 已过到期日仍未收清的订单",
        note_en=f"orders past their due date and not fully paid as of {as_of.isoformat()}",
    )
