"""End to end: the sample tenant → ``crmsync sync`` (a real subprocess) → fake S/4HANA / B1.

The fakes answer 20% of posts with a fault — 503, 500, a reset before or after processing,
and a hang past the client's timeout *after* the document was posted (plus a lost session on
B1) — and the sync process is SIGKILLed at random points. Afterwards every voucher is in the
fake exactly once, every document balances with the right signs, and the fake's totals per
account equal the totals computed straight from the source records.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sync.cli import cli
from tests.e2e.support import (
    B1_MAP,
    CANONICAL_ACCOUNTS,
    CRMSYNC,
    ERP_SECRETS,
    FAST_RETRIES,
    ROOT,
    S4_MAP,
    b1_destination,
    kill_after_progress,
    s4_destination,
    write_config,
)
from tests.fakes.sap_b1 import FAULTS as B1_FAULTS
from tests.fakes.sap_b1 import FakeB1
from tests.fakes.sap_s4 import FAULTS as S4_FAULTS
from tests.fakes.sap_s4 import FakeS4

MAPPINGS = ROOT / "mappings" / "fxiaoke-kingdee"
EXAMPLES = ROOT / "examples" / "crm"
CUSTOMER_CSV = MAPPINGS / "lookups" / "customers.csv"
BANK_CSV = MAPPINGS / "lookups" / "bank_accounts.csv"
STREAMS = ("SalesOrderObj", "PaymentObj")
KILLS = 2

#: every fault kind, posted-then-timed-out twice as likely as the others
WEIGHTED_S4 = ("hang_after_post", *S4_FAULTS)
WEIGHTED_B1 = ("hang_after_post", *B1_FAULTS)


def customer_codes() -> dict[str, str]:
    with open(CUSTOMER_CSV, encoding="utf-8") as fh:
        return {row["crm_account_id"]: row["erp_customer_code"] for row in csv.DictReader(fh)}


def bank_accounts() -> dict[str, str]:
    with open(BANK_CSV, encoding="utf-8") as fh:
        return {row["payment_term"]: row["account"] for row in csv.DictReader(fh)}


def records(stream: str) -> list[dict[str, Any]]:
    lines = (EXAMPLES / f"{stream}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def source_totals() -> dict[str, Decimal]:
    """Debit minus credit per canonical account (customers as ``customer:<code>``), from the records.

    Revenue and output VAT are summed as one ``sales`` figure: their split is the mapping's
    tax rule, while the sum is exactly the gross amount of each order.
    """
    codes, banks = customer_codes(), bank_accounts()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for order in records("SalesOrderObj"):
        if order["life_status"] == "normal" and "order_amount" in order:
            gross = Decimal(order["order_amount"])
            totals[f"customer:{codes.get(order['account_id'], order['account_id'])}"] += gross
            totals["sales"] -= gross
    for pay in records("PaymentObj"):
        if pay["life_status"] == "normal":
            amount = Decimal(pay["payment_amount"])
            totals[banks.get(pay["payment_term"], "1002.01")] += amount
            totals[f"customer:{codes.get(pay['account_id'], pay['account_id'])}"] -= amount
    return {k: v for k, v in totals.items() if v}


def expected_vouchers() -> int:
    """Normal records with an amount (the sample tenant has one order without: quarantined)."""
    amount = {"SalesOrderObj": "order_amount", "PaymentObj": "payment_amount"}
    return sum(1 for s in STREAMS for r in records(s) if r["life_status"] == "normal" and amount[s] in r)


def write_setup(root: Path, destination: dict[str, Any]) -> Path:
    """A config reading the sample tenant (orders and payments) with the shipped mappings."""
    data = root / "data"
    data.mkdir(parents=True)
    for stream in STREAMS:
        shutil.copy(EXAMPLES / f"{stream}.jsonl", data / f"{stream}.jsonl")
    mappings = root / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    return write_config(
        root / "config.yaml",
        state={"url": "sqlite:///" + str(root / "state.db"), "lock_timeout_seconds": 5},
        sources={
            "crm": {"type": "files", "path": "data", "streams": list(STREAMS), "checkpoint_interval": 10}
        },
        destination=destination,
        mappings=[str(mappings / "sales_order_confirmed.yaml"), str(mappings / "payment_received.yaml")],
    )


ENV = {**ERP_SECRETS, **FAST_RETRIES}


def sync_args(config: Path) -> list[str]:
    return ["sync", "-c", str(config), "--format", "json"]


def kill_at_random_points(config: Path, progress: Callable[[], int], rng: random.Random, kills: int) -> int:
    """Run ``crmsync sync`` as a process and SIGKILL it after 1-25 more ERP documents (or 40 s)."""
    return kill_after_progress(
        [*CRMSYNC, *sync_args(config)],
        env={**os.environ, **ENV},
        cwd=ROOT,
        progress=progress,
        rng=rng,
        kills=kills,
        most=25,
        seconds=40,
    )


def run_in_process(config: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``crmsync sync`` in this process (airbyte_cdk is imported once per test session)."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, sync_args(config), catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output[-3000:]
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def run_until_done(config: Path, monkeypatch: pytest.MonkeyPatch, *, limit: int = 6) -> dict[str, Any]:
    """Runs until nothing waits and nothing failed (the one quarantined record stays)."""
    summary: dict[str, Any] = {}
    for _ in range(limit):
        summary = run_in_process(config, monkeypatch)
        if not summary["vouchers_pending"] and not summary["failed"] and not summary["vouchers_failed"]:
            return summary
    return summary


def canonical_totals(fake_totals: dict[str, Decimal], account_map: dict[str, Any]) -> dict[str, Decimal]:
    """The fake's totals keyed back by canonical account; revenue + VAT merged as ``sales``."""
    back = {v: k for k, v in account_map.items() if isinstance(v, str)}
    out: dict[str, Decimal] = defaultdict(Decimal)
    for account, amount in fake_totals.items():
        canonical = back.get(account, account)
        out["sales" if canonical in ("6001", "2221.01.05") else canonical] += amount
    return {k: v for k, v in out.items() if v}


