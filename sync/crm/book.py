"""Accounts, orders, payments and payment allocations read from Fxiaoke-shaped records.

The CRM sends amounts as decimal strings and dates as epoch milliseconds
(docs/specs/fxiaoke.md); here they become ``Decimal`` (through ``sync.money``) and
Asia/Shanghai dates (through ``sync.dates``) once, so no report or match ever sees wire
formats. Only records that count (``CrmFields.counts``) take part.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sync.crm.fields import CrmFields
from sync.dates import date_from_epoch_ms, parse_date
from sync.errors import MappingError
from sync.money import MoneyError, parse_amount

__all__ = [
    "ACCOUNT_STREAM",
    "ALLOCATION_STREAM",
    "ORDER_STREAM",
    "PAYMENT_STREAM",
    "REFUND_STREAM",
    "Account",
    "Allocation",
    "CrmBook",
    "Order",
    "Payment",
    "Refund",
    "load_book",
]

ORDER_STREAM = "SalesOrderObj"
PAYMENT_STREAM = "PaymentObj"
ALLOCATION_STREAM = "OrderPaymentObj"
ACCOUNT_STREAM = "AccountObj"
REFUND_STREAM = "RefundObj"

#: dates the CRM sends as epoch milliseconds; an export may carry YYYY-MM-DD instead
_EPOCH_DIGITS = 10


@dataclass(frozen=True, slots=True)
class Account:
    """A customer (AccountObj): its name for every report, and its credit limit when the CRM keeps one."""

    id: str
    name: str
    credit_limit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """A sales order that counts: what the customer owes, from when, due when."""

    id: str
    name: str
    account_id: str
    account_name: str
    owner: str
    date: dt.date
    due: dt.date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Payment:
    """A 回款 that counts: money the CRM says came in, for collections, aging and matching."""

    id: str
    name: str
    account_id: str
    account_name: str
    owner: str
    date: dt.date
    amount: Decimal
    method: str
    order_id: str = ""
    #: the order's number as the CRM labels the lookup (``order_id__r``)
    order_number: str = ""
    #: the payer's bank account, when the tenant keeps one on the payment
    payer_account: str = ""


@dataclass(frozen=True, slots=True)
class Refund:
    """A 退款 that counts: money paid back to a customer, which puts it back on the receivable
    (the shipped ``refund_paid`` mapping: Dr 1122 / Cr bank)."""

    id: str
    name: str
    account_id: str
    account_name: str
    date: dt.date
    amount: Decimal
    method: str
    order_id: str = ""


@dataclass(frozen=True, slots=True)
class Allocation:
    """One OrderPaymentObj row: part of a payment applied to one order."""

    id: str
    payment_id: str
    order_id: str
    amount: Decimal
    date: dt.date | None = None


@dataclass
class CrmBook:
    """Everything the collection reports need, keyed by record id."""

    accounts: dict[str, Account] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    allocations: dict[str, Allocation] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    #: records that could not be read, with the reason (shown, never silently dropped)
    problems: list[str] = field(default_factory=list)

    def account_name(self, account_id: str) -> str:
        account = self.accounts.get(account_id)
        return account.name if account else account_id


def load_book(records: Iterable[tuple[str, Mapping[str, Any]]], fields: CrmFields | None = None) -> CrmBook:
    """A CrmBook from (stream, record) pairs; unreadable records become ``problems``."""
    f = fields or CrmFields()
    book = CrmBook()
    readers = {
        ACCOUNT_STREAM: _read_account,
        f.order_stream: _read_order,
        f.payment_stream: _read_payment,
        ALLOCATION_STREAM: _read_allocation,
        f.refund_stream: _read_refund,
    }
    tables: dict[str, dict[str, Any]] = {
        ACCOUNT_STREAM: book.accounts,
        f.order_stream: book.orders,
        f.payment_stream: book.payments,
        ALLOCATION_STREAM: book.allocations,
        f.refund_stream: book.refunds,
    }
    for stream, record in records:
        reader = readers.get(stream)
        if reader is None or f.held(record):
            continue  # a change awaiting approval: the version that counted stands
        if not f.counts(record):
            # a newer version that no longer counts (void, delete) takes out the one before
            id_field = f.id if stream in (f.order_stream, f.payment_stream, f.refund_stream) else "_id"
            tables[stream].pop(str(record.get(id_field, "")), None)
            continue
        try:
            reader(book, record, f)
        except (MoneyError, ValueError, MappingError) as exc:
            book.problems.append(f"{stream} {record.get('_id', '?')}: {exc}")
    # Customer names: the AccountObj record wins, then the lookup label ``account_id__r``.
    for oid, order in book.orders.items():
        book.orders[oid] = replace(order, account_name=_name(book, order.account_id, order.account_name))
    for pid, pay in book.payments.items():
        book.payments[pid] = replace(pay, account_name=_name(book, pay.account_id, pay.account_name))
    for rid, refund in book.refunds.items():
        book.refunds[rid] = replace(refund, account_name=_name(book, refund.account_id, refund.account_name))
    return book


def _name(book: CrmBook, account_id: str, label: str) -> str:
    account = book.accounts.get(account_id)
    return account.name if account else (label or account_id)


def _day(record: Mapping[str, Any], name: str) -> dt.date:
    """A date field: epoch milliseconds (the CRM) or YYYY-MM-DD (a hand-made export)."""
    value = _required(record, name)
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit() and len(value) > _EPOCH_DIGITS):
        return date_from_epoch_ms(value, field=name)
    return parse_date(value, field=name)


def _text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None else str(value)


def _owner(record: Mapping[str, Any], f: CrmFields) -> str:
    """The sales owner's display name (``owner__r``, else the configured name) or id."""
    label = record.get("owner__r")
    if isinstance(label, dict):
        label = label.get("name")
    if label:
        return str(label)
    owner = _text(record, "owner")
    return dict(f.employee_names).get(owner, owner)


