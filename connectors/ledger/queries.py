"""Reading the ledger back: what tests, reports and the demo ask of it.

Read-only connections, so a report can run while a sync posts. Amounts come back as
Decimal in the book currency, exact (they are stored as integer minor units).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.ledger.store import connect_readonly
from sync.money import ZERO, minor_unit

__all__ = [
    "AccountTotal",
    "PostedLine",
    "PostedVoucher",
    "account_totals",
    "list_vouchers",
    "voucher_count",
    "vouchers_by_ref",
]


@dataclass(frozen=True, slots=True)
class AccountTotal:
    """Debit and credit turnover of one account; ``balance`` is debit minus credit."""

    account: str
    currency: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        return self.debit - self.credit


@dataclass(frozen=True, slots=True)
class PostedLine:
    """A line of a posted ledger voucher, as tests and reports read it back."""

    account: str
    debit: Decimal
    credit: Decimal
    currency: str
    dims: dict[str, str]
    memo: str


@dataclass(frozen=True, slots=True)
class PostedVoucher:
    """A voucher as the ledger holds it, with the number finance sees (``记-12``)."""

    erp_id: str
    book: str
    period: str
    number: str
    date: str
    summary: str
    currency: str
    external_ref: str
    key: str
    revision: str
    reversal_of: str | None
    source_system: str
    source_stream: str
    source_id: str
    lines: tuple[PostedLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((ln.debit for ln in self.lines), ZERO)


def _amount(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_unit(currency))


@contextmanager
def _open(path: str | Path) -> Iterator[sqlite3.Connection]:
    with closing(connect_readonly(Path(path))) as conn:
        yield conn


def account_totals(path: str | Path, *, book: str | None = None) -> dict[str, AccountTotal]:
    """Turnover per account (all books together unless ``book`` is given; one book currency assumed)."""
    sql = (
        "SELECT l.account, v.currency, SUM(l.debit_minor), SUM(l.credit_minor) FROM lines l "
        "JOIN vouchers v ON v.id = l.voucher_id {where} GROUP BY l.account, v.currency ORDER BY l.account"
    )
    where, args = ("WHERE v.book = ?", (book,)) if book else ("", ())
    with _open(path) as conn:
        rows = conn.execute(sql.format(where=where), args).fetchall()
    return {acct: AccountTotal(acct, cur, _amount(d, cur), _amount(c, cur)) for acct, cur, d, c in rows}


def voucher_count(path: str | Path, *, book: str | None = None, period: str | None = None) -> int:
    clauses = [(c, v) for c, v in (("book = ?", book), ("period = ?", period)) if v]
    where = ("WHERE " + " AND ".join(c for c, _ in clauses)) if clauses else ""
    with _open(path) as conn:
        return int(
            conn.execute(f"SELECT COUNT(*) FROM vouchers {where}", [v for _, v in clauses]).fetchone()[0]
        )


def vouchers_by_ref(path: str | Path, external_ref: str) -> list[PostedVoucher]:
    """Every voucher holding this reference (more than one only when dedupe was off)."""
    with _open(path) as conn:
        return _vouchers(conn, "WHERE external_ref = ?", (external_ref,))


def list_vouchers(path: str | Path, *, limit: int | None = None) -> list[PostedVoucher]:
    """Vouchers in posting order."""
    with _open(path) as conn:
        return _vouchers(conn, "", (), limit)


_COLUMNS = (
    "id, book, period, number, date, summary, currency, external_ref, voucher_key, revision, "
    "reversal_of, source_system, source_stream, source_id"
)


def _vouchers(
    conn: sqlite3.Connection, where: str, args: tuple[Any, ...], limit: int | None = None
) -> list[PostedVoucher]:
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    heads = conn.execute(f"SELECT {_COLUMNS} FROM vouchers {where} ORDER BY id{tail}", args).fetchall()
    out = []
    for row in heads:
        cur = row[6]
        lines = tuple(
            PostedLine(acct, _amount(d, cur), _amount(c, cur), lcur, json.loads(dims), memo)
            for acct, d, c, lcur, dims, memo in conn.execute(
                "SELECT account, debit_minor, credit_minor, currency, dims, memo FROM lines "
                "WHERE voucher_id = ? ORDER BY line_no",
                (row[0],),
            )
        )
        vid, book, period, number, date, summary, _, ref, key, revision, reversal_of, system, stream, sid = (
            row
        )
        out.append(
            PostedVoucher(
                str(vid),
                book,
                period,
                number,
                date,
                summary,
                cur,
                ref,
                key,
                revision,
                reversal_of,
                system,
                stream,
                sid,
                lines,
            )
        )
    return out
