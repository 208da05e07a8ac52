"""客户对账单: a customer's statement of account for a period, from the CRM read model.

Opening balance (what the customer owed the day before the period: orders − payments +
refunds up to then, the aging's net receivable on that day), every order, payment and refund
of the period in date order with the running balance, and the closing balance, which is the
aging's net receivable on the last day, and so the receivable the shipped mappings post on
1122 for that customer (the aging's tie-out sheet holds that one to the books). Amounts are
what the customer owes (+) or has on account (−).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from sync.crm import CrmBook
from sync.errors import ConfigurationError
from sync.money import ZERO, total
from sync.tables.model import Cell, Column, Kind, Table

__all__ = ["Movement", "movements", "resolve_customers", "statement_tables"]


@dataclass(frozen=True, slots=True)
class Movement:
    """One line of a statement: an order raises what is owed, a payment lowers it, a refund raises it."""

    date: dt.date
    kind: str  # order | payment | refund
    number: str
    order: str
    amount: Decimal  # + owed more, − owed less

    @property
    def label(self) -> str:
        return {"order": "订单 order", "payment": "回款 payment", "refund": "退款 refund"}[self.kind]


def movements(book: CrmBook, account_id: str) -> list[Movement]:
    """Every order, payment and refund of the customer, oldest first (same day: orders first)."""
    order_names = {o.id: o.name for o in book.orders.values()}
    out: list[Movement] = []
    out += [
        Movement(o.date, "order", o.name, o.name, o.amount)
        for o in book.orders.values()
        if o.account_id == account_id
    ]
    out += [
        Movement(p.date, "payment", p.name, order_names.get(p.order_id, p.order_number), -p.amount)
        for p in book.payments.values()
        if p.account_id == account_id
    ]
    out += [
        Movement(r.date, "refund", r.name, order_names.get(r.order_id, ""), r.amount)
        for r in book.refunds.values()
        if r.account_id == account_id
    ]
    rank = {"order": 0, "refund": 1, "payment": 2}
    return sorted(out, key=lambda m: (m.date, rank[m.kind], m.number))


def resolve_customers(book: CrmBook, wanted: tuple[str, ...]) -> list[str]:
    """Account ids for ``--customer`` values (an id or an exact name); all with activity when none."""
    everyone = (
        set(book.accounts)
        | {o.account_id for o in book.orders.values()}
        | {p.account_id for p in book.payments.values()}
        | {r.account_id for r in book.refunds.values()}
    )
    everyone.discard("")
    if not wanted:
        return sorted(everyone, key=lambda a: (book.account_name(a), a))
    found = []
    for value in wanted:
        ids = [a for a in everyone if a == value or book.account_name(a) == value]
        if not ids:
            raise ConfigurationError(
                f"--customer {value!r}: no customer with that id or name in the CRM",
                hint="give the CRM account id, or the customer's name exactly as the CRM has it",
            )
        found += ids
    return list(dict.fromkeys(found))


def statement_tables(
    book: CrmBook, customers: list[str], first: dt.date, last: dt.date
) -> tuple[Table, Table]:
    """The summary per customer (opening, orders, payments, refunds, closing) and every line."""
    summary: list[tuple[Cell, ...]] = []
    lines: list[tuple[Cell, ...]] = []
    for account_id in customers:
        name = book.account_name(account_id)
        moves = movements(book, account_id)
        opening = total(m.amount for m in moves if m.date < first)
        inside = [m for m in moves if first <= m.date <= last]
        closing = opening + total(m.amount for m in inside)
        if not inside and not opening:
            continue
        summary.append(
            (
                name,
                account_id,
                opening,
                total(m.amount for m in inside if m.kind == "order"),
                -total(m.amount for m in inside if m.kind == "payment"),
                total(m.amount for m in inside if m.kind == "refund"),
                closing,
            )
        )
        lines += list(_lines(name, opening, inside, first, last))
    scope = f"{first.isoformat()} – {last.isoformat()}"
    summary_table = Table(
        "statement",
        "客户对账单汇总",
        "Statements of account",
        (
            Column("customer", "客户", "Customer"),
            Column("account_id", "客户ID", "Customer id"),
            Column("opening", "期初余额", "Opening balance", Kind.MONEY),
            Column("orders", "本期订单", "Orders", Kind.MONEY),
            Column("payments", "本期回款", "Payments", Kind.MONEY),
            Column("refunds", "本期退款", "Refunds", Kind.MONEY),
            Column("closing", "期末余额", "Closing balance", Kind.MONEY),
        ),
        tuple(summary),
        ("合计 / Total", None, *(total(r[i] for r in summary) for i in range(2, 7))),  # type: ignore[misc]
        note_zh=f"{scope}；余额为客户应付（负数：客户预付/多付）",
        note_en=f"{scope}; balances are what the customer owes (negative: on account)",
    )
    lines_table = Table(
        "statement_lines",
        "对账单明细",
        "Statement lines",
        (
            Column("customer", "客户", "Customer"),
            Column("date", "日期", "Date", Kind.DATE),
            Column("kind", "类型", "Type"),
            Column("number", "单号", "Number"),
            Column("order", "订单", "Order"),
            Column("debit", "应收增加", "Charges", Kind.MONEY),
            Column("credit", "应收减少", "Credits", Kind.MONEY),
            Column("balance", "余额", "Balance", Kind.MONEY),
        ),
        tuple(lines),
        note_zh=scope,
        note_en=scope,
    )
    return summary_table, lines_table


def _lines(
    name: str, opening: Decimal, inside: list[Movement], first: dt.date, last: dt.date
) -> Iterator[tuple[Cell, ...]]:
    balance = opening
    yield (name, first, "期初余额 opening balance", "", "", None, None, opening)
    for m in inside:
        balance += m.amount
        debit, credit = (m.amount, None) if m.amount > ZERO else (None, -m.amount)
        yield (name, m.date, m.label, m.number, m.order, debit, credit, balance)
    yield (name, last, "期末余额 closing balance", "", "", None, None, balance)
