"""Throughput of the bank parsers and of reconciliation (run: .venv/bin/python -m bench.bank_bench).

- camt.053: one generated month written as a camt.053.001.08 file, parsed with the hardened parser;
- MT940: the same lines as multi-statement MT940 text, parsed through mt-940;
- reconciliation: a generated month scaled to ~25k and ~100k bank lines against as many CRM
  payments; the two sizes show the growth is about linear, not quadratic.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from connectors.bank.camt import parse_camt
from connectors.bank.mt940 import parse_mt940
from sync.banking import CREDIT
from sync.reconcile import ReconcileConfig, reconcile
from tests.reconcile.camt_writer import write_camt053
from tests.reconcile.generator import ACCOUNT, generate


def _mt940(lines: list) -> str:  # type: ignore[type-arg]
    by_day = defaultdict(list)
    for t in lines:
        by_day[t.booking_date].append(t)
    out, balance = [], Decimal("100000.00")
    for n, day in enumerate(sorted(by_day)):
        txns = by_day[day]
        close = balance + sum((t.signed_amount for t in txns), Decimal(0))
        out.append(
            f":20:STMT{day:%Y%m%d}\n:25:{ACCOUNT}\n:28C:{n + 1:05d}/001\n:60F:C{day:%y%m%d}CNY"
            f"{f'{balance:.2f}'.replace('.', ',')}\n"
        )
        for k, t in enumerate(txns):
            mark = "C" if t.direction == CREDIT else "D"
            out.append(
                f":61:{day:%y%m%d}{day:%m%d}{mark}{f'{t.amount:.2f}'.replace('.', ',')}NTRFNONREF//B{n}-{k}\n"
                f":86:/REMI/{t.remittance or '-'}/NAME/{t.payer_name or '-'}/\n"
            )
        out.append(f":62F:C{day:%y%m%d}CNY{f'{close:.2f}'.replace('.', ',')}\n-\n")
        balance = close
    return "".join(out)


def main() -> None:
    month = generate(seed=11, orders=18_000)
    lines = [t for t in month.bank if t.account == ACCOUNT]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stmt.xml"
        write_camt053(path, ACCOUNT, lines, Decimal("100000.00"))
        data = path.read_bytes()
    t0 = time.perf_counter()
    stmts = parse_camt(data, "bench.xml", "053")
    took = time.perf_counter() - t0
    count = sum(len(s.transactions) for s in stmts)
    print(
        f"camt.053 parse: {count} transactions, {len(data) / 1e6:.1f} MB in {took:.2f} s "
        f"= {count / took:,.0f} tx/s"
    )
    text = _mt940(lines).encode()
    t0 = time.perf_counter()
    mts = parse_mt940(text, "bench.sta")
    took = time.perf_counter() - t0
    count = sum(len(s.transactions) for s in mts)
    print(
        f"MT940 parse: {count} transactions in {len(mts)} statements in {took:.2f} s "
        f"= {count / took:,.0f} tx/s"
    )
    cfg = ReconcileConfig(tolerance=Decimal("30"))
    sizes = [int(a) for a in sys.argv[1:]] or [22_500, 90_000]
    for orders in sizes:
        m = generate(seed=5, orders=orders)
        t0 = time.perf_counter()
        result = reconcile(m.bank, m.payments, m.orders, cfg=cfg, as_of=dt.date(2026, 11, 30))
        took = time.perf_counter() - t0
        wrong = sum(
            1
            for r in result.bank
            if (got := {a.payment_id for a in r.allocations if a.payment_id})
            and not got <= m.truth.get(r.txn.id, set())
        )
        receipts = [r for r in result.bank if r.status in {"matched", "partial", "unmatched"}]
        matched = sum(1 for r in receipts if r.status == "matched")
        print(
            f"reconcile: {len(m.bank):,} bank/platform lines vs {len(m.payments):,} CRM payments "
            f"in {took:.2f} s "
            f"= {len(m.bank) / took:,.0f} lines/s; match rate {matched / len(receipts):.3f}, wrong {wrong}"
        )


if __name__ == "__main__":
    main()
