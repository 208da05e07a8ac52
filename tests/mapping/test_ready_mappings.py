"""The shipped fxiaoke-kingdee mappings on the sample tenant in examples/crm."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from sync.mapping import MappingSet
from sync.mapping.api import RecordResult

ROOT = Path(__file__).resolve().parents[2]
READY = ROOT / "mappings" / "fxiaoke-kingdee"
EXAMPLES = ROOT / "examples" / "crm"


def _chart() -> set[str] | None:
    try:
        from connectors.ledger.chart import load_chart
    except ImportError:  # pragma: no cover - the ledger ships with crmsync
        return None
    return set(load_chart().accounts)


@pytest.fixture(scope="module")
def ready() -> MappingSet:
    return MappingSet.load(sorted(READY.glob("*.yaml")), base_dir=ROOT, accounts=_chart())


def _map_all(ms: MappingSet, stream: str) -> list[RecordResult]:
    path = EXAMPLES / f"{stream}.jsonl"
    if not path.exists():
        pytest.skip(f"sample data {path} not present")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        out.extend(ms.map_record("crm", stream, json.loads(line)))
    return out


def _outcome(r: RecordResult) -> str:
    return "failed" if r.error else "voided" if r.voided else "skipped" if r.skipped else "mapped"


def test_ready_mappings_load_against_the_ledger_chart(ready: MappingSet) -> None:
    assert {m.name for m in ready.mappings} == {
        "sales_order_confirmed",
        "payment_received",
        "refund_paid",
        "invoice_issued",
    }
    assert ready.streams() == {"crm": {"SalesOrderObj", "PaymentObj", "RefundObj", "InvoiceApplicationObj"}}


def test_sales_order_books_receivable_revenue_and_13_percent_vat(ready: MappingSet) -> None:
    record = {
        "_id": "221b63d91f7937d7b40588fe",
        "name": "SO-20261101-0001",
        "life_status": "normal",
        "account_id": "faa711825b846c6b7287728e",
        "account_id__r": "西安秦川软件技术有限公司",
        "order_time": 1793462400000,
        "order_amount": "97226.45",
        "is_deleted": False,
    }
    (result,) = ready.map_record("crm", "SalesOrderObj", record)
    (v,) = result.vouchers
    assert (
        v.date.isoformat() == "2026-11-01"
        and v.summary == "销售订单 SO-20261101-0001 西安秦川软件技术有限公司"
    )
    assert [(ln.account, ln.side.value, str(ln.amount), ln.dims) for ln in v.lines] == [
        ("1122", "debit", "97226.45", (("customer", "CUST0012"),)),
        ("6001", "credit", "86041.11", ()),
        ("2221.01.05", "credit", "11185.34", ()),
    ]
    assert v.source.name == "SO-20261101-0001" and v.source.amount == Decimal("97226.45")


def test_sample_orders_map_except_the_voided_and_the_one_without_amount(ready: MappingSet) -> None:
    results = _map_all(ready, "SalesOrderObj")
    counts = Counter(_outcome(r) for r in results)
    assert counts == {"mapped": 62, "voided": 1, "failed": 1}
    (failed,) = [r for r in results if r.error]
    assert failed.error is not None and failed.error.field == "order_amount"
    assert "sales_order_confirmed.yaml:" in failed.error.render() and "missing" in failed.error.message


@pytest.mark.parametrize(
    ("term", "account"),
    [("1", "1002.01"), ("2", "1012.01"), ("3", "1012.02"), ("4", "1001"), ("9", "1002.01")],
    ids=["bank transfer", "alipay", "wechat", "cash", "unknown method -> basic account"],
)
def test_payment_debits_the_account_of_its_payment_method(ready: MappingSet, term: str, account: str) -> None:
    record = {
        "_id": "4f07734fc112cf99f40c31b0",
        "name": "20261101-000001",
        "life_status": "normal",
        "account_id": "07e998012c1137decdf3efbb",
        "payment_time": 1793462400000,
        "payment_amount": "1,000.10",
        "payment_term": term,
    }
    (result,) = ready.map_record("crm", "PaymentObj", record)
    (v,) = result.vouchers
    assert [(ln.account, ln.side.value, str(ln.amount), ln.dims) for ln in v.lines] == [
        (account, "debit", "1000.10", ()),
        ("1122", "credit", "1000.10", (("customer", "CUST0001"),)),
    ]
    assert v.group == "收"


def test_refund_is_the_reverse_of_a_payment(ready: MappingSet) -> None:
    record = {
        "_id": "70e970d609820ca0d2829438",
        "name": "TK-20261118-0003",
        "life_status": "normal",
        "account_id": "07e998012c1137decdf3efbb",
        "refunded_amount": "5734.20",
        "refunded_time": 1794931200000,
        "refunded_method": "2",
    }
    (result,) = ready.map_record("crm", "RefundObj", record)
    (v,) = result.vouchers
    assert [(ln.account, ln.side.value, str(ln.amount)) for ln in v.lines] == [
        ("1122", "debit", "5734.20"),
        ("1012.01", "credit", "5734.20"),
    ]
    assert v.group == "付" and v.date.isoformat() == "2026-11-18"


def test_invoice_for_an_order_is_skipped_and_a_standalone_invoice_books_revenue(ready: MappingSet) -> None:
    base = {
        "_id": "9f51b44113a0fe1a1a777d9c",
        "name": "KP-20261116-0001",
        "life_status": "normal",
        "account_id": "07e998012c1137decdf3efbb",
        "invoice_applied_amount": "113.00",
        "invoice_date": 1794758400000,
        "invoice_no": "04400260011",
        "invoice_title": "上海明远信息科技有限公司",
    }
    (linked,) = ready.map_record(
        "crm", "InvoiceApplicationObj", {**base, "order_id": "7931904e0e21ed32cd14f3c5"}
    )
    assert linked.skipped and "has('order_id')" in linked.skip_reason
    (alone,) = ready.map_record("crm", "InvoiceApplicationObj", base)
    (v,) = alone.vouchers
    assert [(ln.account, str(ln.amount)) for ln in v.lines] == [
        ("1122", "113.00"),
        ("6051", "100.00"),
        ("2221.01.05", "13.00"),
    ]
    assert v.source.name == "04400260011"


def test_sample_payments_refunds_and_invoices_all_have_an_outcome(ready: MappingSet) -> None:
    for stream in ("PaymentObj", "RefundObj", "InvoiceApplicationObj"):
        results = _map_all(ready, stream)
        assert results and not [r.error for r in results if r.error]


def test_a_record_the_source_could_not_read_fails_for_every_mapping(ready: MappingSet) -> None:
    from sync.connector import problem_record

    record = problem_record(
        "line 17 is not JSON: Expecting ',' delimiter", '{"_id": "x" "name"', "SalesOrderObj.jsonl:17"
    )
    (result,) = ready.map_record("crm", "SalesOrderObj", record)
    assert result.error is not None and result.record_id == "SalesOrderObj.jsonl:17"
    assert "could not read this record: line 17 is not JSON" in result.error.message


def test_lookups_dir_overrides_the_shipped_csv(tmp_path: Path) -> None:
    (tmp_path / "lookups").mkdir()
    (tmp_path / "lookups" / "bank_accounts.csv").write_text(
        "payment_term,account\n2,1002.02\n", encoding="utf-8"
    )
    ms = MappingSet.load([READY / "payment_received.yaml"], base_dir=ROOT, lookups_dir=tmp_path)
    record = {
        "_id": "p",
        "name": "n",
        "life_status": "normal",
        "account_id": "a",
        "payment_time": 1793462400000,
        "payment_amount": "1.00",
        "payment_term": "2",
    }
    (result,) = ms.map_record("crm", "PaymentObj", record)
    assert result.vouchers[0].lines[0].account == "1002.02"
