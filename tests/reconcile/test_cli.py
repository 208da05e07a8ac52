"""`crmsync reconcile` end to end: config.yaml, a camt.053 file and CRM exports; manual decisions."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sync.banking import CREDIT, DEBIT, BankTransaction
from sync.cli import cli
from tests.reconcile.camt_writer import write_camt053

ACC = "755912345610901"
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "bank"


def _ms(day: str) -> int:
    return int(dt.datetime.fromisoformat(f"{day}T00:00:00+08:00").timestamp() * 1000)


def _line(
    n: int,
    amount: str,
    payer: str,
    text: str,
    day: str = "2026-11-05",
    direction: str = CREDIT,
    kind: str = "receipt",
) -> BankTransaction:
    return BankTransaction(
        id=f"gen{n:04d}",
        format="camt053",
        account=ACC,
        direction=direction,
        amount=Decimal(amount),
        currency="CNY",
        booking_date=dt.date.fromisoformat(day),
        payer_name=payer,
        remittance=text,
        kind=kind,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    crm = tmp_path / "crm"
    crm.mkdir()
    payments = [
        {
            "_id": "pay1",
            "name": "20261103-000001",
            "account_id__r": "上海明远贸易有限公司",
            "order_id": "ord1",
            "order_id__r": "SO-20261103-0001",
            "payment_time": _ms("2026-11-03"),
            "payment_amount": "11300.00",
            "life_status": "normal",
        },
        {
            "_id": "pay2",
            "name": "20261104-000002",
            "account_id__r": "杭州青禾科技有限公司",
            "order_id": "ord2",
            "order_id__r": "SO-20261104-0002",
            "payment_time": _ms("2026-11-04"),
            "payment_amount": "2580.50",
            "life_status": "normal",
        },
        {
            "_id": "pay3",
            "name": "20261020-000003",
            "account_id__r": "北京华信五金制品厂",
            "order_id": "ord3",
            "order_id__r": "SO-20261020-0003",
            "payment_time": _ms("2026-10-20"),
            "payment_amount": "999.99",
            "life_status": "normal",
        },
    ]
    (crm / "PaymentObj.jsonl").write_text(
        "\n".join(json.dumps(p, ensure_ascii=False) for p in payments) + "\n", encoding="utf-8"
    )
    (crm / "SalesOrderObj.jsonl").write_text(
        json.dumps(
            {
                "_id": "ord1",
                "name": "SO-20261103-0001",
                "account_id__r": "上海明远贸易有限公司",
                "order_time": _ms("2026-11-03"),
                "order_amount": "11300.00",
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    bank = tmp_path / "inbox"
    bank.mkdir()
    write_camt053(
        bank / "stmt-202611.xml",
        ACC,
        [
            _line(1, "11300.00", "上海明远贸易有限公司", "货款 SO-20261103-0001"),
            _line(2, "2580.50", "杭州青禾科技", "付款"),
            _line(3, "4321.00", "深圳某个体户", "往来款", day="2026-11-06"),
            _line(4, "18.00", "", "手续费", day="2026-11-06", direction=DEBIT, kind="fee"),
        ],
        opening=Decimal("50000.00"),
    )
    (tmp_path / "config.yaml").write_text(
        "state: {url: sqlite:///state.db}\n"
        "sources:\n  crm: {type: files, path: crm}\n  bank: {type: camt053, path: inbox/*.xml}\n"
        "destination: {type: ledger, path: ledger.db}\n"
        "mappings: [mappings/*.yaml]\n"
        "reconcile:\n  bank_sources: [bank]\n  crm_source: crm\n  claimed_not_received_days: 7\n"
        f"  bank_accounts: {{'{ACC}': '1002.02'}}\n",
        encoding="utf-8",
    )
    return tmp_path


def _run(workdir: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["reconcile", "-c", str(workdir / "config.yaml"), *args])


def _report(workdir: Path) -> dict[str, Any]:
    result = _run(workdir, "--format", "json", "--as-of", "2026-11-30")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_report_lines_rules_and_totals(workdir: Path) -> None:
    data = _report(workdir)
    lines = {b["bank_id"][-4:]: b for b in data["bank"]}
    assert [(b["status"], b["rule"]) for b in data["bank"] if b["direction"] == "credit"] == [
        ("matched", "reference_order"),
        ("matched", "payer_amount"),
        ("unmatched", ""),
    ]
    assert data["summary"]["match_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert data["summary"]["ties_out"] is True
    assert data["summary"]["suspense_total"] == "4321.00"
    pays = {p["payment_id"]: p["status"] for p in data["payments"]}
    assert pays == {"pay1": "matched", "pay2": "matched", "pay3": "claimed_not_received"}
    day6 = next(t for t in data["totals"] if t["date"] == "2026-11-06")
    assert (day6["credits"], day6["suspense"], day6["debits"], day6["net"]) == (
        "4321.00",
        "4321.00",
        "18.00",
        "4303.00",
    )
    assert len(lines) == 4


def test_manual_match_and_unmatch_are_kept_for_the_next_run(workdir: Path) -> None:
    data = _report(workdir)
    stranger = next(b["bank_id"] for b in data["bank"] if b["status"] == "unmatched")
    auto = next(b["bank_id"] for b in data["bank"] if b["rule"] == "payer_amount")
    ok = _run(workdir, "match", stranger, "pay3", "--note", "客户电话确认: 代付")
    assert ok.exit_code == 0, ok.output
    ok = _run(workdir, "unmatch", auto)
    assert ok.exit_code == 0, ok.output
    again = {b["bank_id"]: b for b in _report(workdir)["bank"]}
    assert (again[stranger]["rule"], again[stranger]["payment_ids"]) == ("manual", "pay3")
    assert again[stranger]["status"] == "partial"  # 4321.00 received for a 999.99 claim: the rest waits
    assert again[auto]["status"] == "unmatched" and again[auto]["suspense"] == "2580.50"


def test_match_refuses_unknown_ids(workdir: Path) -> None:
    result = _run(workdir, "match", "no-such-line", "pay1")
    assert result.exit_code == 2
    assert "no bank line 'no-such-line'" in result.output


def test_vouchers_csv_and_xlsx(workdir: Path) -> None:
    out = workdir / "recon.xlsx"
    assert (
        _run(workdir, "--format", "xlsx", "-o", str(out), "--vouchers", str(workdir / "v.json")).exit_code
        == 0
    )
    assert out.stat().st_size > 1000
    books = json.loads((workdir / "v.json").read_text(encoding="utf-8"))
    suspense = [ln for v in books for ln in v["lines"] if ln["account"] == "2241.99"]
    assert [ln["credit"] for ln in suspense] == ["4321.00"]
    assert all(v["lines"][0]["account"] == "1002.02" for v in books)
    csv = _run(workdir, "--format", "csv")
    assert csv.exit_code == 0 and "payer_amount" in csv.stdout and csv.stdout.startswith("side,")
    table = _run(workdir)
    assert table.exit_code == 0 and "收款核销" in table.stdout


def test_a_refused_statement_file_is_named_and_the_run_fails(workdir: Path) -> None:
    shutil.copy(FIX / "hostile" / "camt053_xxe.xml", workdir / "inbox" / "evil.xml")
    result = _run(workdir, "--format", "json")
    assert result.exit_code == 1
    assert "evil.xml" in result.stderr and "DTD" in result.stderr
    data = json.loads(result.stdout)
    assert all("evil" not in b["source_file"] for b in data["bank"])


def test_a_bad_reconcile_section_is_a_located_configuration_error(workdir: Path) -> None:
    cfg = workdir / "config.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace(
            "  claimed_not_received_days: 7\n", "  claimed_not_recieved_days: 7\n"
        ),
        encoding="utf-8",
    )
    result = _run(workdir, "--format", "json")
    assert result.exit_code == 2
    assert "config.yaml:" in result.output and "unknown key 'claimed_not_recieved_days'" in result.output