def _required(record: Mapping[str, Any], name: str) -> Any:
    value = record.get(name)
    if value is None or value == "":
        raise ValueError(f"field {name} is missing")
    return value


def _read_account(book: CrmBook, record: Mapping[str, Any], f: CrmFields) -> None:
    limit = None
    if f.credit_limit and record.get(f.credit_limit) not in (None, ""):
        limit = parse_amount(record[f.credit_limit], field=f.credit_limit)
    rid = str(_required(record, "_id"))
    book.accounts[rid] = Account(rid, _text(record, "name") or rid, limit)


def _read_order(book: CrmBook, record: Mapping[str, Any], f: CrmFields) -> None:
    rid = str(_required(record, f.id))
    day = _day(record, f.order_date)
    due = day + dt.timedelta(days=f.payment_terms_days)
    if f.order_due_date and record.get(f.order_due_date) not in (None, ""):
        due = date_from_epoch_ms(record[f.order_due_date], field=f.order_due_date)
    account_id = _text(record, "account_id")  # a hand-made export may lack it: the label remains
    book.orders[rid] = Order(
        id=rid,
        name=_text(record, f.order_number) or rid,
        account_id=account_id,
        account_name=_text(record, f.order_customer),
        owner=_owner(record, f),
        date=day,
        due=due,
        amount=parse_amount(_required(record, f.order_amount), field=f.order_amount),
    )


def _read_payment(book: CrmBook, record: Mapping[str, Any], f: CrmFields) -> None:
    rid = str(_required(record, f.id))
    account_id = _text(record, "account_id")  # a hand-made export may lack it: the label remains
    raw = _text(record, f.payment_method)
    method = dict(f.method_labels).get(raw) or _text(record, f"{f.payment_method}__r") or raw or "-"
    book.payments[rid] = Payment(
        id=rid,
        name=_text(record, f.payment_number) or rid,
        account_id=account_id,
        account_name=_text(record, f.payment_customer),
        owner=_owner(record, f),
        date=_day(record, f.payment_date),
        amount=parse_amount(_required(record, f.payment_amount), field=f.payment_amount),
        method=method,
        order_id=_text(record, f.payment_order_id),
        order_number=_text(record, f.payment_order_number),
        payer_account=_text(record, f.payer_account) if f.payer_account else "",
    )


def _read_refund(book: CrmBook, record: Mapping[str, Any], f: CrmFields) -> None:
    rid = str(_required(record, f.id))
    raw = _text(record, f.refund_method)
    book.refunds[rid] = Refund(
        id=rid,
        name=_text(record, f.refund_number) or rid,
        account_id=_text(record, "account_id"),
        account_name=_text(record, f.refund_customer),
        date=_day(record, f.refund_date),
        amount=parse_amount(_required(record, f.refund_amount), field=f.refund_amount),
        method=dict(f.method_labels).get(raw) or _text(record, f"{f.refund_method}__r") or raw or "-",
        order_id=_text(record, f.refund_order_id),
    )


def _read_allocation(book: CrmBook, record: Mapping[str, Any], f: CrmFields) -> None:
    rid = str(_required(record, "_id"))
    when = record.get(f.payment_date)
    book.allocations[rid] = Allocation(
        id=rid,
        payment_id=str(_required(record, "payment_id")),
        order_id=str(_required(record, "order_id")),
        amount=parse_amount(_required(record, f.payment_amount), field=f.payment_amount),
        date=date_from_epoch_ms(when, field=f.payment_date) if when not in (None, "") else None,
    )
