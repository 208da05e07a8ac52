"""The reconciliation report finance reads: every line with its verdict, and totals that tie out.

Totals are per booking day and account. For each, the credits split into what was applied
to CRM payments, fees kept by the bank within tolerance, suspense, platform settlements,
reversals and other credits (interest, refunds of charges …); the split must add up to the
credits and credits − debits must equal the net movement of the statements. A day that
does not tie out is flagged, never hidden. Amounts are decimal strings in JSON and CSV.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.banking import CREDIT
from sync.money import ZERO, format_amount
from sync.reconcile.model import BankResult, ReconcileResult
from sync.tables import Column, Kind, Table, plain_table
from sync.tables import Report as TableReport
from sync.tables.csvfmt import to_csv
from sync.tables.text import to_text

__all__ = ["Report", "build_report"]

_BUCKETS = ("applied", "suspense", "settlement", "reversed", "platform", "other")


@dataclass
class DayTotal:
    """One booking day and account: credits split by what happened to them, so the day ties out."""

    day: dt.date
    account: str
    currency: str
    credits: Decimal = ZERO
    debits: Decimal = ZERO
    #: shortfalls the bank kept, booked as fees (not part of the credits' split)
    fees: Decimal = ZERO
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(_BUCKETS, ZERO))

    @property
    def ties(self) -> bool:
        return sum(self.buckets.values(), ZERO) == self.credits

    def row(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "account": self.account,
            "currency": self.currency,
            "credits": format_amount(self.credits, self.currency),
            "debits": format_amount(self.debits, self.currency),
            "net": format_amount(self.credits - self.debits, self.currency),
            **{k: format_amount(v, self.currency) for k, v in self.buckets.items()},
            "bank_fees_accepted": format_amount(self.fees, self.currency),
            "ties_out": self.ties,
        }


def _bucket(r: BankResult) -> dict[str, Decimal]:
    """How one credit's amount splits over the buckets (they sum to the amount)."""
    amount = r.txn.amount
    if r.status in {"matched", "partial", "unmatched"}:
        return {"applied": r.allocated, "suspense": r.suspense}
    if r.status == "settlement":
        return {"settlement": amount}
    return {r.status if r.status in _BUCKETS else "other": amount}


def bank_row(r: BankResult) -> dict[str, Any]:
    t = r.txn
    ccy = t.currency
    return {
        "bank_id": t.id,
        "date": t.booking_date.isoformat(),
        "account": t.account,
        "format": t.format,
        "direction": t.direction,
        "amount": format_amount(t.amount, ccy),
        "currency": ccy,
        "payer": t.payer_name,
        "payer_account": t.payer_account,
        "remittance": t.remittance,
        "references": " ".join(t.references),
        "kind": t.kind,
        "status": r.status,
        "rule": r.rule,
        "confidence": round(r.confidence, 2),
        "applied": format_amount(r.allocated, ccy),
        "fee": format_amount(r.fee, ccy),
        "suspense": format_amount(r.suspense, ccy),
        "payments": ",".join(a.payment_number for a in r.allocations if a.payment_number),
        "payment_ids": ",".join(a.payment_id for a in r.allocations if a.payment_id),
        "orders": ",".join(a.order_number for a in r.allocations if a.order_number),
        "customer": ",".join(sorted({a.customer for a in r.allocations if a.customer})),
        "settlement": r.settlement_id,
        "candidates": ",".join(r.candidates),
        "note": r.note,
        "source_file": t.source_file,
    }


