"""What the Airbyte-mode Kingdee tests share: sample records, messages, config, a subprocess run."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteRecordMessage,
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    StreamDescriptor,
    Type,
)

from tests.fakes.kingdee import FakeKingdee

REPO = Path(__file__).resolve().parents[3]
ACCOUNTS = {
    "1122": ("FFLEX6",),
    "6001": (),
    "2221.01.05": (),
    "1002.01": (),
    "1012.01": (),
    "1012.02": (),
    "1001": (),
}


def sample_records(stream: str, count: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (REPO / f"examples/crm/{stream}.jsonl").open(encoding="utf-8")]
    good = [
        r
        for r in rows
        if r.get("life_status") == "normal" and (stream != "SalesOrderObj" or r.get("order_amount"))
    ]
    return good[:count]


def customer_codes() -> list[str]:
    with (REPO / "examples/lookups/customers.csv").open(encoding="utf-8") as fh:
        return [row["erp_customer_code"] for row in csv.DictReader(fh)]


def record_message(stream: str, data: dict[str, Any]) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.RECORD, record=AirbyteRecordMessage(stream=stream, data=data, emitted_at=0)
    )


def state_message(stream: str, position: int) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.STATE,
        state=AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(
                stream_descriptor=StreamDescriptor(name=stream),
                stream_state=AirbyteStateBlob(position=position),
            ),
        ),
    )


def kingdee_config(fake: FakeKingdee) -> dict[str, Any]:
    return {
        "destination": {
            "base_url": fake.url,
            "acct_id": fake.acct_id,
            "username": fake.username,
            "app_id": fake.app_id,
            "app_secret": fake.app_secret,
            "account_book": "001",
            "batch_size": 3,
            "timeout_seconds": 0.5,
        },
        "mappings": [str(REPO / "mappings/fxiaoke-kingdee/*.yaml")],
        "source": "crm",
    }


def sample_messages() -> list[AirbyteMessage]:
    orders, payments = sample_records("SalesOrderObj", 6), sample_records("PaymentObj", 4)
    return [
        *(record_message("SalesOrderObj", r) for r in orders[:3]),
        state_message("SalesOrderObj", 3),
        *(record_message("SalesOrderObj", r) for r in orders[3:]),
        state_message("SalesOrderObj", 6),
        *(record_message("PaymentObj", r) for r in payments),
        state_message("PaymentObj", 4),
    ]


def catalog(streams: Sequence[str]) -> dict[str, Any]:
    return {
        "streams": [
            {
                "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["incremental"]},
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
            }
            for name in streams
        ]
    }


def wire(messages: Sequence[AirbyteMessage]) -> str:
    return "".join(json.dumps(AirbyteMessageSerializer.dump(m), ensure_ascii=False) + "\n" for m in messages)


def run_destination(
    tmp_path: Path,
    command: str,
    config_data: dict[str, Any],
    *,
    streams: Sequence[str] = ("SalesOrderObj", "PaymentObj"),
    stdin: str = "",
    cwd: Path = REPO,
) -> tuple[int, list[dict[str, Any]], str]:
    """``python -m connectors.kingdee COMMAND`` as the platform runs it: exit code, messages, stderr."""
    config_path, catalog_path = tmp_path / "config.json", tmp_path / "catalog.json"
    config_path.write_text(json.dumps(config_data), encoding="utf-8")
    catalog_path.write_text(json.dumps(catalog(streams)), encoding="utf-8")
    argv = [sys.executable, "-m", "connectors.kingdee", command, "--config", str(config_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if command == "write":
        argv += ["--catalog", str(catalog_path)]
    out = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False
    )
    messages = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return out.returncode, messages, out.stderr


def positions(messages: list[dict[str, Any]]) -> list[int]:
    return [m["state"]["stream"]["stream_state"]["position"] for m in messages if m["type"] == "STATE"]


def trace_errors(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"].get("error")]
