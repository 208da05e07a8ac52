"""Mapping throughput: the YAML engine against hand-written Python producing the same vouchers.

Run: ``.venv/bin/python -m bench.mapping_bench [--records N] [--repeat R]``. Synthetic
SalesOrderObj records (Fxiaoke shapes: amounts as strings, epoch ms, ``account_id`` +
``__r``) go through the shipped ``sales_order_confirmed`` mapping and through
``handwritten()``, which builds the same ``Voucher`` objects directly; the two outputs are
compared for equality before anything is timed. Both pay the same pydantic model cost, so the
ratio is the price of the mapping language itself. Target: YAML at most 3x slower.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.dates import date_from_epoch_ms
from sync.mapping import MappingSet
from sync.mapping.lookups import read_csv_table
from sync.model import MappingRef, SourceRef, Voucher, VoucherLine
from sync.money import parse_amount, round_money

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "mappings" / "fxiaoke-kingdee" / "sales_order_confirmed.yaml"
CUSTOMERS = MAPPING.parent / "lookups" / "customers.csv"
NAMES = [
    "上海明远信息科技有限公司",
    "北京华辰智能装备有限公司",
    "杭州青禾电子商务有限公司",
    "成都蜀通物流有限公司",
]
_RATE = Decimal("1.13")


def synthetic_orders(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    ids = [*read_csv_table(CUSTOMERS, "crm_account_id", "erp_customer_code"), "f" * 24]
    start = 1_793_462_400_000  # 2026-11-01 00:00 Asia/Shanghai
    return [
        {
            "_id": f"{i:024x}",
            "name": f"SO-202611{1 + i % 28:02d}-{i:04d}",
            "account_id": rnd.choice(ids),
            "account_id__r": rnd.choice(NAMES),
            "order_time": start + rnd.randrange(30) * 86_400_000,
            "order_amount": f"{rnd.randrange(1, 10_000_000) / 100:.2f}",
            "life_status": "normal",
            "is_deleted": False,
            "owner": ["1000"],
        }
        for i in range(n)
    ]


def make_handwritten(
    mapping_file: str, mapping_line: int, version: str
) -> Callable[[Mapping[str, Any]], Voucher | None]:
    customers = read_csv_table(CUSTOMERS, "crm_account_id", "erp_customer_code")
    ref = MappingRef(name="sales_order_confirmed", file=mapping_file, line=mapping_line, version=version)

    def handwritten(record: Mapping[str, Any]) -> Voucher | None:
        if record.get("life_status") == "invalid" or record.get("is_deleted") is True:
            return None
        if record["life_status"] != "normal":
            return None
        gross = parse_amount(record["order_amount"], field="order_amount")
        net = round_money(gross / _RATE)
        tax = gross - net
        account_id = record["account_id"]
        customer = customers.get(account_id, account_id)
        summary = f"销售订单 {record['name']} {record.get('account_id__r', '')}"
        lines = tuple(
            VoucherLine(
                account=account,
                side=side,
                amount=round_money(amount),
                currency="CNY",
                dims=dims,
                memo=summary,
            )
            for account, side, amount, dims in (
                ("1122", "debit", gross, {"customer": customer}),
                ("6001", "credit", net, {}),
                ("2221.01.05", "credit", tax, {}),
            )
            if amount
        )
        rid = record["_id"]
        return Voucher(
            key=f"sales_order_confirmed:SalesOrderObj:{rid}",
            book="001",
            date=date_from_epoch_ms(record["order_time"]),
            period="",
            group="记",
            summary=summary,
            currency="CNY",
            lines=lines,
            sources=(
                SourceRef(
                    system="crm", stream="SalesOrderObj", record_id=rid, name=record["name"], amount=gross
                ),
            ),
            mapping=ref,
            extra_revision="",
        )

    return handwritten


def _time(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    best = float("inf")
    produced = 0
    for _ in range(repeat):
        start = time.perf_counter()
        produced = fn()
        best = min(best, time.perf_counter() - start)
    return best, produced


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    ms = MappingSet.load([MAPPING], base_dir=ROOT)
    load_ms = (time.perf_counter() - t0) * 1000
    (compiled,) = ms.mappings
    handwritten = make_handwritten(compiled.file, compiled.line, compiled.version)
    orders = synthetic_orders(args.records)

    for record in orders[:500]:  # same vouchers, or the comparison means nothing
        (result,) = ms.map_record("crm", "SalesOrderObj", record)
        assert result.vouchers[0] == handwritten(record), record["_id"]

    def run_yaml() -> int:
        return sum(len(r.vouchers) for rec in orders for r in ms.map_record("crm", "SalesOrderObj", rec))

    def run_python() -> int:
        return sum(1 for rec in orders if handwritten(rec) is not None)

    yaml_s, yaml_n = _time(run_yaml, args.repeat)
    py_s, py_n = _time(run_python, args.repeat)
    assert yaml_n == py_n == len(orders)
    print(
        f"mapping benchmark: {len(orders)} SalesOrderObj records, best of {args.repeat}; "
        f"mapping compiled once in {load_ms:.1f} ms"
    )
    print(f"  YAML engine   : {yaml_n / yaml_s:10.0f} vouchers/s  ({yaml_s * 1e6 / yaml_n:6.1f} µs/voucher)")
    print(f"  hand-written  : {py_n / py_s:10.0f} vouchers/s  ({py_s * 1e6 / py_n:6.1f} µs/voucher)")
    ratio = yaml_s / py_s
    print(
        f"  ratio         : YAML is {ratio:.2f}x the hand-written time (target <= 3x): "
        f"{'OK' if ratio <= 3 else 'OVER TARGET'}"
    )


if __name__ == "__main__":
    main()
