"""The ``type: fxiaoke`` config section and ``build``: exact keys, secrets typed, precise refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.fxiaoke.factory import Config, build, start_ms
from connectors.fxiaoke.schemas import PRESET_STREAMS
from sync.connector import BuildContext, SourceHandle
from tests.fakes.fxiaoke import APP_SECRET, PERMANENT_CODE

ROOT = Path(__file__).resolve().parents[3]

SECTION: dict[str, Any] = {
    "type": "fxiaoke",
    "app_id": "FSAID_131a2b3c",
    "app_secret": APP_SECRET,
    "permanent_code": PERMANENT_CODE,
    "open_user_id": "FSUID_DA4F6DE5640038B7DDB27908CC4ED1A8",
    "start_date": "2026-01-01",
}


def test_defaults_follow_the_documented_limits() -> None:
    config = Config.model_validate(SECTION)

    assert config.base_url == "https://open.fxiaoke.com"
    assert config.streams == list(PRESET_STREAMS)
    assert (config.page_size, config.lookback_minutes, config.requests_per_second) == (100, 5, 2.5)


def test_secrets_never_show_in_the_config_repr_or_dump() -> None:
    config = Config.model_validate(SECTION)

    assert APP_SECRET not in repr(config) and PERMANENT_CODE not in str(config.model_dump())
    assert config.plain()["app_secret"] == APP_SECRET  # only the in-process source sees them


@pytest.mark.parametrize(
    ("override", "field", "words"),
    [
        pytest.param({"page_size": 101}, "page_size", "less than or equal to 100", id="page size above 100"),
        pytest.param(
            {"streams": ["SalesOrderObject"]}, "streams", "did you mean 'SalesOrderObj'", id="misspelt"
        ),
        pytest.param({"streams": ["PaymentObj", "PaymentObj"]}, "streams", "twice", id="listed twice"),
        pytest.param(
            {"start_date": "2026-01-01T08:00:00"}, "start_date", "no UTC offset", id="naive instant"
        ),
        pytest.param({"start_date": "01/01/2026"}, "start_date", "YYYY-MM-DD", id="not a date"),
        pytest.param({"app_secret": "abc"}, "app_secret", "shorter than 8", id="truncated secret"),
        pytest.param(
            {"base_url": "open.fxiaoke.com"}, "base_url", "not an http(s) URL", id="url without scheme"
        ),
        pytest.param({"token": "x"}, "token", "Extra inputs", id="unknown key"),
    ],
)
def test_invalid_sections_are_refused_naming_the_key(
    override: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Config.model_validate({**SECTION, **override})

    (error,) = caught.value.errors()
    assert error["loc"][0] == field and words in str(error["msg"])


def test_custom_objects_are_accepted_by_their_suffix() -> None:
    config = Config.model_validate({**SECTION, "streams": ["PaymentObj", "expense_claim__c"]})

    assert config.streams == ["PaymentObj", "expense_claim__c"]


def test_start_date_is_midnight_in_china_or_the_given_instant() -> None:
    assert start_ms("2026-01-01") == 1_767_196_800_000  # 2025-12-31T16:00:00Z
    assert start_ms("2026-01-01T00:00:00+08:00") == 1_767_196_800_000
    assert start_ms("2026-01-01T00:00:00Z") == 1_767_225_600_000


def test_build_returns_an_in_process_source_for_the_engine(tmp_path: Path) -> None:
    handle = build(Config.model_validate(SECTION), BuildContext(name="crm", base_dir=tmp_path))

    assert isinstance(handle, SourceHandle) and handle.system == "fxiaoke"
    assert handle.config["app_secret"] == APP_SECRET and "type" not in handle.config
    assert [s.name for s in handle.source.streams(handle.config)] == list(PRESET_STREAMS)


def test_loading_the_factory_does_not_import_airbyte_cdk() -> None:
    probe = "import sys, connectors.fxiaoke.factory; print('airbyte_cdk' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "False"
