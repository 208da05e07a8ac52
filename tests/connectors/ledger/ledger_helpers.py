"""Vouchers as the ready mappings make them: 13% VAT sales orders and receipts, CNY, UTC+8 dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.ledger.chart import load_chart
from connectors.ledger.ledger import Ledger
from sync.model import MappingRef, SourceRef, Voucher, VoucherLine

BOOK = "001 上海明远总账"


def line(account: str, side: str, amount: str, **dims: str) -> VoucherLine:
    return VoucherLine(account=account, side=side, amount=Decimal(amount), dims=dims)


def sales_order(
    n: int,
    gross: str = "1130.00",
    net: str = "1000.00",
    tax: str = "130.00",
    day: dt.date = dt.date(2026, 11, 3),
    **overrides: Any,
) -> Voucher:
    fields: dict[str, Any] = {
        "key": f"sales_order:SalesOrderObj:6561f0a2c3b4d5e6f7a8{n:04d}",
        "book": BOOK,
        "date": day,
        "summary": f"销售订单 SO-{day:%Y%m%d}-{n:04d} 上海明远信息科技有限公司",
        "lines": (
            line("1122", "debit", gross, customer="CUST0001"),
            line("6001", "credit", net),
            line("2221.01.05", "credit", tax),
        ),
        "sources": (
            SourceRef(
                system="crm",
                stream="SalesOrderObj",
                record_id=f"6561f0a2c3b4d5e6f7a8{n:04d}",
                name=f"SO-{day:%Y%m%d}-{n:04d}",
                amount=Decimal(gross),
            ),
        ),
        "mapping": MappingRef(name="sales_order", file="mappings/fxiaoke-kingdee/sales_order.yaml", line=1),
    }
    fields.update(overrides)
    return Voucher(**fields)


def receipt(
    n: int,
    amount: str = "500.00",
    account: str = "1002.01",
    group: str = "收",
    day: dt.date = dt.date(2026, 11, 5),
) -> Voucher:
    return Voucher(
        key=f"payment:PaymentObj:5f3a3de57c604a0001{n:06d}",
        book=BOOK,
        date=day,
        group=group,
        summary=f"回款 {day:%Y%m%d}-{n:06d} 北京华辰智能装备有限公司",
        lines=(line(account, "debit", amount), line("1122", "credit", amount, customer="CUST0002")),
        sources=(SourceRef(system="crm", stream="PaymentObj", record_id=f"5f3a3de57c604a0001{n:06d}"),),
        mapping=MappingRef(name="payment"),
    )


def new_ledger(path: Path, **kwargs: Any) -> Ledger:
    return Ledger(path, load_chart(), **kwargs)
