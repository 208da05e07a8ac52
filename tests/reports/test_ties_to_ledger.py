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
