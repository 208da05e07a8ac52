"""Table ``voucher_facts``: what the web console filters and searches vouchers by.

The outbox's payload is sealed, so SQL cannot look inside it; the facts a finance clerk asks
about (period, voucher group, customer, amount, the order numbers and names on the voucher)
are copied out once per voucher by the console (``sync.console.facts``), never by a run, so a
sync pays nothing for them. Only what never changes for a voucher is kept here: its status
and ERP number change, and are read from the outbox itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sync.state.outbox import _OUTBOX_COLS, OutboxRow, OutboxTable, key_range, key_sql

__all__ = ["VoucherFacts", "VoucherFactsTable", "VoucherFilter"]


@dataclass(frozen=True, slots=True)
class VoucherFacts:
    seq: int
    period: str
    voucher_group: str
    customer: str
    amount_cents: int
    #: lower-case text searched by ``q``: key, record ids, order numbers, customer, summary
    search: str


@dataclass(frozen=True, slots=True)
class VoucherFilter:
    """A page of the voucher list: every field optional, all given ones must hold."""

    period: str = ""
    status: str = ""
    mapping: str = ""
    voucher_group: str = ""
    customer: str = ""
    #: absolute voucher total in cents, inclusive (a reversal of 1,500.00 matches 1,500.00)
    amount_min_cents: int | None = None
    amount_max_cents: int | None = None
    #: an ERP number, CRM record id, voucher key or external reference, or text in a name
    q: str = ""


def _like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally anywhere (``%`` and ``_`` escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_REVERSED_BY = (
    "(SELECT MIN(r.external_ref) FROM outbox r WHERE r.reversal_of = o.external_ref) AS reversed_by"
)
_COLS = ", ".join(f"o.{c.strip()}" for c in _OUTBOX_COLS.split(","))


class VoucherFactsTable(OutboxTable):
    """Fill the facts from the outbox, and page through vouchers filtered by them."""

    def facts_head(self) -> int:
        """The last outbox seq with facts (0: none yet)."""
        row = self._one("SELECT MAX(seq) AS s FROM voucher_facts")
        return int(row["s"]) if row and row["s"] is not None else 0

    def outbox_without_facts(self, after_seq: int, limit: int) -> list[OutboxRow]:
        """Outbox rows after ``after_seq`` that have no facts yet, in seq order."""
        rows = self._all(
            f"SELECT {_COLS} FROM outbox o WHERE o.seq > ? AND NOT EXISTS "
            "(SELECT 1 FROM voucher_facts v WHERE v.seq = o.seq) ORDER BY o.seq LIMIT ?",
            (after_seq, limit),
        )
        return [self._outbox_row(r) for r in rows]

    def add_voucher_facts(self, facts: Sequence[VoucherFacts]) -> None:
        """Add facts (two consoles filling at once: the second's rows are already there)."""
        if not facts:
            return
        with self.transaction():
            self._execute_many(
                "INSERT INTO voucher_facts (seq, period, voucher_group, customer, amount_cents, search) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
                [(f.seq, f.period, f.voucher_group, f.customer, f.amount_cents, f.search) for f in facts],
            )

    def voucher_facts(self, seq: int) -> VoucherFacts | None:
        row = self._one(
            "SELECT seq, period, voucher_group, customer, amount_cents, search FROM voucher_facts "
            "WHERE seq = ?",
            (seq,),
        )
        return None if row is None else VoucherFacts(**row)

    def facts_missing(self) -> int:
        """Vouchers above the facts' head (not yet searchable): an index range, not a count of all."""
        row = self._one("SELECT COUNT(*) AS n FROM outbox WHERE seq > ?", (self.facts_head(),))
        return int(row["n"]) if row else 0

    def _filter_sql(self, f: VoucherFilter, *, exact: bool) -> tuple[str, list[Any], bool]:
        """(WHERE clause, parameters, whether the facts table is needed); ``q`` matched as an
        exact identifier (``exact``: index look-ups) or as text in the names (a scan)."""
        where: list[str] = []
        params: list[Any] = []
        facts = False
        if f.status:
            where.append("o.status = ?")
            params.append(f.status)
        if f.mapping:
            where.append("o.mapping = ?")
            params.append(f.mapping)
        for column, value in (
            ("period", f.period),
            ("voucher_group", f.voucher_group),
            ("customer", f.customer),
        ):
            if value:
                where.append(f"v.{column} = ?")
                params.append(value)
                facts = True
        if f.amount_min_cents is not None:
            where.append("v.amount_cents >= ?")
            params.append(f.amount_min_cents)
            facts = True
        if f.amount_max_cents is not None:
            where.append("v.amount_cents <= ?")
            params.append(f.amount_max_cents)
            facts = True
        q = f.q.strip()
        if q and exact:
            low, high = key_range(q)  # a key's revisions: a range of external_ref (no index on key)
            where.append(
                "(o.erp_number = ? OR o.source_id = ? OR o.external_ref = ? "
                f"OR (o.external_ref >= ? AND o.external_ref < ? AND {key_sql('o')} = ?))"
            )
            params += [q, q, q, low, high, q]
        elif q:
            where.append("v.search LIKE ? ESCAPE '\\'")
            params.append(_like(q.lower()))
            facts = True
        return (" AND ".join(where) or "1 = 1"), params, facts

    def _page(self, f: VoucherFilter, exact: bool, offset: int, limit: int) -> tuple[list[OutboxRow], int]:
        where, params, facts = self._filter_sql(f, exact=exact)
        join = "JOIN voucher_facts v ON v.seq = o.seq" if facts else ""
        counted = self._one(f"SELECT COUNT(*) AS n FROM outbox o {join} WHERE {where}", params)
        total = int(counted["n"]) if counted else 0
        if not total:
            return [], 0
        rows = self._all(
            f"SELECT {_COLS}, {_REVERSED_BY} FROM outbox o {join} WHERE {where} "
            "ORDER BY o.seq DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [self._outbox_row(r) for r in rows], total

    def search_vouchers(self, f: VoucherFilter, *, offset: int, limit: int) -> tuple[list[OutboxRow], int]:
        """One page of the vouchers ``f`` selects, newest first, and how many it selects in all.

        ``q`` that is an ERP number, a CRM record id, a voucher key or an external reference
        finds exactly those vouchers (index look-ups); any other text is searched for in the
        vouchers' names, order numbers, customers and summaries (a scan of the facts).
        """
        if f.q.strip():
            rows, total = self._page(f, True, offset, limit)
            if total:
                return rows, total
        return self._page(f, False, offset, limit)

    def voucher_groups(self) -> list[str]:
        return [
            str(r["g"]) for r in self._all("SELECT DISTINCT voucher_group AS g FROM voucher_facts ORDER BY g")
        ]

    def voucher_periods(self) -> list[str]:
        return [
            str(r["p"]) for r in self._all("SELECT DISTINCT period AS p FROM voucher_facts ORDER BY p DESC")
        ]

    def mapping_names(self) -> list[str]:
        return [str(r["m"]) for r in self._all("SELECT DISTINCT mapping AS m FROM outbox ORDER BY m")]
