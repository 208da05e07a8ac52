"""``crmsync preview``: vouchers as a table or JSON lines; failures listed; counts add up."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_validate import ORDER, PAYMENT, make_tenant, run

VOIDED = {**ORDER, "_id": "65a1f0c2e4b0a1000001aaa9", "name": "SO-20261103-0009", "life_status": "invalid"}
REVIEW = {
    **ORDER,
    "_id": "65a1f0c2e4b0a1000001aaa8",
    "name": "SO-20261103-0008",
    "life_status": "under_review",
}
NO_AMOUNT = {k: v for k, v in ORDER.items() if k != "order_amount"} | {"_id": "65a1f0c2e4b0a1000001aaa7"}


def _counts(err: str) -> dict[str, int]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return next(obj["counts"] for obj in lines if "counts" in obj)


def test_json_is_one_voucher_per_line_in_the_documented_shape(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [ORDER], [PAYMENT])
    code, out, err = run("preview", "-c", str(config), "--format", "json")
    assert code == 0, err
    vouchers = [json.loads(line) for line in out.splitlines()]
    assert len(vouchers) == 2
    order = next(v for v in vouchers if v["source"]["stream"] == "SalesOrderObj")
    assert {"key", "revision", "book", "date", "summary", "currency", "source", "lines"} <= set(order)
    assert order["date"] == "2026-11-03" and order["currency"] == "CNY"
    assert order["source"] == {"system": "crm", "stream": "SalesOrderObj", "id": "65a1f0c2e4b0a1000001aaa1"}
    assert order["lines"] == [
        {
            "account": "1122",
            "debit": "1130.00",
            "credit": "0.00",
            "currency": "CNY",
            "dims": {"customer": "CUST0001"},
            "memo": "销售订单 SO-20261103-0001 上海明远信息科技有限公司",
        },
        {
            "account": "6001",
            "debit": "0.00",
            "credit": "1000.00",
            "currency": "CNY",
            "dims": {},
            "memo": "销售订单 SO-20261103-0001 上海明远信息科技有限公司",
        },
        {
            "account": "2221.01.05",
            "debit": "0.00",
            "credit": "130.00",
            "currency": "CNY",
            "dims": {},
            "memo": "销售订单 SO-20261103-0001 上海明远信息科技有限公司",
        },
    ]


def test_read_equals_mapped_plus_skipped_plus_failed_and_failures_are_listed(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [ORDER, VOIDED, REVIEW, NO_AMOUNT], [PAYMENT])
    code, out, err = run("preview", "-c", str(config), "--format", "json")
    assert code == 1
    counts = _counts(err)
    assert counts == {"read": 5, "mapped": 2, "skipped": 2, "voided": 1, "failed": 1}
    assert counts["read"] == counts["mapped"] + counts["skipped"] + counts["failed"]
    assert len(out.splitlines()) == 2
    failed = [json.loads(line)["failed"] for line in err.splitlines() if line.startswith('{"failed"')]
    assert [f["record_id"] for f in failed] == ["65a1f0c2e4b0a1000001aaa7"]
    assert failed[0]["where"].endswith("sales_order_confirmed.yaml:24:3")
    assert (
        "field 'order_amount' is missing" in failed[0]["reason"]
        and failed[0]["mapping"] == "sales_order_confirmed"
    )


def test_table_shows_lines_and_the_counts(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [ORDER, NO_AMOUNT], [PAYMENT])
    code, out, _ = run("preview", "-c", str(config))
    assert code == 1
    assert "2026-11-03  记  销售订单 SO-20261103-0001 上海明远信息科技有限公司" in out
    assert "  2221.01.05            130.00" in out
    assert "  1012.01  565.00" in out
    assert "failed records (1):" in out and "record 65a1f0c2e4b0a1000001aaa7 (crm/SalesOrderObj):" in out
    assert out.rstrip().endswith("read 3: mapped 2, skipped by rule 0, failed 1; vouchers 2")


def test_stream_and_limit_select_what_is_read(tmp_path: Path) -> None:
    payments = [
        {**PAYMENT, "_id": f"4f07734fc112cf99f40c31{i:02d}", "name": f"20261104-0000{i:02d}"}
        for i in range(5)
    ]
    config = make_tenant(tmp_path, [ORDER], payments)
    code, out, err = run(
        "preview", "-c", str(config), "--stream", "PaymentObj", "--limit", "3", "--format", "json"
    )
    assert code == 0
    assert [json.loads(line)["source"]["id"] for line in out.splitlines()] == [p["_id"] for p in payments[:3]]
    assert _counts(err)["read"] == 3


def test_unknown_stream_is_a_configuration_error(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [ORDER])
    code, _, err = run("preview", "-c", str(config), "--stream", "PaymentObject")
    assert code == 2 and "no mapping reads stream 'PaymentObject'" in err and "crm/PaymentObj" in err


def test_summarised_mapping_previews_one_voucher_per_group(tmp_path: Path) -> None:
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "daily.yaml").write_text(
        "version: 1\nname: daily_receipts\nsource: crm\nstream: PaymentObj\n"
        'voucher: {book: "001", date: date(payment_time), group: 收, summary: "回款 {{ name }}"}\n'
        "summarise: {by: {day: date(payment_time)}, summary: '{{ day }} 回款汇总'}\n"
        "lines:\n"
        '  - {account: "1002.01", debit: amount(payment_amount)}\n'
        '  - {account: "1122", credit: amount(payment_amount), dims: {customer: "{{ account_id }}"}}\n',
        encoding="utf-8",
    )
    payments = [
        {**PAYMENT, "_id": f"p{i}", "payment_amount": amount} for i, amount in enumerate(["0.10", "0.20"])
    ]
    config = make_tenant(tmp_path, [], payments, mappings="mappings/*.yaml")
    code, out, err = run("preview", "-c", str(config), "--format", "json")
    assert code == 0, err
    (voucher,) = [json.loads(line) for line in out.splitlines()]
    assert voucher["summary"] == "2026-11-04 回款汇总" and voucher["sources"] == 2
    assert [ln["debit"] for ln in voucher["lines"]] == ["0.30", "0.00"]


def test_lines_the_ledger_would_refuse_fail_in_preview(tmp_path: Path) -> None:
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "loose.yaml").write_text(
        "version: 1\nname: loose\nsource: crm\nstream: PaymentObj\n"
        'voucher: {book: "001", date: date(payment_time), summary: "回款 {{ name }}"}\n'
        "lines:\n"
        '  - {account: "1002", debit: amount(payment_amount)}\n'
        '  - {account: "1122", credit: amount(payment_amount)}\n',
        encoding="utf-8",
    )
    config = make_tenant(tmp_path, [], [PAYMENT], mappings="mappings/*.yaml")
    code, out, _ = run("preview", "-c", str(config))
    assert code == 1
    assert "the destination would refuse this voucher: line 1 account 1002 银行存款 has sub-accounts" in out
    assert "line 2 account 1122 应收账款 requires the dimension customer" in out
    assert "read 1: mapped 0, skipped by rule 0, failed 1" in out


EUROPEAN = {**ORDER, "order_amount": "1.130,00"}


def test_a_european_amount_fails_naming_the_field_and_the_source_option(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [EUROPEAN])
    code, out, _err = run("preview", "-c", str(config))
    assert code == 1
    assert "order_amount: '1.130,00' is not a decimal amount" in out
    assert "decimal_separator: ','" in out
    assert "read 1: mapped 0, skipped by rule 0, failed 1" in out


def test_a_source_that_declares_decimal_commas_is_read_exactly(tmp_path: Path) -> None:
    config = make_tenant(tmp_path, [EUROPEAN])
    text = config.read_text(encoding="utf-8").replace(
        "{type: files, path: crm}", '{type: files, path: crm, decimal_separator: ",", grouping: western}'
    )
    config.write_text(text, encoding="utf-8")
    code, out, err = run("preview", "-c", str(config), "--format", "json")
    assert code == 0, err
    [voucher] = [json.loads(line) for line in out.splitlines()]
    assert [ln["debit"] for ln in voucher["lines"]] == ["1130.00", "0.00", "0.00"]
    assert [ln["credit"] for ln in voucher["lines"]] == ["0.00", "1000.00", "130.00"]
