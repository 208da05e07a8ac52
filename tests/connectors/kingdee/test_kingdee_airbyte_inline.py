"""A pod without a mapping folder: mappings and lookups carried in the destination's config.

The platform runs each connector in a fresh container; the tests run the entrypoint from an
empty folder, with nothing of the repository's mappings reachable but what the config holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.connectors.kingdee.airbyte_support import (
    ACCOUNTS,
    REPO,
    customer_codes,
    kingdee_config,
    positions,
    run_destination,
    sample_messages,
    trace_errors,
    wire,
)
from tests.fakes.kingdee import FakeKingdee

SHIPPED = REPO / "mappings/fxiaoke-kingdee"


@pytest.fixture
def fake() -> Iterator[FakeKingdee]:
    with FakeKingdee(accounts=ACCOUNTS, customers=customer_codes(), timeout_delay=1.0) as site:
        yield site


@pytest.fixture
def pod(tmp_path: Path) -> Path:
    """The connector's working folder in a fresh pod: empty."""
    folder = tmp_path / "pod"
    folder.mkdir()
    return folder


def _lookups() -> dict[str, str]:
    files = sorted((SHIPPED / "lookups").glob("*.csv"))
    return {f"lookups/{p.name}": p.read_text(encoding="utf-8") for p in files}


def _status(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return next(m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS")


def _inline_config(fake: FakeKingdee, mappings: list[Any]) -> dict[str, Any]:
    config = {**kingdee_config(fake), "inline_mappings": mappings, "inline_lookups": _lookups()}
    del config["mappings"]
    return config


def _as_text() -> list[Any]:
    return [p.read_text(encoding="utf-8") for p in sorted(SHIPPED.glob("*.yaml"))]


def _as_objects() -> list[Any]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(SHIPPED.glob("*.yaml"))]


@pytest.mark.parametrize("form", [_as_text, _as_objects], ids=["yaml-text", "json-objects"])
def test_inline_mappings_and_lookups_post_every_voucher_from_an_empty_folder(
    fake: FakeKingdee, tmp_path: Path, pod: Path, form: Any
) -> None:
    config = _inline_config(fake, form())
    stdin = wire(sample_messages())
    code, messages, stderr = run_destination(tmp_path, "write", config, stdin=stdin, cwd=pod)
    assert code == 0, stderr[-2000:]
    assert positions(messages) == [3, 6, 4]
    # the fake refuses a customer code it does not know: each was found in the inline customers.csv
    assert len(fake.vouchers) == 10


def test_inline_mappings_run_the_engine_with_a_state_store(
    fake: FakeKingdee, tmp_path: Path, pod: Path
) -> None:
    config = {**_inline_config(fake, _as_text()), "state": {"url": "sqlite:///state.db"}}
    stdin = wire(sample_messages())
    assert run_destination(tmp_path, "write", config, stdin=stdin, cwd=pod)[0] == 0
    code, messages, _ = run_destination(tmp_path, "write", config, stdin=stdin, cwd=pod)
    assert code == 0 and positions(messages) == [3, 6, 4]
    assert len(fake.vouchers) == 10 and max(fake.refs().values()) == 1
    written = yaml.safe_load((pod / ".crmsync/airbyte-destination.yaml").read_text(encoding="utf-8"))
    assert all(Path(g).is_absolute() for g in written["mappings"])


def test_check_succeeds_with_inline_mappings_only(fake: FakeKingdee, tmp_path: Path, pod: Path) -> None:
    code, messages, _ = run_destination(tmp_path, "check", _inline_config(fake, _as_text()), cwd=pod)
    assert code == 0 and _status(messages)["status"] == "SUCCEEDED", _status(messages)


def test_a_mapping_text_that_is_not_yaml_names_its_position_and_line(
    fake: FakeKingdee, tmp_path: Path, pod: Path
) -> None:
    broken = [*_as_text()[:1], "name: payment_received\nlines: [\n  - account: 1122\n"]
    _, messages, _ = run_destination(tmp_path, "check", _inline_config(fake, broken), cwd=pod)
    status = _status(messages)
    assert status["status"] == "FAILED"
    assert "inline_mappings[2]" in status["message"] and "line 3" in status["message"]


def test_a_lookup_key_that_leaves_the_folder_is_refused(fake: FakeKingdee, tmp_path: Path, pod: Path) -> None:
    config = _inline_config(fake, _as_text())
    config["inline_lookups"]["../../etc/customers.csv"] = "a,b\n"
    code, messages, _ = run_destination(tmp_path, "write", config, stdin=wire(sample_messages()), cwd=pod)
    assert code != 0 and not positions(messages) and not fake.vouchers
    errors = trace_errors(messages)
    assert errors[0]["failure_type"] == "config_error"
    assert "'../../etc/customers.csv' is not a relative CSV path" in errors[0]["message"]


def test_neither_mapping_files_nor_inline_mappings_is_a_config_error(
    fake: FakeKingdee, tmp_path: Path, pod: Path
) -> None:
    config = kingdee_config(fake)
    del config["mappings"]
    _, messages, _ = run_destination(tmp_path, "check", config, cwd=pod)
    status = _status(messages)
    assert status["status"] == "FAILED" and "inline_mappings" in status["message"]
