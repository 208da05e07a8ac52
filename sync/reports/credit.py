"""Customer credit exposure (信用额度占用): what each customer owes against its credit limit.

Exposure is open order amounts minus unapplied cash, as of a date (see
``sync.reports.receivables``). Limits come from an AccountObj field or a CSV file
(``account_id,credit_limit`` or ``account,credit_limit`` by name); the CSV wins where both
give one, because it is the file finance maintains on purpose. A customer without a limit
is shown but never "over".
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sync.crm import CrmBook
from sync.errors import ConfigurationError
from sync.money import ZERO, MoneyError, parse_amount, total
from sync.reports.receivables import receivables
from sync.tables.model import Column, Kind, Table

__all__ = ["Exposure", "credit_tables", "exposures", "read_limits_csv", "unmatched_limits"]


@dataclass(frozen=True, slots=True)
class Exposure:
    """One customer's exposure against its credit limit: open orders plus unapplied cash."""

    account_id: str
    account_name: str
    open: Decimal
    unapplied: Decimal
    limit: Decimal | None

    @property
    def exposure(self) -> Decimal:
        return self.open - self.unapplied

    @property
    def available(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.exposure

    @property
    def over(self) -> bool:
        return self.limit is not None and self.exposure > self.limit


def read_limits_csv(path: Path) -> dict[str, Decimal]:
    """Credit limits keyed by account id or by account name, as the file has them."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = set(reader.fieldnames or ())
            key = "account_id" if "account_id" in fields else "account" if "account" in fields else ""
            if not key or "credit_limit" not in fields:
                raise ConfigurationError(
                    f"{path}: expected columns account_id (or account) and credit_limit, "
                    f"found {', '.join(sorted(fields)) or 'none'}",
                    hint="add a header row: account_id,credit_limit",
                )
            limits = {}
            for number, row in enumerate(reader, 2):
                try:
                    limits[row[key].strip()] = parse_amount(row["credit_limit"], field="credit_limit")
                except MoneyError as exc:
                    raise ConfigurationError(f"{path}:{number}: {exc}") from None
            return limits
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read credit limits: {exc.strerror}") from None


def unmatched_limits(book: CrmBook, limits: dict[str, Decimal] | None) -> list[str]:
    """Limits whose key is no customer of the CRM (neither an account id nor a name): said, not dropped."""
    names = {account.name for account in book.accounts.values()}
    names |= {o.account_name for o in book.orders.values()} | {p.account_name for p in book.payments.values()}
    return [
        f"credit limit {limit:,.2f} for {key!r}: no customer of that id or name in the CRM; the limit is not "
        "applied (check the spelling against the customer list, or use account_id)"
        for key, limit in (limits or {}).items()
        if key not in book.accounts and key not in names
    ]


def exposures(book: CrmBook, as_of: dt.date, limits: dict[str, Decimal] | None = None) -> list[Exposure]:
    """Every customer with a balance or a limit, sorted by name."""
    rec = receivables(book, as_of)
    opened = rec.open_by_account()
    limits = limits or {}
    ids = (
        set(opened)
        | set(rec.unapplied)
        | {a for a, acc in book.accounts.items() if acc.credit_limit is not None}
    )
    ids |= {k for k in limits if k in book.accounts}
    result = []
    for account_id in ids:
        name = book.account_name(account_id)
        account = book.accounts.get(account_id)
        limit = limits.get(account_id, limits.get(name, account.credit_limit if account else None))
        result.append(
            Exposure(
                account_id, name, opened.get(account_id, ZERO), rec.unapplied.get(account_id, ZERO), limit
            )
        )
    return sorted(result, key=lambda e: (e.account_name, e.account_id))


_COLUMNS = (
    Column("account", "客户", "Customer"),
    Column("account_id", "客户ID", "Customer id"),
    Column("limit", "信用额度", "Credit limit", Kind.MONEY),
    Column("open", "未收订单", "Open orders", Kind.MONEY),
    Column("unapplied", "未核销回款", "Unapplied cash", Kind.MONEY),
    Column("exposure", "占用额度", "Exposure", Kind.MONEY),
    Column("available", "可用额度", "Available", Kind.MONEY),
    Column("over", "超额", "Over limit"),
)


def _row(e: Exposure) -> tuple[str | Decimal | None, ...]:
    return (
        e.account_name,
        e.account_id,
        e.limit,
        e.open,
        e.unapplied,
        e.exposure,
        e.available,
        "超额 / over" if e.over else "",
    )


def credit_tables(
    book: CrmBook, as_of: dt.date, limits: dict[str, Decimal] | None = None
) -> tuple[Table, Table]:
    """All customers' exposure, and the customers over their limit (largest excess first)."""
    items = exposures(book, as_of, limits)
    note_zh, note_en = f"截至 {as_of.isoformat()}", f"as of {as_of.isoformat()}"
    every = Table(
        "credit",
        "信用额度占用",
        "Credit exposure",
        _COLUMNS,
        tuple(_row(e) for e in items),
        (
            "合计 / Total",
            None,
            None,
            total(e.open for e in items),
            total(e.unapplied for e in items),
            total(e.exposure for e in items),
            None,
            None,
        ),
        note_zh=note_zh,
        note_en=note_en,
    )
    over = sorted(
        (e for e in items if e.over), key=lambda e: e.limit - e.exposure if e.limit is not None else ZERO
    )
    over_table = Table(
        "over_limit",
        "超信用额度客户",
        "Customers over their limit",
        _COLUMNS,
        tuple(_row(e) for e in over),
        note_zh=note_zh,
        note_en=note_en,
    )
    return every, over_table
