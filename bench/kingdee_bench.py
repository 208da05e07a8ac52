"""Kingdee destination throughput against the fake K/3 Cloud on loopback.

    .venv/bin/python -m bench.kingdee_bench [--vouchers 600]

Posts the same synthetic order vouchers (three lines, a customer dimension, cents) with
BatchSave in batches and with one Save per voucher, with and without Submit+Audit, and prints
vouchers/second and ERP calls per voucher. Loopback has no network latency, so these figures
are the connector's own cost plus the fake's; on a real site each call adds its round trip
(typically 50-300 ms), which is why calls per voucher is the figure that matters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

from connectors.kingdee.factory import Config, build
from sync.connector import BuildContext
from sync.destination import Outcome
from sync.model import MappingRef, SourceRef, Voucher, VoucherLine
from tests.fakes.kingdee import FakeKingdee


def _vouchers(count: int, run: str) -> list[Voucher]:
    out = []
    for i in range(count):
        gross = Decimal(1130 + i % 997) + Decimal("0.45")
        net = (gross / Decimal("1.13")).quantize(Decimal("0.01"))
        customer = f"CUST{1 + i % 20:04d}"
        out.append(
            Voucher(
                key=f"bench-{run}:SalesOrderObj:{i:08d}",
                book="main",
                date=dt.date(2026, 11, 1 + i % 28),
                summary=f"SO-202611-{i:05d} 确认收入",
                lines=(
                    VoucherLine(account="1122", side="debit", amount=gross, dims={"customer": customer}),
                    VoucherLine(account="6001", side="credit", amount=net),
                    VoucherLine(account="2221.01.05", side="credit", amount=gross - net),
                ),
                sources=(SourceRef(system="crm", stream="SalesOrderObj", record_id=f"{i:024x}"),),
                mapping=MappingRef(name="bench"),
            )
        )
    return out


def _run(fake: FakeKingdee, count: int, batch_size: int, steps: bool, label: str) -> None:
    config = Config.model_validate(
        {
            "type": "kingdee",
            "base_url": fake.url,
            "acct_id": fake.acct_id,
            "username": fake.username,
            "app_id": fake.app_id,
            "app_secret": fake.app_secret,
            "account_book": "001",
            "batch_size": batch_size,
            "submit": steps,
            "audit": steps,
            "timeout_seconds": 30,
        }
    )
    destination = build(config, BuildContext(name="bench", base_dir=Path(".")))
    vouchers = _vouchers(count, label)
    started = time.perf_counter()
    posted = 0
    for start in range(0, len(vouchers), batch_size):  # the engine hands batches of batch_size
        posted += sum(
            r.outcome is Outcome.POSTED for r in destination.post(vouchers[start : start + batch_size])
        )
    seconds = time.perf_counter() - started
    calls = sum(destination.client.calls.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(destination.client.calls.items()))
    print(
        f"{label:<34} {posted:>5} posted {seconds:7.2f} s {posted / seconds:8.1f} vouchers/s "
        f"{calls / posted:6.3f} calls/voucher  ({detail})"
    )
    destination.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vouchers", type=int, default=600)
    args = parser.parse_args()
    accounts = {"1122": ("FFLEX6",), "6001": (), "2221.01.05": ()}
    customers = [f"CUST{i:04d}" for i in range(1, 21)]
    print(f"Kingdee destination -> fake K/3 Cloud on loopback, {args.vouchers} vouchers of 3 lines each")
    for batch_size, steps, label in [
        (50, False, "BatchSave x50"),
        (1, False, "one Save per voucher"),
        (50, True, "BatchSave x50 + Submit + Audit"),
        (1, True, "Save + Submit + Audit per voucher"),
    ]:
        with FakeKingdee(accounts=accounts, customers=customers) as fake:
            _run(fake, args.vouchers, batch_size, steps, label)


if __name__ == "__main__":
    main()
