"""The embedded ledger: an ERP-like book in SQLite that obeys the Destination contract.

It behaves like the ERPs it stands in for: it numbers vouchers per book, period and voucher
group (记-1, 记-2, …), refuses what a real ERP refuses (unbalanced vouchers, unknown or
parent accounts, a missing 辅助核算 dimension, amounts finer than the currency's minor
unit, dates outside the period, closed periods) with a permanent error in the ERP's own
words, stores the external reference and answers lookups by it.

Unlike Kingdee or SAP it does not post a second voucher under a reference it already holds
(``dedupe``, on by default): it answers with the voucher it has. The engine must not rely on
that; its fault-injection tests turn it off to prove exactly-once without it.

The SQLite schema (tables ``vouchers`` and ``lines``, amounts in integer minor units) is read
by ``connectors.ledger.queries`` and by the engine's crash tests: change it only by migration.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.ledger.chart import Chart
from connectors.ledger.store import connect
from sync.destination import CheckReport, ErpRef, PostResult
from sync.errors import DestinationUnavailable
from sync.model import Voucher
from sync.money import MoneyError, format_amount, minor_unit, parse_amount

__all__ = ["Ledger", "Refusal"]

_LOOKUP_CHUNK = 500
_NEXT_SEQ = "SELECT COALESCE(MAX(seq), 0) + 1 FROM vouchers WHERE book = ? AND period = ? AND grp = ?"
#: the batch numbers its vouchers itself (inside BEGIN IMMEDIATE no other writer can take an id),
#: so they go in with one executemany instead of one INSERT each for their lastrowid
_NEXT_ID = "SELECT COALESCE(MAX(id), 0) + 1 FROM vouchers"
_INSERT_VOUCHER = (
    "INSERT INTO vouchers (id, book, period, grp, seq, number, date, summary, currency, external_ref, "
    "voucher_key, revision, reversal_of, source_system, source_stream, source_id, source_name, "
    "total_minor, posted_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_LINE = (
    "INSERT INTO lines (voucher_id, line_no, account, debit_minor, credit_minor, currency, "
    "amount_foreign, rate, dims, memo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_FIND = (
    "SELECT external_ref, id, number, total_minor, currency FROM vouchers "
    "WHERE external_ref IN ({marks}) ORDER BY id DESC"
)


@dataclass(slots=True)
class _Batch:
    """Per-batch memory inside one transaction: references held, next number per series.

    A series's next number is read once per batch; the transaction (BEGIN IMMEDIATE) keeps
    every other writer out until COMMIT, so it cannot go stale. Any SQLite error rolls the
    whole batch back, so no voucher is ever half-written.
    """

    held: dict[str, ErpRef]
    next_id: int = 1
    next_seq: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: the rows of the accepted vouchers and of their lines, written together at the end
    vouchers: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    posted_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


@dataclass(frozen=True, slots=True)
class _Entry:
    """One rendered line with its amount in minor units (分), signed (red reversals are negative)."""

    line: dict[str, Any]
    debit: int
    credit: int


class Refusal(ValueError):
    """What the ledger says when it refuses a voucher (a permanent error)."""


class Ledger:
    """The ``ledger`` destination. Opens its file on first use; safe across processes."""

    type_name = "ledger"

    def __init__(
        self,
        path: Path,
        chart: Chart,
        *,
        closed_periods: Sequence[str] = (),
        batch_size: int = 100,
        dedupe: bool = True,
        busy_timeout: float = 30.0,
    ) -> None:
        self.path = path
        self.chart = chart
        self.closed_periods = frozenset(closed_periods)
        self.batch_size = batch_size
        self.dedupe = dedupe
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- Destination ------------------------------------------------------------------------

    def check(self, vouchers: Sequence[Voucher] = ()) -> CheckReport:
        conn = self._connection()
        count = int(conn.execute("SELECT COUNT(*) FROM vouchers").fetchone()[0])
        warnings = []
        for voucher in vouchers:
            try:
                self._validate(self.render(voucher))
            except Refusal as exc:
                warnings.append(f"voucher {voucher.key}: {exc}")
        closed = ", ".join(sorted(self.closed_periods)) or "none"
        details = (
            f"ledger {self.path}: {count} vouchers posted",
            f"chart of accounts {self.chart.source} ({len(self.chart)} accounts); closed periods: {closed}",
        )
        return CheckReport(ok=True, warnings=tuple(warnings), details=details)

    def render(self, voucher: Voucher) -> dict[str, Any]:
        src = voucher.source
        return {
            "external_ref": voucher.external_ref,
            "key": voucher.key,
            "revision": voucher.revision,
            "reversal_of": voucher.reversal_of,
            "book": voucher.book,
            "period": voucher.period,
            "group": voucher.group,
            "date": voucher.date.isoformat(),
            "summary": voucher.summary,
            "currency": voucher.currency,
            "source": {"system": src.system, "stream": src.stream, "id": src.record_id, "name": src.name},
            "lines": [
                {
                    "account": ln.account,
                    "side": ln.side.value,
                    "amount": format_amount(ln.amount, voucher.currency),
                    "currency": ln.currency,
                    "amount_foreign": None if ln.amount_foreign is None else str(ln.amount_foreign),
                    "rate": None if ln.rate is None else str(ln.rate),
                    "dims": dict(ln.dims),
                    "memo": ln.memo,
                }
                for ln in voucher.lines
            ],
        }

    def post(self, batch: Sequence[Voucher]) -> list[PostResult]:
        """One transaction per batch; each voucher is accepted or refused on its own."""
        payloads = [self.render(v) for v in batch]
        conn = self._connection()
        with self._lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # busy beyond the timeout: nothing was written
                return [PostResult.transient(p["external_ref"], f"ledger is busy: {exc}") for p in payloads]
            try:
                batch_state = _Batch(
                    held=self._held(conn, [p["external_ref"] for p in payloads]),
                    next_id=int(conn.execute(_NEXT_ID).fetchone()[0]),
                )
                results = [self._post_one(conn, p, batch_state) for p in payloads]
                conn.executemany(_INSERT_VOUCHER, batch_state.vouchers)
                conn.executemany(_INSERT_LINE, batch_state.lines)
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                conn.execute("ROLLBACK")
                return [PostResult.transient(p["external_ref"], f"ledger is busy: {exc}") for p in payloads]
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise DestinationUnavailable(
                    f"ledger {self.path} failed: {exc}", hint="check the disk and the ledger file"
                ) from None
        return results

    def lookup(self, external_refs: Sequence[str], *, thorough: bool = False) -> dict[str, ErpRef]:
        conn = self._connection()
        with self._lock:
            return _find(conn, external_refs)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- internals --------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        with self._lock:
            if self._conn is None:
                self._conn = connect(self.path, self._busy_timeout)
            return self._conn

    def _held(self, conn: sqlite3.Connection, refs: Sequence[str]) -> dict[str, ErpRef]:
        """What the ledger already holds of this batch, read inside the batch's transaction."""
        return _find(conn, refs) if self.dedupe else {}

    def _post_one(self, conn: sqlite3.Connection, p: dict[str, Any], batch: _Batch) -> PostResult:
        ref = p["external_ref"]
        if ref in batch.held:
            return PostResult.posted(ref, batch.held[ref])
        try:
            entries = self._validate(p)
        except Refusal as exc:
            return PostResult.permanent(ref, f"{p['book']} {p['period']}: {exc}")
        series = (p["book"], p["period"], p["group"])
        seq = batch.next_seq.get(series) or int(conn.execute(_NEXT_SEQ, series).fetchone()[0])
        batch.next_seq[series] = seq + 1
        number = f"{p['group']}-{seq}"
        src = p["source"]
        vid = batch.next_id
        batch.next_id += 1
        batch.vouchers.append(
            (
                vid,
                p["book"],
                p["period"],
                p["group"],
                seq,
                number,
                p["date"],
                p["summary"],
                p["currency"],
                ref,
                p["key"],
                p["revision"],
                p["reversal_of"],
                src["system"],
                src["stream"],
                src["id"],
                src["name"],
                sum(e.debit for e in entries),
                batch.posted_at,
            )
        )
        batch.lines.extend(
            (
                vid,
                n,
                e.line["account"],
                e.debit,
                e.credit,
                e.line["currency"],
                e.line["amount_foreign"],
                e.line["rate"],
                _dims_text(e.line["dims"]),
                e.line["memo"],
            )
            for n, e in enumerate(entries, start=1)
        )
        erp_ref = ErpRef(str(vid), number)
        if self.dedupe:
            batch.held[ref] = erp_ref
        return PostResult.posted(ref, erp_ref)

    def _validate(self, p: dict[str, Any]) -> list[_Entry]:
        """The lines with debit and credit in minor units, or the refusal."""
        period = p["period"]
        if period in self.closed_periods:
            raise Refusal(
                f"period {period} is closed; post into an open period (a reversal is dated today) "
                "or reopen it by removing it from destination.closed_periods"
            )
        if str(p["date"])[:7] != period:
            raise Refusal(f"voucher date {p['date']} is outside its period {period}")
        if len(p["lines"]) < 2:
            raise Refusal("a voucher needs at least two lines")
        scale = 10 ** minor_unit(p["currency"])
        out = []
        problems = []
        for n, ln in enumerate(p["lines"], start=1):
            problem = self.chart.problem(ln["account"], ln["dims"])
            if problem:
                problems.append(f"line {n}: {problem}")
                continue
            try:
                minor = parse_amount(ln["amount"], field=f"line {n} amount") * scale
            except MoneyError as exc:
                problems.append(str(exc))
                continue
            if minor != minor.to_integral_value():
                problems.append(f"line {n}: amount {ln['amount']} is finer than {p['currency']} allows")
                continue
            value = int(minor)
            debit = ln["side"] == "debit"
            out.append(_Entry(ln, value if debit else 0, 0 if debit else value))
        if problems:
            raise Refusal("; ".join(problems))
        debit = sum(e.debit for e in out)
        credit = sum(e.credit for e in out)
        if debit != credit:
            cur = p["currency"]
            raise Refusal(f"voucher does not balance: debit {_fmt(debit, cur)} != credit {_fmt(credit, cur)}")
        if not any(e.debit or e.credit for e in out):
            raise Refusal("a voucher with only zero amounts cannot be posted")
        return out


def _fmt(minor: int, currency: str) -> str:
    return format_amount(parse_amount(minor).scaleb(-minor_unit(currency)), currency)


def _dims_text(dims: dict[str, str]) -> str:
    return json.dumps(dims, ensure_ascii=False, sort_keys=True) if dims else "{}"


def _find(conn: sqlite3.Connection, external_refs: Sequence[str]) -> dict[str, ErpRef]:
    """The first voucher posted under each of these references."""
    found: dict[str, ErpRef] = {}
    refs = list(dict.fromkeys(external_refs))
    for i in range(0, len(refs), _LOOKUP_CHUNK):
        chunk = refs[i : i + _LOOKUP_CHUNK]
        rows = conn.execute(_FIND.format(marks=",".join("?" * len(chunk))), chunk).fetchall()
        for ref, vid, number, total_minor, currency in rows:  # descending ids: the first posting wins
            found[ref] = ErpRef(str(vid), number, Decimal(total_minor).scaleb(-minor_unit(currency)))
    return found