@dataclass
class Report:
    """The reconciliation report in every format finance asks for (text, csv, json, xlsx)."""

    result: ReconcileResult
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def _in(self, day: dt.date) -> bool:
        return (self.date_from is None or day >= self.date_from) and (
            self.date_to is None or day <= self.date_to
        )

    @property
    def bank(self) -> list[BankResult]:
        return sorted(
            (r for r in self.result.bank if self._in(r.txn.booking_date)),
            key=lambda r: (r.txn.booking_date, r.txn.account, r.txn.id),
        )

    def totals(self) -> list[DayTotal]:
        out: dict[tuple[dt.date, str, str], DayTotal] = {}
        for r in self.bank:
            t = r.txn
            key = (t.booking_date, t.account, t.currency)
            total = out.setdefault(key, DayTotal(*key))
            if t.direction == CREDIT:
                total.credits += t.amount
                for name, value in _bucket(r).items():
                    total.buckets[name] += value
                total.fees += r.fee
            else:
                total.debits += t.amount
        return [out[k] for k in sorted(out)]

    def summary(self) -> dict[str, Any]:
        receipts = [
            r
            for r in self.bank
            if r.txn.direction == CREDIT and r.status in {"matched", "partial", "unmatched"}
        ]
        matched = [r for r in receipts if r.status == "matched"]
        partial = [r for r in receipts if r.status == "partial"]
        amount = sum((r.txn.amount for r in receipts), ZERO)
        applied = sum((r.allocated for r in receipts), ZERO)
        pays = [p for p in self.result.payments if self._in(p.payment.date)]
        status = Counter(p.status for p in pays)
        return {
            "as_of": self.result.as_of.isoformat(),
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "bank_lines": len(self.bank),
            "customer_receipts": len(receipts),
            "matched": len(matched),
            "partly_matched": len(partial),
            "unmatched": len(receipts) - len(matched) - len(partial),
            "match_rate": round(len(matched) / len(receipts), 4) if receipts else None,
            "amount_match_rate": float(round(applied / amount, 4)) if amount else None,
            "suspense_total": format_amount(sum((r.suspense for r in receipts), ZERO)),
            "rules": dict(sorted(Counter(r.rule for r in self.bank if r.rule).items())),
            "crm_payments": len(pays),
            "crm_matched": status["matched"],
            "crm_partly_matched": status["partial"],
            "crm_open": status["open"],
            "crm_claimed_not_received": status["claimed_not_received"],
            "settlements": len(self.result.settlements),
            "settlements_matched": sum(1 for s in self.result.settlements if s.bank_id),
            "ties_out": all(t.ties for t in self.totals()),
        }

    def payment_rows(self) -> list[dict[str, Any]]:
        rows = []
        for p in sorted(self.result.payments, key=lambda p: (p.payment.date, p.payment.id)):
            if not self._in(p.payment.date):
                continue
            pay = p.payment
            rows.append(
                {
                    "payment_id": pay.id,
                    "number": pay.number,
                    "date": pay.date.isoformat(),
                    "customer": pay.customer,
                    "orders": ",".join(pay.order_numbers),
                    "amount": format_amount(pay.amount, pay.currency),
                    "received": format_amount(p.received, pay.currency),
                    "open": format_amount(p.open, pay.currency),
                    "status": p.status,
                    "bank_ids": ",".join(p.bank_ids),
                }
            )
        return rows

    def settlement_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": s.id,
                "platform": s.platform,
                "date": s.date.isoformat(),
                "amount": format_amount(s.amount, s.currency),
                "fees": format_amount(s.fees, s.currency),
                "members": len(s.members),
                "bank_id": s.bank_id,
                "rule": s.rule,
            }
            for s in self.result.settlements
            if self._in(s.date)
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "totals": [t.row() for t in self.totals()],
            "bank": [bank_row(r) for r in self.bank],
            "payments": self.payment_rows(),
            "settlements": self.settlement_rows(),
        }

    # -- renderers ----------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)

    def to_csv(self) -> str:
        bank = [bank_row(r) for r in self.bank]
        pays = self.payment_rows()
        fields = ["side", *bank[0].keys()] if bank else ["side"]
        fields += [k for k in (pays[0].keys() if pays else []) if k not in fields]
        rows = [{"side": "bank", **row} for row in bank] + [{"side": "crm", **row} for row in pays]
        return to_csv(plain_table("lines", fields, [[row.get(f, "") for f in fields] for row in rows]))

    def _sheets(self) -> list[Table]:
        return [
            _dict_table(title, rows)
            for title, rows in (
                ("Totals", [t.row() for t in self.totals()]),
                ("Bank", [bank_row(r) for r in self.bank]),
                ("CRM", self.payment_rows()),
                ("Settlements", self.settlement_rows()),
            )
        ]

    def to_xlsx(self, path: Path) -> None:
        from sync.tables.xlsx import to_xlsx

        facts = tuple(
            (key, key, json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v))
            for key, v in self.summary().items()
        )
        report = TableReport(
            "reconcile", "收款核销", "Reconciliation", tuple(self._sheets()), dt.datetime.now(dt.UTC), facts
        )
        path.write_bytes(to_xlsx(report, "en"))

    def to_table(self, limit: int = 50) -> str:
        s = self.summary()
        parts = [
            f"收款核销 as of {s['as_of']}: {s['customer_receipts']} receipts, {s['matched']} matched, "
            f"{s['partly_matched']} partly matched, {s['unmatched']} unmatched "
            f"(match rate {s['match_rate']}); suspense {s['suspense_total']}; "
            f"CRM claimed-not-received {s['crm_claimed_not_received']}; ties out: {s['ties_out']}\n"
        ]
        totals = [t.row() for t in self.totals()]
        parts.append(to_text(_dict_table("Totals per day and account", totals, _TOTAL_COLUMNS), width=160))
        open_lines = [r for r in self.bank if r.status in {"unmatched", "partial"}]
        lines = [
            {**(row := bank_row(r)), "note": (row["note"] or row["remittance"])[:40]}
            for r in open_lines[:limit]
        ]
        title = "Receipts not fully matched (and how each line was matched: --format csv)"
        parts.append(to_text(_dict_table(title, lines, _LINE_COLUMNS), width=160))
        if len(open_lines) > limit:
            parts.append(f"… {len(open_lines) - limit} more; use --format csv or xlsx for all lines\n")
        unpaid = [
            p for p in self.payment_rows() if p["status"] in {"claimed_not_received", "open", "partial"}
        ]
        title = "CRM payments with no money (claimed but not received) and open ones"
        parts.append(to_text(_dict_table(title, unpaid[:limit], _CRM_COLUMNS), width=160))
        if len(unpaid) > limit:
            parts.append(f"… {len(unpaid) - limit} more\n")
        return "".join(parts)


