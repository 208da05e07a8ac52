"""A small Fxiaoke tenant on disk for engine tests: PaymentObj records, a config, the ledger.

Payments use the sample tenant's customers (so the shipped ``payment_received`` mapping and
its lookups apply unchanged), amounts with cents, and China-time payment dates. The ledger
file is read directly with sqlite3: the tests check what the ERP holds, not what crmsync
believes.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sqlite3
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from sync.cli import cli
from sync.dates import CHINA, epoch_ms

ROOT = Path(__file__).resolve().parents[2]
PAYMENT_MAPPING = ROOT / "mappings" / "fxiaoke-kingdee" / "payment_received.yaml"
BANK_ACCOUNT = {"1": "1002.01", "2": "1012.01", "3": "1012.02", "4": "1001"}

with open(PAYMENT_MAPPING.parent / "lookups" / "customers.csv", encoding="utf-8") as fh:
    CUSTOMERS: list[dict[str, str]] = list(csv.DictReader(fh))


def payment(i: int, amount: str, *, term: str = "1", status: str = "normal", day: int = 2) -> dict[str, Any]:
    customer = CUSTOMERS[i % len(CUSTOMERS)]
    paid = dt.datetime(2026, 11, day, 10, 30, tzinfo=CHINA)
    return {
        "_id": f"pay{i:06d}",
        "name": f"202611{day:02d}-{i:06d}",
        "life_status": status,
        "account_id": customer["crm_account_id"],
        "account_id__r": customer["customer_name"],
        "payment_time": epoch_ms(paid),
        "payment_amount": amount,
        "payment_term": term,
        "last_modified_time": epoch_ms(paid) + i,
    }


def payments(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        payment(i, f"{rng.randint(100, 9_999_999) / 100:.2f}", term=rng.choice("1234"), day=1 + i % 27)
        for i in range(n)
    ]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


@dataclass
class Setup:
    root: Path
    config: Path
    data: Path
    ledger: Path

    def write_payments(self, records: list[dict[str, Any]]) -> None:
        write_jsonl(self.data / "PaymentObj.jsonl", records)


def make_setup(
    root: Path,
    state_url: str,
    records: list[dict[str, Any]],
    *,
    destination: dict[str, Any] | None = None,
    mapping: Path = PAYMENT_MAPPING,
    checkpoint: int = 5,
    lock_timeout: float = 0,
    batch_size: int = 10,
    extra: str = "",
) -> Setup:
    """A config with one files source and the ledger (dedupe OFF: exactly-once is crmsync's job)."""
    root.mkdir(parents=True, exist_ok=True)
    ledger = root / "ledger.db"
    inner = {"type": "ledger", "path": str(ledger), "dedupe": False, "batch_size": batch_size}
    dest = {**destination, "inner": inner} if destination else inner
    config = root / "config.yaml"
    config.write_text(
        "\n".join(
            [
                f"state: {{url: {json.dumps(state_url)}, lock_timeout_seconds: {lock_timeout}}}",
                "sources:",
                "  crm: {type: files, path: data, streams: [PaymentObj], "
                f"checkpoint_interval: {checkpoint}}}",
                f"destination: {json.dumps(dest)}",
                f"mappings: [{json.dumps(str(mapping))}]",
                extra,
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    setup = Setup(root, config, root / "data", ledger)
    setup.write_payments(records)
    return setup


# -- what the ledger holds ---------------------------------------------------------------------


def ledger_rows(ledger: Path) -> list[dict[str, Any]]:
    if not ledger.exists():
        return []
    with sqlite3.connect(ledger) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM vouchers ORDER BY id")]


def refs_in_ledger(ledger: Path) -> Counter[str]:
    return Counter(r["external_ref"] for r in ledger_rows(ledger))


def source_ids_in_ledger(ledger: Path, *, reversals: bool = False) -> Counter[str]:
    return Counter(r["source_id"] for r in ledger_rows(ledger) if bool(r["reversal_of"]) == reversals)


def balances(ledger: Path) -> dict[str, Decimal]:
    """Debit minus credit per account, in yuan, over everything posted (reversals included)."""
    with sqlite3.connect(ledger) as conn:
        rows = conn.execute(
            "SELECT account, SUM(debit_minor) - SUM(credit_minor) FROM lines GROUP BY account"
        ).fetchall()
    return {account: Decimal(minor) / 100 for account, minor in rows if minor}


def expected_balances(records: list[dict[str, Any]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for r in records:
        if r["life_status"] != "normal":
            continue
        amount = Decimal(r["payment_amount"])
        bank = BANK_ACCOUNT[r["payment_term"]]
        out[bank] = out.get(bank, Decimal(0)) + amount
        out["1122"] = out.get("1122", Decimal(0)) - amount
    return {k: v for k, v in out.items() if v}


# -- the command line, in-process ----------------------------------------------------------


@dataclass
class Result:
    exit_code: int
    summary: dict[str, Any]
    stdout: str
    stderr: str


def crmsync(*args: str) -> Result:
    """``crmsync ARGS`` in this process; JSON stdout parsed when there is some."""
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    out = res.stdout.strip()
    try:
        data = json.loads(out) if out.startswith(("{", "[")) else {}
    except json.JSONDecodeError:
        data = {}
    return Result(res.exit_code, data, res.stdout, res.stderr)
