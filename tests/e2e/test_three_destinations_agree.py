"""The same mapping files post to the embedded ledger, Kingdee and SAP, and all agree.

One data set (the sample tenant's orders, payments, refunds and invoices), the shipped
``mappings/fxiaoke-kingdee/*.yaml`` unchanged, four destinations: the embedded ledger, the
fake Kingdee, the fake S/4HANA, the fake Business One and IDoc files. What each ERP holds, keyed back to
the canonical account (SAP's customer lines folded into 1122 via the account map), is the
same debit-minus-credit per account, to the cent.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from click.testing import CliRunner

from sync.cli import cli
from tests.e2e.support import (
    B1_MAP,
    CANONICAL_ACCOUNTS,
    ERP_SECRETS,
    ROOT,
    b1_destination,
    kingdee_destination,
    s4_destination,
    write_config,
)
from tests.e2e.support import S4_MAP as SAP_S4_MAP
from tests.e2e.test_sap_e2e import customer_codes
from tests.fakes.kingdee import FakeKingdee
from tests.fakes.sap_b1 import FakeB1
from tests.fakes.sap_s4 import FakeS4

pytestmark = pytest.mark.slow

#: the shipped chart plus 6051 (other business income), which the sample tenant also posts to
ACCOUNTS = (*CANONICAL_ACCOUNTS, "6051")
S4_MAP: dict[str, Any] = {**SAP_S4_MAP, "6051": "41500000"}


def setup(root: Path, destination: dict[str, Any]) -> Path:
    """A config over a copy of the sample tenant and the shipped mappings."""
    root.mkdir()
    shutil.copytree(ROOT / "examples" / "crm", root / "data")
    shutil.copytree(ROOT / "mappings" / "fxiaoke-kingdee", root / "mappings")
    return write_config(
        root / "config.yaml",
        state={"url": "sqlite:///" + str(root / "state.db")},
        sources={"crm": {"type": "files", "path": "data"}},
        destination=destination,
        mappings=[str(root / "mappings" / "*.yaml")],
    )


def sync(config: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name, value in ERP_SECRETS.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["sync", "-c", str(config), "--format", "json"], catch_exceptions=False)
    summary: dict[str, Any] = json.loads(result.stdout)
    assert summary["vouchers_failed"] == summary["vouchers_pending"] == 0, summary
    return summary


def nonzero(totals: dict[str, Decimal]) -> dict[str, Decimal]:
    return {k: v for k, v in sorted(totals.items()) if v}


def ledger_totals(path: Path) -> dict[str, Decimal]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT account, SUM(debit_minor) - SUM(credit_minor) FROM lines GROUP BY account"
        )
        return nonzero({account: Decimal(minor) / 100 for account, minor in rows})


def sap_totals(fake_totals: dict[str, Decimal], account_map: dict[str, Any]) -> dict[str, Decimal]:
    back = {v: k for k, v in account_map.items() if isinstance(v, str)}
    debtor = next(k for k, v in account_map.items() if isinstance(v, dict))
    out: dict[str, Decimal] = defaultdict(Decimal)
    for account, amount in fake_totals.items():
        out[debtor if account.startswith("customer:") else back.get(account, account)] += amount
    return nonzero(out)


def idoc_totals(folder: Path, account_map: dict[str, Any]) -> dict[str, Decimal]:
    """Signed amounts of every IDoc file, per G/L account (customers as ``customer:<no>``)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for path in sorted(folder.glob("ACC_DOCUMENT_*.xml")):
        idoc = xmltodict.parse(path.read_bytes(), force_list=("E1BPACGL09", "E1BPACAR09", "E1BPACCR09"))[
            "ACC_DOCUMENT04"
        ]["IDOC"]
        where = {s["ITEMNO_ACC"]: s["GL_ACCOUNT"].lstrip("0") for s in idoc.get("E1BPACGL09", [])}
        where |= {s["ITEMNO_ACC"]: "customer:" + s["CUSTOMER"] for s in idoc.get("E1BPACAR09", [])}
        for amount in idoc["E1BPACCR09"]:
            text = amount["AMT_DOCCUR"]
            totals[where[amount["ITEMNO_ACC"]]] += (
                -Decimal(text[:-1]) if text.endswith("-") else Decimal(text)
            )
    return sap_totals(totals, account_map)


def test_ledger_kingdee_s4_and_b1_agree_on_totals_per_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = sorted(set(customer_codes().values()))

    ledger_config = setup(tmp_path / "ledger", {"type": "ledger", "path": "ledger.db", "dedupe": False})
    ledger_summary = sync(ledger_config, monkeypatch)
    ledger = ledger_totals(tmp_path / "ledger" / "ledger.db")

    with FakeKingdee(customers=customers, accounts={}) as kingdee:
        for code in ACCOUNTS:
            kingdee.add_account(code, *(("FFLEX6",) if code == "1122" else ()))
        config = setup(
            tmp_path / "kingdee",
            kingdee_destination(kingdee),
        )
        kingdee_summary = sync(config, monkeypatch)
        kingdee_totals = nonzero(kingdee.totals_by_account())

    with FakeS4(accounts=[v for v in S4_MAP.values() if isinstance(v, str)], customers=customers) as s4:
        config = setup(
            tmp_path / "s4",
            s4_destination(s4, account_map=S4_MAP),
        )
        s4_summary = sync(config, monkeypatch)
        s4_totals = sap_totals(s4.totals_by_account(), S4_MAP)

    with FakeB1(accounts=ACCOUNTS, customers=dict.fromkeys(customers, "1122")) as b1:
        config = setup(
            tmp_path / "b1",
            b1_destination(b1),
        )
        b1_summary = sync(config, monkeypatch)
        b1_totals = sap_totals(b1.totals_by_account(), B1_MAP)

    config = setup(
        tmp_path / "idoc",
        {
            "type": "sap_idoc",
            "path": "drop",
            "receiver_port": "SAPS4H",
            "receiver_partner": "S4HCLNT100",
            "company_code": "1010",
            "account_map": S4_MAP,
        },
    )
    (tmp_path / "idoc" / "drop").mkdir()
    idoc_summary = sync(config, monkeypatch)
    files = idoc_totals(tmp_path / "idoc" / "drop", S4_MAP)

    summaries = (ledger_summary, kingdee_summary, s4_summary, b1_summary, idoc_summary)
    posted = {s["vouchers_posted"] for s in summaries}
    assert len(posted) == 1 and posted.pop() > 100
    assert ledger and set(ledger) <= set(ACCOUNTS)
    assert kingdee_totals == ledger
    assert s4_totals == ledger
    assert b1_totals == ledger
    assert files == ledger
    assert len(list((tmp_path / "idoc" / "drop").glob("*.xml"))) == ledger_summary["vouchers_posted"]
    assert sum(ledger.values()) == 0
