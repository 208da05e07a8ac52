"""The aging tied to the books: per customer, the CRM's net receivable beside the receivable
account's balance with that customer's dimension in what crmsync posted, and why they differ.

The books side is read from the state store's outbox: every voucher the destination holds
(posted, and reversed together with its posted reversal) up to the as-of date, its lines on
``reports.receivable_account`` (1122 and its sub-accounts) summed per ``customer`` dimension.
That is the destination's receivable as far as crmsync put it there, for the embedded ledger,
Kingdee and SAP alike (postings made by hand in the ERP are outside it, and show as an
unexplained difference). The CRM's customers are matched to ERP customer codes through the
lookup the mappings use (``reports.customer_lookup``, default ``customers``).

A difference is explained, in this order, by vouchers made but not yet in the books (pending,
failed, awaiting approval: their receivable lines), and by the customer's quarantined records
(a CRM record the mappings could not map is in the aging but in no voucher).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import ValidationError

from sync.model import Voucher
from sync.money import ZERO, total
from sync.reports.aging import AgingRow
from sync.state.outbox import OutboxRow
from sync.state.quarantine import QuarantineEntry
from sync.state.status import IN_ERP, Status
from sync.tables.model import Cell, Column, Kind, Table

__all__ = ["Books", "books_receivable", "tie_out_table"]

#: made, not yet in the books: the difference they explain
_WAITING = frozenset({Status.PENDING, Status.SENDING, Status.FAILED, Status.AWAITING_APPROVAL})


@dataclass
class Books:
    """Receivable per ERP customer code: in the books, and waiting to get there."""

    posted: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    waiting: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    waiting_count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unreadable: int = 0


def books_receivable(
    pages: Iterable[Sequence[OutboxRow]], account: str, dimension: str, as_of: dt.date
) -> Books:
    """The receivable lines of every outbox voucher dated on or before ``as_of``, by customer."""
    books = Books()
    for page in pages:
        for row in page:
            status = Status(row.status)
            if status not in IN_ERP and status not in _WAITING:
                continue  # superseded: never reached the ERP
            if row.voucher_date and row.voucher_date > as_of.isoformat():
                continue
            try:
                voucher = Voucher.from_stored(row.payload)
            except ValidationError:
                books.unreadable += 1
                continue
            amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for line in voucher.lines:
                if line.account == account or line.account.startswith(account + "."):
                    amounts[line.dim(dimension) or ""] += line.debit - line.credit
            target = books.posted if status in IN_ERP else books.waiting
            for customer, amount in amounts.items():
                target[customer] += amount
                if status not in IN_ERP:
                    books.waiting_count[customer] += 1
    return books


def tie_out_table(
    rows: Sequence[AgingRow],
    books: Books,
    *,
    code_of: Mapping[str, str],
    quarantined: Sequence[QuarantineEntry],
    as_of: dt.date,
    account: str,
) -> Table:
    """One row per customer in the aging or the books: aging net, books, difference, cause."""
    aging = {code_of.get(r.account_id, r.account_id): r for r in rows}
    held: dict[str, list[str]] = defaultdict(list)
    for entry in quarantined:
        customer = str(entry.record.get("account_id", "")) if isinstance(entry.record, dict) else ""
        held[code_of.get(customer, customer)].append(f"{entry.stream} {entry.record_id}")
    codes = sorted(
        set(aging) | {c for c, v in books.posted.items() if v} | {c for c, v in books.waiting.items() if v}
    )
    body: list[tuple[Cell, ...]] = []
    for code in codes:
        row = aging.get(code)
        net = row.net if row else ZERO
        booked = books.posted.get(code, ZERO)
        waiting = books.waiting.get(code, ZERO)
        difference = net - booked
        body.append(
            (
                row.account_name if row else "",
                row.account_id if row else "",
                code,
                net,
                booked,
                difference,
                waiting,
                _cause(difference, waiting, books.waiting_count.get(code, 0), held.get(code, [])),
            )
        )
    columns = (
        Column("account", "客户", "Customer"),
        Column("account_id", "客户ID", "Customer id"),
        Column("erp_code", "ERP客户编码", "ERP customer code"),
        Column("aging_net", "账龄净应收", "Aging net receivable", Kind.MONEY),
        Column("books", "账面应收", "Receivable in the books", Kind.MONEY),
        Column("difference", "差异", "Difference", Kind.MONEY),
        Column("not_yet_posted", "未过账凭证", "Vouchers not yet posted", Kind.MONEY),
        Column("cause", "差异原因", "Cause"),
    )
    totals = (
        "合计 / Total",
        None,
        None,
        total(r[3] for r in body),  # type: ignore[misc]
        total(r[4] for r in body),  # type: ignore[misc]
        total(r[5] for r in body),  # type: ignore[misc]
        total(r[6] for r in body),  # type: ignore[misc]
        None,
    )
    return Table(
        "tie_out",
        "应收对账",
        "Aging tied to the books",
        columns,
        tuple(body),
        totals,
        note_zh=f"截至 {as_of.isoformat()}：账龄净应收 与 科目 {account} 按客户辅助核算的账面余额"
        "（crmsync 已过账凭证）",
        note_en=f"as of {as_of.isoformat()}: the aging's net receivable against account {account} "
        "by customer dimension in the vouchers crmsync posted",
    )


def _cause(difference: Decimal, waiting: Decimal, waiting_n: int, held: list[str]) -> str:
    if not difference:
        return ""
    parts = []
    if waiting:
        parts.append(f"{waiting_n} voucher(s) not yet posted ({waiting:,.2f}): crmsync status / failures")
    if held:
        shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        parts.append(f"quarantined: {shown} (crmsync failures)")
    rest = difference - waiting
    if rest and not held:
        parts.append(f"unexplained {rest:,.2f}: postings outside crmsync, or records outside the CRM source")
    return "; ".join(parts)
