"""Airbyte destination mode: a STATE is passed on only after its vouchers are committed in Kingdee."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
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

from sync.airbyte.destination import Committer, Session, run_write
from sync.errors import CrmsyncError
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


def _records(stream: str, count: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (REPO / f"examples/crm/{stream}.jsonl").open(encoding="utf-8")]
    good = [
        r
        for r in rows
        if r.get("life_status") == "normal" and (stream != "SalesOrderObj" or r.get("order_amount"))
    ]
    return good[:count]


def _customers() -> list[str]:
    with (REPO / "examples/lookups/customers.csv").open(encoding="utf-8") as fh:
        return [row["erp_customer_code"] for row in csv.DictReader(fh)]


def _record(stream: str, data: dict[str, Any]) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.RECORD, record=AirbyteRecordMessage(stream=stream, data=data, emitted_at=0)
    )


def _state(stream: str, position: int) -> AirbyteMessage:
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


def _config(fake: FakeKingdee) -> dict[str, Any]:
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


def _messages() -> list[AirbyteMessage]:
    orders, payments = _records("SalesOrderObj", 6), _records("PaymentObj", 4)
    return [
        *(_record("SalesOrderObj", r) for r in orders[:3]),
        _state("SalesOrderObj", 3),
        *(_record("SalesOrderObj", r) for r in orders[3:]),
        _state("SalesOrderObj", 6),
        *(_record("PaymentObj", r) for r in payments),
        _state("PaymentObj", 4),
    ]


@pytest.fixture
def fake() -> Iterator[FakeKingdee]:
    with FakeKingdee(accounts=ACCOUNTS, customers=_customers(), timeout_delay=1.0) as site:
        yield site


def _session(fake: FakeKingdee) -> Session:
    return Session.open("kingdee", _config(fake), REPO)


def test_each_state_passes_only_after_the_vouchers_before_it_are_in_kingdee(fake: FakeKingdee) -> None:
    seen: list[tuple[int, int]] = []
    for out in run_write(
        _session(fake), _messages(), Committer(_session(fake).destination, sleep=lambda s: None)
    ):
        seen.append((out.state.stream.stream_state.position, len(fake.vouchers)))
    assert [position for position, _ in seen] == [3, 6, 4]
    assert [count for _, count in seen] == [3, 6, 10]


def test_a_restarted_sync_finds_its_vouchers_and_posts_nothing_twice(fake: FakeKingdee) -> None:
    list(run_write(_session(fake), _messages()))
    states = list(run_write(_session(fake), _messages()))  # the platform re-sends from an old state
    assert len(states) == 3
    assert len(fake.vouchers) == 10 and max(fake.refs().values()) == 1


def test_transient_faults_and_saved_then_timed_out_answers_still_commit_each_voucher_once() -> None:
    with FakeKingdee(
        accounts=ACCOUNTS, customers=_customers(), timeout_delay=1.0, fault_rate=0.3, seed=11
    ) as fake:
        session = _session(fake)
        states = list(
            run_write(session, _messages(), Committer(session.destination, attempts=8, sleep=lambda s: None))
        )
        assert len(states) == 3
        assert len(fake.vouchers) == 10 and max(fake.refs().values()) == 1
        assert sum(fake.injected.values()) > 0


def test_a_refused_voucher_holds_back_every_later_state_and_names_kingdee_message(fake: FakeKingdee) -> None:
    for bank_or_cash in ("1002.01", "1012.01", "1012.02", "1001"):  # the payments' debit accounts
        fake.accounts.pop(bank_or_cash)
    states: list[int] = []
    with pytest.raises(CrmsyncError) as info:
        for out in run_write(_session(fake), _messages()):
            states.append(out.state.stream.stream_state.position)
    assert states == [3, 6]  # the orders' states passed; the payments' state is held back
    assert "科目" in info.value.message and "不存在或已禁用" in info.value.message
    assert "1 state message(s) held back" in info.value.message


def test_check_runs_as_an_airbyte_destination_and_never_prints_the_secret(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(_config(fake)), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "connectors.kingdee", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    messages = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    status = next(m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS")
    assert status["status"] == "SUCCEEDED", status
    assert "voucher group (凭证字) PRE001 found: 记" in status["message"]
    assert fake.app_secret not in out.stdout


def test_write_runs_as_an_airbyte_destination_and_echoes_states_after_posting(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    config, catalog = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_text(json.dumps(_config(fake)), encoding="utf-8")
    catalog.write_text(
        json.dumps(
            {
                "streams": [
                    {
                        "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["incremental"]},
                        "sync_mode": "incremental",
                        "destination_sync_mode": "append",
                    }
                    for name in ("SalesOrderObj", "PaymentObj")
                ]
            }
        ),
        encoding="utf-8",
    )
    stdin = "\n".join(json.dumps(AirbyteMessageSerializer.dump(m)) for m in _messages()) + "\n"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "connectors.kingdee",
            "write",
            "--config",
            str(config),
            "--catalog",
            str(catalog),
        ],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    states = [
        json.loads(line)["state"]
        for line in out.stdout.splitlines()
        if line.startswith("{") and json.loads(line)["type"] == "STATE"
    ]
    assert [s["stream"]["stream_state"]["position"] for s in states] == [3, 6, 4]
    assert len(fake.vouchers) == 10 and max(fake.refs().values()) == 1
