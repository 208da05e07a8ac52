"""CMB 银企直连 DCTRSINF against the fake gateway: paging, resumption, 借贷, running balance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.bank.source import BankSource
from tests.connectors.bank.airbyte_run import run_read
from tests.fakes.cmb import FakeCmb

ACC = "755912345610901"


def _config(bank: FakeCmb, **extra: Any) -> dict[str, Any]:
    return {
        "format": "cmb",
        "base_url": bank.url,
        "userid": bank.userid,
        "secret": bank.secret,
        "bbknbr": "75",
        "accounts": [ACC],
        "start_date": "2026-11-03",
        "end_date": "2026-11-04",
        **extra,
    }


def _fill(bank: FakeCmb) -> None:
    acc = bank.account(ACC, "20000.00")
    for i in range(7):
        acc.add(
            "20261103",
            amount=f"{1130 + i}.50",
            cdr="C",
            rpynam="上海明远贸易有限公司",
            rpyacc="31001234567890",
            nusage=f"货款 SO-20261103-{i:04d}",
        )
    acc.add("20261103", amount="12.00", cdr="D", busnam="手续费", naryur="跨行汇款手续费")
    acc.add(
        "20261104",
        amount="3000.00",
        cdr="C",
        rpynam="杭州青禾科技有限公司",
        nusage="回款 PAY-20261101-000017",
    )


def test_pages_are_followed_and_every_field_is_normalised() -> None:
    with FakeCmb(page_size=3) as bank:
        _fill(bank)
        result = run_read(BankSource(), _config(bank))
    assert not result.errors
    assert len(result.records) == 9
    assert sum(1 for r in bank.requests if r["body"]["trsdat"] == "20261103") == 3  # 7+1 lines, pages of 3
    first = result.records[0]
    assert first["direction"] == "credit" and first["amount"] == "1130.50"
    assert first["payer_name"] == "上海明远贸易有限公司" and first["payer_account"] == "31001234567890"
    assert first["remittance"] == "货款 SO-20261103-0000"
    assert first["id"] == f"cmb:{ACC}:20261103:K261103000001"
    fee = result.records[7]
    assert fee["direction"] == "debit" and fee["kind"] == "fee"


def test_next_run_resumes_inside_the_last_day() -> None:
    with FakeCmb() as bank:
        _fill(bank)
        first = run_read(BankSource(), _config(bank))
        bank.accounts[ACC].add(
            "20261104", amount="88.80", cdr="C", rpynam="深圳云启电子有限公司", nusage="尾款"
        )
        bank.requests.clear()
        second = run_read(BankSource(), _config(bank), first.state)
    assert [r["amount"] for r in second.records] == ["88.80"]
    assert bank.requests[0]["body"]["trsseq"] == "2"


def test_a_missing_line_breaks_the_running_balance_and_books_nothing_that_day() -> None:
    with FakeCmb() as bank:
        _fill(bank)
        bank.hide_refnbr = "K261103000004"
        result = run_read(BankSource(), _config(bank))
    assert result.records == []
    assert "account 755912345610901 day 2026-11-03" in result.errors[0]
    assert "running balance broken" in result.errors[0]


def test_busy_answers_are_retried() -> None:
    with FakeCmb() as bank:
        _fill(bank)
        bank.busy_next = 2
        result = run_read(BankSource(), _config(bank))
    assert not result.errors and len(result.records) == 9


def test_wrong_signing_key_is_a_configuration_error_without_the_key() -> None:
    with FakeCmb() as bank:
        _fill(bank)
        result = run_read(BankSource(), _config(bank, secret="cmb-wrong-sign-key-0000000000"))
    assert result.records == []
    assert "验签失败" in result.errors[0] and "cmb-wrong-sign-key" not in result.errors[0]


def test_amounts_sum_to_the_fake_balance() -> None:
    with FakeCmb() as bank:
        _fill(bank)
        result = run_read(BankSource(), _config(bank))
    net = sum(Decimal(r["amount"]) * (1 if r["direction"] == "credit" else -1) for r in result.records)
    assert Decimal("20000.00") + net == bank.accounts[ACC].balance


def test_the_gateways_plain_text_refusal_is_a_configuration_error_not_retried() -> None:
    with FakeCmb() as bank:
        _fill(bank)
        bank.plain_text = "CDCServer: 非法请求报文"
        result = run_read(BankSource(), _config(bank))
    assert result.records == [] and len(bank.requests) == 1  # the same request would fail the same way
    assert "the gateway refused the request: CDCServer: 非法请求报文" in result.errors[0]
