"""A mapping with ``approval: required``: its vouchers wait as awaiting_approval (visible in the
report, nothing posted) until ``crmsync approve --period P --mapping NAME`` records who approved."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from connectors.ledger.queries import list_vouchers
from sync.cli import cli
from tests.e2e.support import approval_mappings

REPO = Path(__file__).resolve().parents[2]


def _tenant(tmp_path: Path) -> Path:
    approval_mappings(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""
state: {{url: "sqlite:///.crmsync/state.db"}}
sources:
  crm: {{type: files, path: "{REPO}/examples/crm", streams: [PaymentObj]}}
destination: {{type: ledger, path: .crmsync/ledger.db}}
mappings: ["mappings/*.yaml"]
""",
        encoding="utf-8",
    )
    return config


def test_a_run_whose_vouchers_await_approval_counts_them_apart_and_exits_0(tmp_path: Path) -> None:
    config = _tenant(tmp_path)
    result = CliRunner().invoke(cli, ["sync", "-c", str(config), "--format", "json"])
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert result.exit_code == 0, result.output
    assert summary["failed"] == 0 and summary["awaiting_approval"] == summary["read"] > 0
    assert "see `crmsync failures`" not in result.output  # nothing failed: nothing to look up


def test_vouchers_wait_for_approval_then_post(tmp_path: Path) -> None:
    config = _tenant(tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["sync", "-c", str(config)])
    ledger = tmp_path / ".crmsync" / "ledger.db"
    assert not ledger.exists() or list_vouchers(ledger) == [], first.output
    report = runner.invoke(cli, ["report", "vouchers", "-c", str(config), "--format", "json", "-o", "-"])
    data = json.loads(report.stdout[report.stdout.index("{") :])
    rows = data["tables"]["differences"]["rows"]
    assert rows and all(r["status"] == "待审批 awaiting_approval" for r in rows)
    assert (
        runner.invoke(cli, ["approve", "-c", str(config)]).exit_code == 2
    )  # say which: never all by default
    approved = runner.invoke(
        cli,
        [
            "approve",
            "-c",
            str(config),
            "--period",
            "2026-11",
            "--mapping",
            "payment_received",
            "--by",
            "王会计",
        ],
    )
    assert approved.exit_code == 0, approved.output
    assert f"approved {len(rows)} vouchers" in approved.output
    runner.invoke(cli, ["sync", "-c", str(config)])
    assert len(list_vouchers(ledger)) == len(rows)
    audit = runner.invoke(cli, ["audit", "export", "-c", str(config), "--format", "json"])
    assert "王会计" in audit.output
