"""mappings/bank-kingdee validate and map the normalised bank/platform records of the fixtures."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sync.cli import cli

ROOT = Path(__file__).resolve().parents[3]
FIX = ROOT / "tests" / "fixtures" / "bank"
MAPS = ROOT / "mappings" / "bank-kingdee"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "state: {url: sqlite:///state.db}\n"
        "sources:\n"
        f"  bank: {{type: camt053, path: '{FIX / 'camt053_v02.xml'}'}}\n"
        f"  alipay: {{type: alipay_bill, path: '{FIX / 'alipay_trade_20261103.csv'}'}}\n"
        f"  wechat: {{type: wechat_bill, path: '{FIX / 'wechat_all_20261103.csv'}'}}\n"
        "destination: {type: ledger, path: ledger.db}\n"
        f"mappings: ['{MAPS}/bank_*.yaml', '{MAPS}/platform_fee_alipay.yaml',\n"
        f"           '{MAPS}/platform_fee_wechat.yaml']\n",
        encoding="utf-8",
    )
    return path


def test_bank_mappings_validate_against_the_fixture_records(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "-c", str(_config(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "mapped 5, skipped by rule 6, failed 0" in result.output


def test_fee_vouchers_use_the_kingdee_accounts(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["preview", "-c", str(_config(tmp_path)), "--format", "json"])
    assert result.exit_code == 0, result.output
    vouchers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    lines = {
        (v["mapping"]["name"], ln["account"], ln["debit"], ln["credit"])
        for v in vouchers
        for ln in v["lines"]
    }
    assert ("bank_fee", "6603.02", "25.50", "0.00") in lines
    assert ("bank_fee", "1002.02", "0.00", "25.50") in lines
    assert ("platform_fee_alipay", "1012.01", "0.00", "6.78") in lines
    assert ("platform_fee_wechat", "6603.02", "20.34", "0.00") in lines


def test_stripe_fee_mapping_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "state: {url: sqlite:///state.db}\n"
        "sources:\n  stripe: {type: stripe, api_key: sk_test_51QaValidateOnly00000000000000000}\n"
        "destination: {type: ledger, path: ledger.db}\n"
        f"mappings: ['{MAPS}/platform_fee_stripe.yaml']\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["validate", "-c", str(path), "--no-records"])
    assert result.exit_code == 0, result.output