@pytest.mark.slow
def test_s4_every_voucher_exactly_once_under_faults_and_kills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = set(customer_codes().values())
    fake = FakeS4(
        accounts=[v for v in S4_MAP.values() if isinstance(v, str)],
        customers=codes,
        fault_rate=0.2,
        seed=20261128,
        hang_seconds=1.0,
        faults=WEIGHTED_S4,
    )
    with fake:
        config = write_setup(
            tmp_path,
            s4_destination(
                fake,
                document_type={"default": "SA", "sales_order_confirmed": "DR", "payment_received": "DZ"},
                batch_size=5,
                timeout_seconds=0.5,
            ),
        )
        killed = kill_at_random_points(config, lambda: len(fake.documents), random.Random(6), KILLS)
        summary = run_until_done(config, monkeypatch)
        fake.fault_rate = 0.0
        again = run_in_process(config, monkeypatch)
        by_ref = fake.by_reference()
        documents = list(fake.documents)
        totals = fake.totals_by_account()
    assert killed >= 1
    assert summary["vouchers_pending"] == summary["vouchers_failed"] == summary["failed"] == 0, summary
    assert again["vouchers_posted"] == 0 and again["read"] == 0
    assert sum(fake.faults_fired.values()) > 0 and fake.faults_fired.get("hang_after_post", 0) > 0, (
        fake.faults_fired
    )
    assert {ref: len(docs) for ref, docs in by_ref.items() if len(docs) != 1} == {}
    assert len(by_ref) == expected_vouchers()
    for doc in documents:
        assert sum(ln.amount for ln in doc.lines) == 0
        assert all((ln.code == "S") == (ln.amount > 0) for ln in doc.lines)
        assert doc.document_type in ("DR", "DZ")
    assert canonical_totals(totals, S4_MAP) == source_totals()


@pytest.mark.slow
def test_b1_every_voucher_exactly_once_under_faults_and_kills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = {code: "1122" for code in customer_codes().values()}
    fake = FakeB1(
        accounts=CANONICAL_ACCOUNTS,
        customers=codes,
        fault_rate=0.2,
        seed=20261129,
        hang_seconds=1.0,
        faults=WEIGHTED_B1,
    )
    with fake:
        config = write_setup(
            tmp_path,
            b1_destination(fake, batch_size=10, timeout_seconds=0.5),
        )
        killed = kill_at_random_points(config, lambda: len(fake.entries), random.Random(9), KILLS)
        summary = run_until_done(config, monkeypatch)
        fake.fault_rate = 0.0
        again = run_in_process(config, monkeypatch)
        by_ref = fake.by_reference()
        entries = list(fake.entries)
        totals = fake.totals_by_account()
    assert killed >= 1
    assert summary["vouchers_pending"] == summary["vouchers_failed"] == summary["failed"] == 0, summary
    assert again["vouchers_posted"] == 0
    assert fake.faults_fired.get("hang_after_post", 0) > 0, fake.faults_fired
    assert {ref: len(e) for ref, e in by_ref.items() if len(e) != 1} == {}
    assert len(by_ref) == expected_vouchers()
    for entry in entries:
        lines = entry["JournalEntryLines"]
        assert sum(Decimal(ln["Debit"]) - Decimal(ln["Credit"]) for ln in lines) == 0
        assert all(Decimal(ln["Debit"]) >= 0 and Decimal(ln["Credit"]) >= 0 for ln in lines)
    assert canonical_totals(totals, B1_MAP) == source_totals()


def crmsync(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


@pytest.mark.slow
def test_s4_refusal_is_listed_with_sap_message_and_retry_posts_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = set(customer_codes().values())
    with FakeS4(
        accounts=[v for v in S4_MAP.values() if isinstance(v, str)], customers=codes - {"CUST0003"}
    ) as fake:
        config = write_setup(tmp_path, s4_destination(fake))
        code, out = crmsync(monkeypatch, "check", "-c", str(config), "--format", "json")
        assert code == 2
        assert "customers not extended to company code 1010: CUST0003" in json.loads(out)["problems"]

        summary = run_in_process(config, monkeypatch)
        assert summary["vouchers_failed"] > 0
        code, out = crmsync(monkeypatch, "failures", "-c", str(config), "--format", "json")
        assert "Customer CUST0003 is not defined in company code 1010 [102(F5)]" in out
        refused = summary["vouchers_failed"]

        fake.customers.add("CUST0003")
        code, out = crmsync(monkeypatch, "retry", "--all", "-c", str(config), "--format", "json")
        retried = json.loads(out)
        assert code == 1 and retried["still_quarantined"] == 1, out  # the sample order without an amount
        assert retried["summary"]["vouchers_posted"] == refused
        by_ref = fake.by_reference()
    assert {ref: len(docs) for ref, docs in by_ref.items() if len(docs) != 1} == {}
    assert len(by_ref) == expected_vouchers()
    customer_docs = [d for d in fake.documents if any(ln.customer == "CUST0003" for ln in d.lines)]
    assert len(customer_docs) == refused