#: the money columns of the totals table, right-aligned on a terminal
_TOTAL_AMOUNTS = ("credits", *_BUCKETS, "debits")
_TOTAL_COLUMNS = ("date", "account", *_TOTAL_AMOUNTS, "ties_out")
_LINE_COLUMNS = ("date", "bank_id", "payer", "amount", "status", "rule", "suspense", "note")
_CRM_COLUMNS = ("date", "number", "customer", "amount", "open", "status")
_AMOUNTS = frozenset({*_TOTAL_AMOUNTS, "amount", "open"})


def _dict_table(title: str, rows: list[dict[str, Any]], columns: tuple[str, ...] | None = None) -> Table:
    """Rows of one dict shape as a table (columns: the given ones, else the first row's keys)."""
    keys = columns or (tuple(rows[0].keys()) if rows else ())
    cols = tuple(Column(k, k, k, Kind.MONEY if k in _AMOUNTS else Kind.TEXT) for k in keys)
    return Table(title, title, title, cols, tuple(tuple(_cell(row.get(k)) for k in keys) for row in rows))


def _cell(value: Any) -> str | int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return str(value)


def build_report(
    result: ReconcileResult, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Report:
    return Report(result, date_from, date_to)


def statement_totals(result: ReconcileResult) -> dict[tuple[str, str], Decimal]:
    """Net movement per account and currency straight from the lines (for tie-out tests)."""
    out: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for r in result.bank:
        out[(r.txn.account, r.txn.currency)] += r.txn.signed_amount
    return dict(out)
