"""End to end on the sample tenant with deliberate failures: sync into the embedded ledger, then
``crmsync report vouchers`` ties out to the ledger to the cent, and the other reports run."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from connectors.ledger.queries import account_totals, list_vouchers
from sync.cli import cli

REPO = Path(__file__).resolve().parents[2]
ZERO = Decimal(0)
BROKEN = 3  # payments with an unreadable amount: quarantined


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synced tenant: 微信支付 is missing from the chart (those vouchers fail), 3 payments are corrupt."""
    root = tmp_path_factory.mktemp("tenant")
    shutil.copytree(REPO / "examples" / "crm", root / "crm")
    payments = (root / "crm" / "PaymentObj.jsonl").read_text(encoding="utf-8").splitlines()
    for i in range(BROKEN):
        record = json.loads(payments[i])
        record["payment_amount"] = "12.3.4"
        payments[i] = json.dumps(record, ensure_ascii=False)
    (root / "crm" / "PaymentObj.jsonl").write_text("\n".join(payments) + "\n", encoding="utf-8")
    chart = (REPO / "connectors" / "ledger" / "chart_cn.csv").read_text(encoding="utf-8").splitlines()
    (root / "chart.csv").write_text(
        "\n".join(ln for ln in chart if not ln.startswith("1012.02,")) + "\n", encoding="utf-8"
    )
    (root / "config.yaml").write_text(
        f"""
state: {{url: "sqlite:///.crmsync/state.db"}}
sources:
  crm: {{type: files, path: crm}}
destination: {{type: ledger, path: .crmsync/ledger.db, chart: chart.csv}}
mappings: ["{REPO}/mappings/fxiaoke-kingdee/*.yaml"]
reports:
  link_template: "https://www.fxiaoke.com/XV/UI/Home#crm/detail/=/{{stream}}/{{record_id}}"
  payment_methods: {{"1": 银行转账, "2": 支付宝, "3": 微信支付, "4": 现金}}
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["sync", "-c", str(root / "config.yaml")])
    assert result.exit_code == 1, result.output  # failures and quarantine: exit code 1
    return root


def _report(root: Path, *args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(
        cli,
        ["report", "vouchers", "-c", str(root / "config.yaml"), "--format", "json", "--output", "-", *args],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{") :])  # type: ignore[no-any-return]


def test_posted_totals_equal_the_ledger_per_day_to_the_cent(synced: Path) -> None:
    data = _report(synced, "--period", "2026-11")
    ledger = [v for v in list_vouchers(synced / ".crmsync" / "ledger.db") if v.period == "2026-11"]
    per_day: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for v in ledger:
        per_day[v.date] += v.total
    rows = data["tables"]["by_day"]["rows"]
    assert {r["day"]: Decimal(r["posted"]) for r in rows if Decimal(r["posted"])} == {
        str(k): v for k, v in per_day.items()
    }
    totals = data["tables"]["by_day"]["totals"]
    assert Decimal(totals["posted"]) == sum(per_day.values(), ZERO)
    diffs = data["tables"]["differences"]
    assert (
        Decimal(diffs["totals"]["difference"]) == Decimal(totals["read"]) - Decimal(totals["posted"]) != ZERO
    )


def test_account_totals_equal_the_ledger(synced: Path) -> None:
    data = _report(synced, "--period", "2026-11")
    ledger = account_totals(synced / ".crmsync" / "ledger.db")
    got = {
        r["account"]: (Decimal(r["debit_posted"]), Decimal(r["credit_posted"]))
        for r in data["tables"]["by_account"]["rows"]
    }
    assert {k: v for k, v in got.items() if v != (ZERO, ZERO)} == {
        a: (t.debit, t.credit) for a, t in ledger.items()
    }


def test_failed_and_quarantined_items_with_reasons(synced: Path) -> None:
    rows = _report(synced, "--period", "2026-11")["tables"]["failures"]["rows"]
    failed = [r for r in rows if r["kind"].startswith("失败")]
    quarantined = [r for r in rows if r["kind"].startswith("隔离")]
    assert failed and all("1012.02" in r["reason"] for r in failed)
    assert len([q for q in quarantined if q["object"] == "PaymentObj"]) == BROKEN
    assert all("12.3.4" in q["reason"] for q in quarantined if q["object"] == "PaymentObj")
    assert all(r["link"].startswith("https://www.fxiaoke.com/") for r in rows)


def test_make_run_form_writes_html_into_the_folder_and_says_where(synced: Path) -> None:
    out = synced / "reports"
    result = CliRunner().invoke(
        cli,
        ["report", "vouchers", "-c", str(synced / "config.yaml"), "--format", "html", "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "period 2026-11 (the period with the most vouchers" in result.output
    assert f"wrote {out / 'vouchers-2026-11.html'}" in result.output
    assert "凭证报告 2026-11" in (out / "vouchers-2026-11.html").read_text(encoding="utf-8")


def test_xlsx_voucher_sheet_carries_erp_numbers(synced: Path) -> None:
    out = synced / "x.xlsx"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "vouchers",
            "-c",
            str(synced / "config.yaml"),
            "--period",
            "2026-11",
            "--output",
            str(out),
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out)["Vouchers"]
    header = [c.value for c in sheet[1]]
    numbers = {sheet.cell(r, header.index("ERP number") + 1).value for r in range(2, sheet.max_row + 1)}
    ledger_numbers = {
        v.number for v in list_vouchers(synced / ".crmsync" / "ledger.db") if v.period == "2026-11"
    }
    assert ledger_numbers <= numbers


@pytest.mark.parametrize(
    "command",
    [
        ["collections", "--period", "2026-11", "--by", "day"],
        ["aging", "--as-of", "2026-12-31"],
        ["credit", "--as-of", "2026-12-31"],
    ],
)
def test_collection_reports_run_on_the_sample_tenant(synced: Path, command: list[str]) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "report",
            command[0],
            "-c",
            str(synced / "config.yaml"),
            *command[1:],
            "--format",
            "json",
            "--output",
            "-",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") :])
    assert data["tables"]
    if command[0] == "collections":
        assert "problems" in data["tables"]  # the 3 corrupt payments are listed, not silently dropped


def test_bad_period_is_a_configuration_error(synced: Path) -> None:
    result = CliRunner().invoke(
        cli, ["report", "vouchers", "-c", str(synced / "config.yaml"), "--period", "2026-13"]
    )
    assert result.exit_code == 2
    assert "2026-13" in result.output and "Traceback" not in result.output


def test_remind_dry_run_without_channels_lists_the_overdue(synced: Path) -> None:
    result = CliRunner().invoke(
        cli, ["remind", "-c", str(synced / "config.yaml"), "--dry-run", "--as-of", "2027-01-31"]
    )
    assert result.exit_code == 0, result.output
    assert "dry run: nothing sent" in result.output
    assert "customer(s) with overdue orders as of 2027-01-31" in result.output
    assert not (synced / ".crmsync" / "reminders.db").exists()


def test_remind_sends_through_a_webhook_once_and_logs_in_the_state_store(
    synced: Path, tmp_path: Path
) -> None:
    from tests.reports.receivers import http_receiver

    with http_receiver() as (hook, url):
        config = tmp_path / "config.yaml"
        text = (
            (synced / "config.yaml")
            .read_text(encoding="utf-8")
            .replace("path: crm", f"path: {synced / 'crm'}")
        )
        config.write_text(
            text
            + f"""
reminders:
  interval_hours: 24
  channels:
    - {{name: robot, type: webhook, url: "{url}/send?key=robot-key-5f1e2d", style: wecom}}
""",
            encoding="utf-8",
        )
        args = ["remind", "-c", str(config), "--as-of", "2027-01-31"]
        first = CliRunner().invoke(cli, args)
        assert first.exit_code == 0, first.output
        sent = len(hook.requests)
        assert sent > 0 and first.output.count("[sent] robot") == sent
        assert "sent-reminder log: the state store" in first.output
        assert not (tmp_path / ".crmsync" / "reminders.db").exists()
        assert "robot-key-5f1e2d" not in first.output
        second = CliRunner().invoke(cli, args)
        assert second.exit_code == 0 and len(hook.requests) == sent
        assert second.output.count("[skipped] robot") == sent
