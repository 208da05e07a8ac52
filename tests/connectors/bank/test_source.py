"""The airbyte source: glob pickup, read-once by content hash, standalone protocol, factory."""

from __future__ import annotations

import json
import runpy
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.bank.factory import Config, build
from connectors.bank.source import BankSource
from sync.banking import BankTransaction
from sync.connector import BuildContext
from tests.connectors.bank.airbyte_run import run_read


def test_records_carry_amounts_as_decimal_strings(tmp_path: Path, fixtures: Path) -> None:
    shutil.copy(fixtures / "camt053_v02.xml", tmp_path)
    result = run_read(BankSource(), {"format": "camt053", "path": str(tmp_path / "*.xml")})
    assert not result.errors
    amounts = [r["amount"] for r in result.records]
    assert amounts == ["11300.00", "3000.00", "2000.00", "25.50", "800.00"]
    assert all(isinstance(a, str) for a in amounts)
    back = BankTransaction.from_record(result.records[0])
    assert back.amount == Decimal("11300.00") and back.payer_name == "上海明远贸易有限公司"


def test_a_file_already_read_is_not_read_again_even_renamed(tmp_path: Path, fixtures: Path) -> None:
    shutil.copy(fixtures / "mt940_multi.sta", tmp_path / "day1.sta")
    config = {"format": "mt940", "path": str(tmp_path / "*.sta")}
    first = run_read(BankSource(), config)
    assert len(first.records) == 5
    shutil.copy(fixtures / "mt940_multi.sta", tmp_path / "day1-copy.sta")
    second = run_read(BankSource(), config, first.state)
    assert second.records == [] and not second.errors


def test_a_new_file_is_read_on_the_next_run(tmp_path: Path, fixtures: Path) -> None:
    shutil.copy(fixtures / "camt053_v02.xml", tmp_path / "a.xml")
    config = {"format": "camt053", "path": str(tmp_path / "*.xml")}
    first = run_read(BankSource(), config)
    shutil.copy(fixtures / "camt053_v08.xml", tmp_path / "b.xml")
    second = run_read(BankSource(), config, first.state)
    assert {r["source_file"] for r in second.records} == {str(tmp_path / "b.xml")}
    assert second.state is not None and sorted(second.state["files"].values()) == ["a.xml", "b.xml"]


def test_config_needs_a_path_for_file_formats() -> None:
    with pytest.raises(ValidationError, match="camt053 reads files: give path"):
        Config.model_validate({"type": "camt053"})


def test_config_refuses_unknown_keys_and_formats() -> None:
    with pytest.raises(ValidationError):
        Config.model_validate({"format": "camt053", "path": "x", "paht": "y"})
    with pytest.raises(ValidationError):
        Config.model_validate({"format": "camt055", "path": "x"})


def test_secrets_never_show_in_the_config_repr() -> None:
    cfg = Config.model_validate({"type": "stripe", "api_key": "sk_live_51QaVerySecretKey9f8e7d6c5b4a3"})
    assert "VerySecret" not in repr(cfg) and "VerySecret" not in str(cfg.model_dump())


def test_build_resolves_the_glob_against_the_config_folder(tmp_path: Path) -> None:
    cfg = Config.model_validate({"type": "mt940", "path": "inbox/*.sta"})
    handle = build(cfg, BuildContext(name="bank", base_dir=tmp_path))
    assert handle.config["path"] == str(tmp_path / "inbox/*.sta")
    assert handle.system == "mt940" and handle.config["format"] == "mt940"


def test_standalone_protocol_spec_check_discover(
    tmp_path: Path, fixtures: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m connectors.bank spec|check|discover --config …`, run through the module's entry point."""
    shutil.copy(fixtures / "camt054_v04.xml", tmp_path)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"format": "camt054", "path": str(tmp_path / "*.xml")}))
    for args in (["spec"], ["check", "--config", str(config)], ["discover", "--config", str(config)]):
        monkeypatch.setattr(sys, "argv", ["connectors.bank", *args])
        runpy.run_module("connectors.bank", run_name="__main__")
    messages = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    kinds = [m["type"] for m in messages]
    assert "SPEC" in kinds and "CATALOG" in kinds
    status = next(m for m in messages if m["type"] == "CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "SUCCEEDED"
    catalog = next(m for m in messages if m["type"] == "CATALOG")["catalog"]
    assert [s["name"] for s in catalog["streams"]] == ["camt054"]
