"""config.yaml: ${ENV} references, every problem at once with its position, paths relative to the file."""

from pathlib import Path

import pytest

from sync.config import load_config
from sync.config.loader import ConfigProblems
from sync.config.registry import resolve
from sync.errors import ConfigurationError
from sync.secrets import redact

GOOD = """\
state: {url: sqlite:///.crmsync/state.db}
sources:
  crm: {type: files, path: examples/crm}
destination:
  type: kingdee
  app_secret: ${KD_APP_SECRET}
mappings: [mappings/fxiaoke-kingdee/*.yaml]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_env_references_are_expanded_and_registered_as_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KD_APP_SECRET", "kd-7f3e9a1c55b2e8d04c")
    config = load_config(write(tmp_path, GOOD))
    assert config.destination.model_extra == {"app_secret": "kd-7f3e9a1c55b2e8d04c"}
    assert config.base_dir == tmp_path.resolve()
    assert redact("login failed for kd-7f3e9a1c55b2e8d04c") == "login failed for ********"


def test_a_missing_env_var_names_the_line_and_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KD_APP_SECRET", raising=False)
    with pytest.raises(ConfigProblems) as info:
        load_config(write(tmp_path, GOOD))
    assert "config.yaml:6:3: destination.app_secret: ${KD_APP_SECRET} is not set" in str(info.value)
    assert "export KD_APP_SECRET=" in str(info.value)


def test_a_set_but_empty_env_var_is_refused_like_an_unset_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KD_APP_SECRET", "")
    with pytest.raises(ConfigProblems) as info:
        load_config(write(tmp_path, GOOD))
    assert "config.yaml:6:3: destination.app_secret: ${KD_APP_SECRET} is set but empty" in str(info.value)


def test_a_secrets_file_supplies_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KD_APP_SECRET", raising=False)
    (tmp_path / "secrets.env").write_text(
        "# kingdee\nKD_APP_SECRET=kd-secret-from-file-91\n", encoding="utf-8"
    )
    config = load_config(write(tmp_path, "secrets_file: secrets.env\n" + GOOD))
    assert config.destination.model_extra == {"app_secret": "kd-secret-from-file-91"}


def test_all_problems_are_reported_at_once_with_did_you_mean(tmp_path: Path) -> None:
    text = "sources:\n  crm: {type: files}\ndestinaton: {type: ledger}\nmapings: [a.yaml]\n"
    with pytest.raises(ConfigProblems) as info:
        load_config(write(tmp_path, text))
    rendered = str(info.value)
    assert "config.yaml:3:1: unknown key 'destinaton'\n  fix: did you mean 'destination'?" in rendered
    assert "config.yaml:4:1: unknown key 'mapings'\n  fix: did you mean 'mappings'?" in rendered
    assert info.value.exit_code == 2


def test_an_unknown_connector_type_suggests_the_closest() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'kingdee'"):
        resolve("destination", "kingde")
