"""The ``type: files`` config section and the factory the engine calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.files.factory import Config, build
from sync.connector import BuildContext
from sync.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[3]


def test_relative_paths_resolve_against_the_config_folder() -> None:
    handle = build({"type": "files", "path": "examples/crm"}, BuildContext(name="crm", base_dir=ROOT))
    assert handle.config["path"] == str(ROOT / "examples" / "crm")
    assert handle.system == "files"
    names = [s.name for s in handle.source.streams(handle.config)]
    assert "SalesOrderObj" in names and "PaymentObj" in names


def test_listed_streams_limit_what_is_read() -> None:
    handle = build(
        Config(path="examples/crm", streams=["PaymentObj"]), BuildContext(name="crm", base_dir=ROOT)
    )
    assert [s.name for s in handle.source.streams(handle.config)] == ["PaymentObj"]


def test_a_missing_folder_is_a_configuration_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"sources\.crm\.path: folder .*exports-2026 does not exist"):
        build({"type": "files", "path": "exports-2026"}, BuildContext(name="crm", base_dir=tmp_path))


@pytest.mark.parametrize(
    "section",
    [
        pytest.param({"path": "x", "stream": ["PaymentObj"]}, id="a misspelt key"),
        pytest.param({"path": "x", "streams": ["Payment Obj"]}, id="a stream name with a blank"),
        pytest.param({"path": "x", "streams": ["PaymentObj", "PaymentObj"]}, id="a stream listed twice"),
        pytest.param({"path": "x", "checkpoint_interval": 0}, id="a zero checkpoint interval"),
    ],
)
def test_bad_sections_are_refused(section: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Config.model_validate(section)


def test_importing_the_factory_does_not_import_airbyte_cdk() -> None:
    code = "import sys, connectors.files.factory; print('airbyte_cdk' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_the_module_runs_as_an_airbyte_connector(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(f'{{"path": "{ROOT / "examples" / "crm"}"}}', encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "connectors.files", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    assert '"status":"SUCCEEDED"' in out.stdout
