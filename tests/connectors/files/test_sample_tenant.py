"""The sample tenant in examples/ is what its README promises, and what the mappings expect."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from sync.dates import date_from_epoch_ms

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


def records(stream: str) -> list[dict[str, Any]]:
    text = (EXAMPLES / "crm" / f"{stream}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_the_committed_files_are_what_the_seeded_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("examples_generate", EXAMPLES / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for rel, text in module.render(module.generate()).items():
        assert (EXAMPLES / rel).read_text(encoding="utf-8") == text, f"{rel}: run examples/generate.py"


def test_orders_are_november_2026_in_china_time_with_amounts_in_cents() -> None:
    orders = records("SalesOrderObj")
    assert len(orders) >= 60
    for o in orders:
        assert date_from_epoch_ms(o["order_time"]).strftime("%Y-%m") == "2026-11"
        assert re.fullmatch(r"SO-202611\d\d-\d{4}", o["name"])
        assert "order_amount" not in o or re.fullmatch(r"\d+\.\d\d", o["order_amount"])
    assert any(not o["order_amount"].endswith(".00") for o in orders if "order_amount" in o)


def test_exactly_one_order_is_voided_and_exactly_one_lacks_its_amount() -> None:
    orders = records("SalesOrderObj")
    assert Counter(o["life_status"] for o in orders) == {"normal": len(orders) - 1, "invalid": 1}
    assert sum("order_amount" not in o for o in orders) == 1


def test_payments_include_partial_payments_and_advances_with_known_methods() -> None:
    payments = records("PaymentObj")
    assert len(payments) >= 60
    assert {p["payment_term"] for p in payments} <= {"1", "2", "3", "4"}
    per_order = Counter(p["order_id"] for p in payments if p["order_id"])
    assert any(n >= 2 for n in per_order.values())
    assert any(not p["order_id"] for p in payments)
    amounts = {o["_id"]: o.get("order_amount") for o in records("SalesOrderObj")}
    assert any(p["order_id"] and p["payment_amount"] != amounts[p["order_id"]] for p in payments)


def test_every_reference_points_at_a_record_of_the_tenant() -> None:
    accounts = {a["_id"]: a["name"] for a in records("AccountObj")}
    orders = {o["_id"] for o in records("SalesOrderObj")}
    for stream in ("SalesOrderObj", "PaymentObj", "RefundObj", "InvoiceApplicationObj"):
        for r in records(stream):
            assert accounts[r["account_id"]] == r["account_id__r"]
            assert not r.get("order_id") or r["order_id"] in orders
    invoices = {i["_id"] for i in records("InvoiceApplicationObj")}
    assert all(ln["invoice_id"] in invoices for ln in records("InvoiceApplicationLinesObj"))


def test_invoice_lines_split_13_percent_vat_to_the_cent() -> None:
    for ln in records("InvoiceApplicationLinesObj"):
        gross = Decimal(ln["invoiced_amount"])
        net = (gross / Decimal("1.13")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert (ln["tax_rate"], Decimal(ln["tax_amount"])) == ("13", gross - net)


@pytest.mark.parametrize(
    "csv_path", ["examples/lookups/customers.csv", "mappings/fxiaoke-kingdee/lookups/customers.csv"]
)
def test_every_customer_has_an_erp_code_in_the_lookups(csv_path: str) -> None:
    path = ROOT / csv_path
    if not path.exists():
        pytest.skip(f"{csv_path} is not in this checkout")
    with path.open(encoding="utf-8") as fh:
        codes = {row["crm_account_id"]: row["erp_customer_code"] for row in csv.DictReader(fh)}
    for acct in records("AccountObj"):
        assert re.fullmatch(r"CUST\d{4}", codes[acct["_id"]])


def test_refunds_follow_their_payment() -> None:
    for r in records("RefundObj"):
        assert r["refunded_method"] in {"1", "2", "3", "4"}
        assert date_from_epoch_ms(r["refunded_time"]) <= dt.date(2026, 11, 30)
