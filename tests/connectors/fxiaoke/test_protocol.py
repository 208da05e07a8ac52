"""``python -m connectors.fxiaoke spec|check|discover|read`` prints valid Airbyte protocol messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteStateMessageSerializer,
    ConfiguredAirbyteCatalogSerializer,
    Status,
    SyncMode,
    Type,
)
from airbyte_cdk.test.entrypoint_wrapper import discover

from tests.connectors.fxiaoke.conftest import catalog, make_source
from tests.fakes.fxiaoke import APP_SECRET, OBJECTS, PERMANENT_CODE, QUERY_PATH, TOKEN_PATH, FakeFxiaoke

ROOT = Path(__file__).resolve().parents[3]


def cli(*args: str) -> list[AirbyteMessage]:
    """Run the connector as Airbyte would (a process) and parse every stdout line as a protocol message."""
    done = subprocess.run(
        [sys.executable, "-m", "connectors.fxiaoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return parse(done.stdout.splitlines())


def entry(*args: str) -> list[AirbyteMessage]:
    """The same entrypoint in-process (what ``launch`` runs, minus the 1-10 s interpreter start)."""
    entrypoint = AirbyteEntrypoint(make_source())
    return parse(list(entrypoint.run(entrypoint.parse_args(list(args)))))


def parse(lines: list[str]) -> list[AirbyteMessage]:
    text = "\n".join(lines)
    assert APP_SECRET not in text and PERMANENT_CODE not in text
    return [AirbyteMessageSerializer.load(json.loads(line)) for line in lines if line.strip()]


def write(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def test_spec_describes_exactly_the_config_keys_with_secrets_marked() -> None:
    (message,) = [m for m in entry("spec") if m.type == Type.SPEC]
    schema = message.spec.connectionSpecification

    # the keys of the issue, plus the transport section every HTTP connector shares (sync.http)
    assert set(schema["properties"]) - {"transport"} == {
        "base_url",
        "app_id",
        "app_secret",
        "permanent_code",
        "open_user_id",
        "start_date",
        "streams",
        "page_size",
        "lookback_minutes",
        "requests_per_second",
    }
    assert schema["properties"]["app_secret"]["airbyte_secret"] is True
    assert schema["properties"]["permanent_code"]["airbyte_secret"] is True
    assert schema["properties"]["page_size"]["maximum"] == 100
    assert schema["properties"]["streams"]["default"] == list(OBJECTS)
    assert message.spec.supportsIncremental is True


def test_check_then_read_through_the_command_line_against_the_fake(tmp_path: Path) -> None:
    with FakeFxiaoke(records=25, rate_limit=None) as fake:
        config = write(tmp_path / "config.json", fake.source_config())
        (status,) = [m for m in entry("check", "--config", config) if m.type == Type.CONNECTION_STATUS]
        assert status.connectionStatus.status == Status.SUCCEEDED
        assert len(fake.calls(TOKEN_PATH)) == 1 and len(fake.calls(QUERY_PATH)) == 1  # one cheap call

        configured = catalog("PaymentObj", "SalesOrderObj")
        catalog_file = write(tmp_path / "catalog.json", ConfiguredAirbyteCatalogSerializer.dump(configured))
        messages = cli("read", "--config", config, "--catalog", catalog_file)
        rows = [m.record for m in messages if m.type == Type.RECORD]
        states = [m.state for m in messages if m.type == Type.STATE]

        assert [r.data for r in rows if r.stream == "PaymentObj"] == fake.records("PaymentObj")
        assert {s.stream.stream_descriptor.name for s in states} == {"PaymentObj", "SalesOrderObj"}

        state_file = write(
            tmp_path / "state.json",
            [AirbyteStateMessageSerializer.dump(s) for s in states],
        )
        fake.edit("PaymentObj", fake.ids("PaymentObj")[0], payment_amount="66.60")
        again = entry("read", "--config", config, "--catalog", catalog_file, "--state", state_file)
        assert [m.record.data["payment_amount"] for m in again if m.type == Type.RECORD] == ["66.60"]


def test_check_with_a_wrong_secret_fails_with_the_code_and_no_secret_in_the_message(tmp_path: Path) -> None:
    with FakeFxiaoke(records=1, rate_limit=None) as fake:
        wrong = "9" * 32
        config = write(tmp_path / "config.json", fake.source_config(app_secret=wrong))
        (status,) = [m for m in entry("check", "--config", config) if m.type == Type.CONNECTION_STATUS]

    assert status.connectionStatus.status == Status.FAILED
    assert "errorCode 10006" in status.connectionStatus.message
    assert wrong not in status.connectionStatus.message


def test_discover_lists_every_configured_object_as_an_incremental_stream(fake: FakeFxiaoke) -> None:
    config = fake.source_config(streams=["PaymentObj", "RefundObj", "expense_claim__c"])
    out = discover(make_source(), config)

    streams = {s.name: s for s in out.catalog.catalog.streams}
    assert list(streams) == ["PaymentObj", "RefundObj", "expense_claim__c"]
    payment = streams["PaymentObj"]
    assert SyncMode.incremental in payment.supported_sync_modes
    assert payment.default_cursor_field == ["last_modified_time"]
    assert payment.source_defined_primary_key == [["_id"]]
    assert payment.json_schema["properties"]["payment_amount"]["type"] == ["null", "string"]
    assert not fake.requests  # discover needs no API call


@pytest.mark.parametrize(
    ("override", "words"),
    [
        pytest.param({"page_size": 500}, "page_size", id="page size above the API's 100"),
        pytest.param({"streams": ["PaymentObject"]}, "PaymentObj", id="a misspelt object"),
    ],
)
def test_an_invalid_config_fails_the_check_with_a_message_naming_the_key(
    fake: FakeFxiaoke, override: dict[str, Any], words: str
) -> None:
    ok, message = make_source().check_connection(None, fake.source_config(**override))  # type: ignore[arg-type]

    assert not ok and words in message
