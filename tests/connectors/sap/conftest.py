"""Shared vouchers and fakes for the SAP connector tests: a CRM order and its payment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from sync.connector import BuildContext
from sync.model import MappingRef, SourceRef, Voucher, VoucherLine
from tests.fakes.sap_b1 import FakeB1
from tests.fakes.sap_s4 import FakeS4

ACCOUNT_MAP = {
    "1122": {"debtor": True},
    "6001": "41000000",
    "222101": "22210000",
    "1002": "11002000",
}


def order_voucher(
    number: str = "SO-20261101-0007", customer: str = "10100001", gross: str = "11300.00"
) -> Voucher:
    """上海华信贸易有限公司 buys for ¥11,300.00 incl. 13% VAT, confirmed 2026-11-01 (China time)."""
    total = Decimal(gross)
    net = (total / Decimal("1.13")).quantize(Decimal("0.01"))
    return Voucher(
        key=f"fx-orders:SalesOrderObj:{number}",
        book="1010",
        date=dt.date(2026, 11, 1),
        group="记",
        summary=f"销售订单 {number} 上海华信贸易有限公司",
        lines=(
            VoucherLine(
                account="1122", side="debit", amount=total, dims={"customer": customer}, memo=f"应收 {number}"
            ),
            VoucherLine(
                account="6001",
                side="credit",
                amount=net,
                dims={"profit_center": "YB101"},
                memo="主营业务收入",
            ),
            VoucherLine(
                account="222101", side="credit", amount=total - net, dims={"tax_code": "A1"}, memo="销项税额"
            ),
        ),
        sources=(
            SourceRef(
                system="crm", stream="SalesOrderObj", record_id="65f0c1a2e4b0", name=number, amount=total
            ),
        ),
        mapping=MappingRef(name="order_confirmed", file="mappings/fxiaoke-sap/order.yaml", line=1),
    )


def payment_voucher(
    number: str = "PAY-20261103-0042", customer: str = "10100001", amount: str = "11300.00"
) -> Voucher:
    """The customer's bank transfer of ¥11,300.00 received 2026-11-03."""
    value = Decimal(amount)
    return Voucher(
        key=f"fx-payments:PaymentObj:{number}",
        book="1010",
        date=dt.date(2026, 11, 3),
        group="收",
        summary=f"回款 {number} 上海华信贸易有限公司",
        lines=(
            VoucherLine(
                account="1002",
                side="debit",
                amount=value,
                dims={"bank_account": "招商银行 0755"},
                memo="银行存款",
            ),
            VoucherLine(
                account="1122",
                side="credit",
                amount=value,
                dims={"customer": customer},
                memo=f"收款 {number}",
            ),
        ),
        sources=(
            SourceRef(system="crm", stream="PaymentObj", record_id="65f0c1a2e4c7", name=number, amount=value),
        ),
        mapping=MappingRef(name="payment_received", file="mappings/fxiaoke-sap/payment.yaml", line=1),
    )


@pytest.fixture
def ctx(tmp_path: Path) -> BuildContext:
    return BuildContext(name="erp", base_dir=tmp_path, work_dir=tmp_path / ".crmsync")


@pytest.fixture
def fake_s4() -> Iterator[FakeS4]:
    with FakeS4() as fake:
        yield fake


@pytest.fixture
def fake_b1() -> Iterator[FakeB1]:
    with FakeB1() as fake:
        yield fake
