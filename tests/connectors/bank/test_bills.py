"""Alipay and WeChat Pay bills: header names, yuan, backticks, control totals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from connectors.bank.bills import parse_alipay_bill, parse_wechat_bill
from sync.banking import StatementError


def test_alipay_gbk_bill_by_header_name(fixtures: Path) -> None:
    rows = parse_alipay_bill((fixtures / "alipay_trade_20261103.csv").read_bytes(), "a.csv")
    sale, _, refund = rows
    assert (sale.order_ref, sale.amount, sale.fee, sale.net) == (
        "SO-20261103-0042",
        Decimal("1130.00"),
        Decimal("6.78"),
        Decimal("1123.22"),
    )
    assert sale.references == ("2026110322001400001001",)  # trailing tab stripped
    assert (refund.direction, refund.amount, refund.kind) == ("debit", Decimal("565.00"), "refund")


def test_alipay_columns_in_another_order(fixtures: Path) -> None:
    text = (fixtures / "alipay_trade_20261103.csv").read_bytes().decode("gbk")
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("支付宝交易号"))
    import csv
    import io

    table = list(csv.reader(io.StringIO("\n".join(lines[head : head + 4]))))
    swapped = [[r[1], r[0], *r[2:]] for r in table]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(swapped)
    rows = parse_alipay_bill(("\n".join(lines[:head]) + "\n" + buf.getvalue()).encode("utf-8"), "b.csv")
    assert rows[0].order_ref == "SO-20261103-0042"


def test_alipay_total_mismatch_books_nothing(fixtures: Path) -> None:
    data = (
        (fixtures / "alipay_trade_20261103.csv")
        .read_bytes()
        .decode("gbk")
        .replace("共3710.50元", "共3710.05元")
    )
    with pytest.raises(
        StatementError, match=r"c.csv: 交易合计 says 2 笔 / 3710.05 元 but the rows hold 2 笔 / 3710.50"
    ):
        parse_alipay_bill(data.encode("gbk"), "c.csv")


def test_wechat_bill_backticks_and_summary(fixtures: Path) -> None:
    rows = parse_wechat_bill((fixtures / "wechat_all_20261103.csv").read_bytes(), "w.csv")
    assert [(r.direction, r.amount, r.fee) for r in rows] == [
        ("credit", Decimal("3390.00"), Decimal("20.34")),
        ("credit", Decimal("99.90"), Decimal("0.60")),
        ("debit", Decimal("339.00"), Decimal("-2.03")),
    ]
    assert rows[0].order_ref == "SO-20261103-0050"
    assert rows[1].order_ref == "SO-20261103-0051"  # no attach: the merchant order number


def test_wechat_truncated_bill_is_refused(fixtures: Path) -> None:
    text = (fixtures / "wechat_all_20261103.csv").read_text(encoding="utf-8")
    cut = text[: text.index("总交易单数")]
    with pytest.raises(StatementError, match=r"w\.csv: no summary row"):
        parse_wechat_bill(cut.encode(), "w.csv")


def test_wechat_summary_mismatch_is_refused(fixtures: Path) -> None:
    text = (fixtures / "wechat_all_20261103.csv").read_text(encoding="utf-8").replace("`18.91", "`18.19")
    with pytest.raises(StatementError, match=r"手续费总金额 is 18\.19 but the rows add up to 18\.91"):
        parse_wechat_bill(text.encode(), "w.csv")


def test_bill_account_name_comes_from_the_config(tmp_path: Path, fixtures: Path) -> None:
    from connectors.bank.source import BankSource
    from tests.connectors.bank.airbyte_run import run_read

    config = {
        "format": "alipay_bill",
        "path": str(fixtures / "alipay_trade_20261103.csv"),
        "account": "支付宝-2088123456789012",
    }
    result = run_read(BankSource(), config)
    assert {r["account"] for r in result.records} == {"支付宝-2088123456789012"}


def _alipay_text(fixtures: Path) -> str:
    return (fixtures / "alipay_trade_20261103.csv").read_bytes().decode("gbk")


def test_alipay_refund_total_as_real_bills_write_it_is_checked(fixtures: Path) -> None:
    real = _alipay_text(fixtures).replace(
        "#退款合计：1笔，商家实收共-565.00元", "#退款合计：1笔，商家实收退款共-565.00元"
    )
    assert len(parse_alipay_bill(real.encode("gbk"), "r.csv")) == 3
    wrong = real.replace("商家实收退款共-565.00元", "商家实收退款共-0.04元")
    with pytest.raises(
        StatementError, match=r"退款合计 says 1 笔 / -0.04 元 but the rows hold 1 笔 / -565.00"
    ):
        parse_alipay_bill(wrong.encode("gbk"), "r.csv")


def test_an_alipay_control_total_that_cannot_be_read_is_refused_not_skipped(fixtures: Path) -> None:
    odd = _alipay_text(fixtures).replace(
        "#退款合计：1笔，商家实收共-565.00元", "#退款合计：壹笔，共计-565.00元"
    )
    with pytest.raises(StatementError, match=r"control total line '#退款合计：壹笔"):
        parse_alipay_bill(odd.encode("gbk"), "o.csv")


def test_wechat_order_reference_is_the_merchant_order_number_not_the_attach_text(fixtures: Path) -> None:
    text = (fixtures / "wechat_all_20261103.csv").read_text(encoding="utf-8")
    text = text.replace("`软件年费,`SO-20261103-0050,", "`软件年费,`cipher code,")
    first = parse_wechat_bill(text.encode(), "w.csv")[0]
    assert first.order_ref == "SO-20261103-0050" and first.raw["商户数据包"] == "cipher code"
