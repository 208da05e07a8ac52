"""Shared pieces for the Kingdee tests: realistic vouchers, the fake site, a destination on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from connectors.kingdee.destination import KingdeeDestination
from connectors.kingdee.factory import Config, build
from sync.connector import BuildContext
from sync.model import MappingRef, SourceRef, Voucher, VoucherLine
from tests.fakes.kingdee import FakeKingdee

APP_ID = "224466_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
APP_SECRET = "0123456789abcdef0123456789abcdef"

#: the chart the fake knows: account -> dimensions it requires
ACCOUNTS: dict[str, tuple[str, ...]] = {
    "1002": (),
    "1122": ("FFLEX6",),
    "6001": (),
    "2221.01.05": (),
    "6603": (),
}
CUSTOMERS = ("CUST0001", "CUST0002", "CUST0003")


def order_voucher(
    number: int = 123,
    customer: str = "CUST0001",
    gross: str = "11300.00",
    net: str = "10000.00",
    tax: str = "1300.00",
    day: dt.date = dt.date(2025, 6, 18),
) -> Voucher:
    """A CRM order recognised: Dr 1122 应收 (customer) / Cr 6001 收入 / Cr 2221.01.05 销项税."""
    so = f"CRM-SO-2025-{number:06d}"
    return Voucher(
        key=f"order-confirmed:SalesOrderObj:64f1a2b3c4d5e6f7a8b9{number:04d}",
        book="main",
        date=day,
        summary=f"{so} 确认收入 上海某某科技有限公司",
        lines=(
            VoucherLine(
                account="1122",
                side="debit",
                amount=Decimal(gross),
                dims={"customer": customer},
                memo=f"{so} 确认收入 上海某某科技有限公司",
            ),
            VoucherLine(
                account="6001", side="credit", amount=Decimal(net), memo=f"{so} 确认收入 上海某某科技有限公司"
            ),
            VoucherLine(account="2221.01.05", side="credit", amount=Decimal(tax), memo=f"{so} 销项税额"),
        ),
        sources=(
            SourceRef(
                system="crm",
                stream="SalesOrderObj",
                record_id=f"64f1a2b3c4d5e6f7a8b9{number:04d}",
                name=so,
                amount=Decimal(gross),
            ),
        ),
        mapping=MappingRef(
            name="order-confirmed", file="mappings/fxiaoke-kingdee/order-confirmed.yaml", line=3
        ),
    )


def payment_voucher(
    number: int = 77,
    customer: str = "CUST0001",
    amount: str = "11300.00",
    day: dt.date = dt.date(2025, 6, 25),
) -> Voucher:
    """A payment received: Dr 1002 银行存款 / Cr 1122 应收 (customer)."""
    pay = f"CRM-PAY-2025-{number:06d}"
    return Voucher(
        key=f"payment-received:PaymentObj:7a1c{number:04d}",
        book="main",
        date=day,
        summary=f"{pay} 收到货款 上海某某科技有限公司",
        lines=(
            VoucherLine(account="1002", side="debit", amount=Decimal(amount), memo=f"{pay} 招商银行收款"),
            VoucherLine(
                account="1122",
                side="credit",
                amount=Decimal(amount),
                dims={"customer": customer},
                memo=f"{pay} 冲应收 上海某某科技有限公司",
            ),
        ),
        sources=(
            SourceRef(
                system="crm",
                stream="PaymentObj",
                record_id=f"7a1c{number:04d}",
                name=pay,
                amount=Decimal(amount),
            ),
        ),
        mapping=MappingRef(
            name="payment-received", file="mappings/fxiaoke-kingdee/payment-received.yaml", line=3
        ),
    )


def config_for(fake: FakeKingdee, **overrides: Any) -> Config:
    values: dict[str, Any] = {
        "type": "kingdee",
        "base_url": fake.url,
        "acct_id": fake.acct_id,
        "username": fake.username,
        "app_id": fake.app_id,
        "app_secret": fake.app_secret,
        "account_book": "001",
        "timeout_seconds": 1.0,
    }
    values.update(overrides)
    return Config.model_validate(values)


def destination_for(fake: FakeKingdee, tmp_path: Any = None, **overrides: Any) -> KingdeeDestination:
    from pathlib import Path

    return build(config_for(fake, **overrides), BuildContext(name="kingdee", base_dir=Path(tmp_path or ".")))


@pytest.fixture
def fake() -> Iterator[FakeKingdee]:
    with FakeKingdee(accounts=ACCOUNTS, customers=CUSTOMERS, timeout_delay=1.5) as site:
        yield site
