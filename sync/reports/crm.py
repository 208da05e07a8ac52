"""Orders, payments and payment allocations read from Fxiaoke-shaped records.

The CRM sends amounts as decimal strings and dates as epoch milliseconds (spec §3.1); here
they become ``Decimal`` (through ``sync.money``) and Asia/Shanghai dates (through
``sync.dates``) once, so the report arithmetic never sees wire formats. Only records whose
``life_status`` counts (``normal`` by default) and that are not deleted take part: an
invalidated (作废) order is not owed, an invalidated payment was not received.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sync.dates import date_from_epoch_ms
from sync.errors import MappingError
from sync.money import MoneyError, parse_amount

__all__ = ["Account", "Allocation", "CrmBook", "CrmFields", "Order", "Payment", "load_book"]

ORDER_STREAM = "SalesOrderObj"
PAYMENT_STREAM = "PaymentObj"
ALLOCATION_STREAM = "OrderPaymentObj"
ACCOUNT_STREAM = "AccountObj"


@dataclass(frozen=True, slots=True)
class CrmFields:
    """Which record fields the reports read; tenants rename and add fields (``__c``)."""

    order_amount: str = "order_amount"
    order_date: str = "order_time"
    #: a date field holding the due date (e.g. ``due_date__c``); empty = order date + terms
    order_due_date: str = ""
    payment_terms_days: int = 30
    payment_amount: str = "payment_amount"
    payment_date: str = "payment_time"
    payment_method: str = "payment_term"
    #: AccountObj field with the credit limit (e.g. ``credit_limit__c``); empty = none in CRM
    credit_limit: str = ""
    statuses: tuple[str, ...] = ("normal",)
    #: 回款方式 option value -> label; select fields carry per-tenant option values ("1")
    method_labels: tuple[tuple[str, str], ...] = ()
    #: employee id -> name for 负责人 when records carry no ``owner__r`` label
    employee_names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    credit_limit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Order:
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
    id: str
    name: str
    account_id: str
    account_name: str
    owner: str
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
        ORDER_STREAM: _read_order,
        PAYMENT_STREAM: _read_payment,
        ALLOCATION_STREAM: _read_allocation,
    }
    for stream, record in records:
        reader = readers.get(stream)
        if reader is None or not _counts(record, f):
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
    return book


def _name(book: CrmBook, account_id: str, label: str) -> str:
    account = book.accounts.get(account_id)
    return account.name if account else (label or account_id)


def _counts(record: Mapping[str, Any], f: CrmFields) -> bool:
    if record.get("is_deleted") is True:
        return False
    return str(record.get("life_status", "normal")) in f.statuses


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
    rid = str(_required(record, "_id"))
    day = date_from_epoch_ms(_required(record, f.order_date), field=f.order_date)
    due = day + dt.timedelta(days=f.payment_terms_days)
    if f.order_due_date and record.get(f.order_due_date) not in (None, ""):
        due = date_from_epoch_ms(record[f.order_due_date], field=f.order_due_date)
    account_id = str(_required(record, "account_id"))
    book.orders[rid] = Order(
        id=rid,
        name=_text(record, "name") or rid,
        account_id=account_id,
        account_name=_text(record, "account_id__r"),
        owner=_owner(record, f),
        date=day,
        due=due,
        amount=parse_amount(_required(record, f.order_amount), field=f.order_amount),
    )


def _read_payment(book: CrmBook, record: Mapping[str, Any], f: CrmFields) -> None:
    rid = str(_required(record, "_id"))
    account_id = str(_required(record, "account_id"))
    raw = _text(record, f.payment_method)
    method = dict(f.method_labels).get(raw) or _text(record, f"{f.payment_method}__r") or raw or "-"
    book.payments[rid] = Payment(
        id=rid,
        name=_text(record, "name") or rid,
        account_id=account_id,
        account_name=_text(record, "account_id__r"),
        owner=_owner(record, f),
        date=date_from_epoch_ms(_required(record, f.payment_date), field=f.payment_date),
        amount=parse_amount(_required(record, f.payment_amount), field=f.payment_amount),
        method=method,
        order_id=_text(record, "order_id"),
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
