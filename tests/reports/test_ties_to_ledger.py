"""The aging ties to the ledger: after the sample sync, each customer's net receivable in the
aging equals the balance of 1122 with that customer's dimension, to the cent.

The ledger side is read straight from ledger.db with SQL and the customers CSV the mappings
use; the aging side through the report code. A refund (Dr 1122) must be in both.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import sqlite3
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from sync.config import load_config
from sync.reports.aging import aging_rows
from sync.reports.inputs import crm_book, reports_config
from sync.reports.receivables import receivables
from tests.engine.tenant import crmsync

REPO = Path(__file__).resolve().parents[2]
FAR = dt.date(2030, 12, 31)


def _sample(tmp_path: Path) -> Path:
    for part in ("examples", "mappings"):
        shutil.copytree(REPO / part, tmp_path / part)
    shutil.copy(REPO / "config.example.yaml", tmp_path / "config.yaml")
    return tmp_path / "config.yaml"


def _ledger_1122_by_customer(ledger: Path) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(lambda: Decimal(0))
    with sqlite3.connect(ledger) as conn:
        for minor_debit, minor_credit, dims in conn.execute(
            "SELECT debit_minor, credit_minor, dims FROM lines WHERE account = '1122'"
        ):
            customer = dict(json.loads(dims)).get("customer", "")
            out[customer] += Decimal(minor_debit - minor_credit) / 100
    return {k: v for k, v in out.items() if v}


def test_the_sample_aging_equals_the_ledgers_receivable_per_customer(tmp_path: Path) -> None:
    config_path = _sample(tmp_path)
    synced = crmsync("sync", "-c", str(config_path), "--format", "json")
    assert (
        synced.summary["posted"] == 149 and synced.summary["quarantined"] == 1
    )  # the sample's one bad record
    with (tmp_path / "mappings/fxiaoke-kingdee/lookups/customers.csv").open(encoding="utf-8") as fh:
        code_of = {row["crm_account_id"]: row["erp_customer_code"] for row in csv.DictReader(fh)}
    config = load_config(config_path)
    book, _, errors = crm_book(config, reports_config(config))
    assert errors == []
    aging = {code_of.get(r.account_id, r.account_id): r.net for r in aging_rows(receivables(book, FAR), book)}
    ledger = _ledger_1122_by_customer(tmp_path / ".crmsync/ledger.db")
    assert {k: v for k, v in aging.items() if v} == ledger
    assert any(r.amount for r in book.refunds.values())  # the sample's refunds are in both


def _tie_out(config_path: Path) -> list[dict[str, object]]:
    result = crmsync(
        "report", "aging", "-c", str(config_path), "--as-of", "2030-12-31", "--format", "json", "-o", "-"
    )
    assert result.exit_code == 0, result.stderr[-2000:]
    rows: list[dict[str, object]] = result.summary["tables"]["tie_out"]["rows"]  # type: ignore[index]
    return [r for r in rows if r["account_id"]]  # the totals row has none


def test_the_aging_report_ties_every_customer_to_the_books(tmp_path: Path) -> None:
    config_path = _sample(tmp_path)
    crmsync("sync", "-c", str(config_path))
    rows = _tie_out(config_path)
    assert rows and all(Decimal(str(r["difference"])) == 0 and r["cause"] == "" for r in rows)
    ledger = _ledger_1122_by_customer(tmp_path / ".crmsync/ledger.db")
    assert {str(r["erp_code"]): Decimal(str(r["books"])) for r in rows if Decimal(str(r["books"]))} == ledger


def test_vouchers_awaiting_approval_explain_the_difference(tmp_path: Path) -> None:
    config_path = _sample(tmp_path)
    payment = tmp_path / "mappings/fxiaoke-kingdee/payment_received.yaml"
    payment.write_text(
        payment.read_text(encoding="utf-8").replace("source: crm\n", "source: crm\napproval: required\n"),
        encoding="utf-8",
    )
    crmsync("sync", "-c", str(config_path))
    differing = [r for r in _tie_out(config_path) if Decimal(str(r["difference"]))]
    assert differing
    for r in differing:  # the payments wait for approval: in the aging, not yet in the books
        assert Decimal(str(r["difference"])) == Decimal(str(r["not_yet_posted"]))
        assert "not yet posted" in str(r["cause"]) and "unexplained" not in str(r["cause"])


def test_quarantined_records_are_named_as_the_cause(tmp_path: Path) -> None:
    config_path = _sample(tmp_path)
    folder = tmp_path / "mappings/fxiaoke-kingdee"
    orders = folder / "sales_order_confirmed.yaml"  # a customer missing from the lookup is an error
    orders.write_text(
        orders.read_text(encoding="utf-8").replace("on_missing: default", "on_missing: error", 1),
        encoding="utf-8",
    )
    lookup = folder / "lookups/customers.csv"
    header, first, *rest = lookup.read_text(encoding="utf-8").splitlines()
    lookup.write_text("\n".join([header, *rest]) + "\n", encoding="utf-8")
    missing = first.split(",")[0]
    crmsync("sync", "-c", str(config_path))
    rows = {str(r["account_id"]): r for r in _tie_out(config_path)}
    row = rows[missing]
    assert Decimal(str(row["difference"])) > 0 and "quarantined: SalesOrderObj" in str(row["cause"])
    others = [r for a, r in rows.items() if a != missing]
    assert all(Decimal(str(r["difference"])) == 0 for r in others)
