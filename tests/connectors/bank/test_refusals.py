"""A refused statement says why through every interface: the Airbyte platform gets a TRACE
error with the specific reason and failure_type config_error (not "Something went wrong"),
and `crmsync sync` prints and returns the same words, never a Python repr."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.engine.tenant import crmsync

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "bank"


def _broken_statement(folder: Path) -> Path:
    """camt.053 whose closing balance is 0.01 off: opening + entries no longer make it."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (FIXTURES / "camt053_v02.xml").read_text(encoding="utf-8")
    assert '<Amt Ccy="CNY">115474.50</Amt>' in text
    broken = folder / "招商银行-20261103.xml"
    broken.write_text(
        text.replace('<Amt Ccy="CNY">115474.50</Amt>', '<Amt Ccy="CNY">115474.51</Amt>'), encoding="utf-8"
    )
    return broken


def test_the_platform_gets_the_reason_as_a_config_error(tmp_path: Path) -> None:
    broken = _broken_statement(tmp_path / "inbox")
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"format": "camt053", "path": str(tmp_path / "inbox" / "*.xml")}), encoding="utf-8"
    )
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            {"streams": [{"stream": {"name": "camt053", "json_schema": {},
                                     "supported_sync_modes": ["incremental"]},
                          "sync_mode": "incremental", "destination_sync_mode": "append"}]}
        ),
        encoding="utf-8",
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "connectors.bank", "read", "--config", str(config), "--catalog", str(catalog)],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
        check=False,
    )  # fmt: skip
    messages = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    errors = [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"].get("error")]
    assert out.returncode != 0 and errors
    first = errors[0]
    assert first["failure_type"] == "config_error"
    assert broken.name in first["message"] and "nothing booked" in first["message"]
    assert "Something went wrong" not in first["message"]
    assert not [m for m in messages if m["type"] == "RECORD"]


def test_crmsync_sync_reports_the_same_words_without_a_repr(tmp_path: Path) -> None:
    _broken_statement(tmp_path / "inbox")
    shutil.copytree(REPO / "mappings", tmp_path / "mappings")
    config = tmp_path / "config.yaml"
    config.write_text(
        'state: {url: "sqlite:///.crmsync/state.db"}\n'
        "sources:\n  bank: {type: camt053, path: inbox/*.xml}\n"
        "destination: {type: ledger, path: .crmsync/ledger.db}\n"
        "mappings: [mappings/bank-kingdee/bank_fee.yaml, mappings/bank-kingdee/bank_interest.yaml]\n",
        encoding="utf-8",
    )
    result = crmsync("sync", "-c", str(config), "--format", "json")
    assert result.exit_code == 1
    (error,) = result.summary["source_errors"]  # type: ignore[index]
    assert "招商银行-20261103.xml" in error and "nothing booked" in error
    assert "AirbyteTracedException" not in error and "Something went wrong" not in error
