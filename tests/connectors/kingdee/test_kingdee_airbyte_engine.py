"""The Airbyte destination with a state store runs crmsync's engine: nothing is lost on the platform.

Through the entrypoint, as the platform runs it, on SQLite and on PostgreSQL: STATEs pass
once their records are in the outbox, a re-sent input posts nothing twice, a voided record
is reversed in Kingdee, and the store can be read with the ``crmsync`` commands.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.connectors.kingdee.airbyte_support import (
    ACCOUNTS,
    REPO,
    customer_codes,
    kingdee_config,
    positions,
    record_message,
    run_destination,
    sample_messages,
    sample_records,
    state_message,
    trace_errors,
    wire,
)
from tests.e2e.support import approval_mappings
from tests.fakes.kingdee import FakeKingdee

CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def fake() -> Iterator[FakeKingdee]:
    with FakeKingdee(accounts=ACCOUNTS, customers=customer_codes(), timeout_delay=1.0) as site:
        yield site


def _engine_config(fake: FakeKingdee, state_url: str) -> dict[str, Any]:
    return {**kingdee_config(fake), "state": {"url": state_url}}


def _crmsync(*args: str) -> subprocess.CompletedProcess[str]:
    """A ``crmsync`` command in its own process, as an operator runs it on the written config."""
    return subprocess.run(
        [sys.executable, "-m", "sync.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def _write(tmp_path: Path, config: dict[str, Any], stdin: str) -> tuple[int, list[dict[str, Any]]]:
    code, messages, _ = run_destination(tmp_path, "write", config, stdin=stdin, cwd=tmp_path)
    return code, messages


def test_states_pass_and_every_voucher_is_posted_once_through_the_engine(
    fake: FakeKingdee, tmp_path: Path, state_url: str
) -> None:
    config = _engine_config(fake, state_url)
    code, messages = _write(tmp_path, config, wire(sample_messages()))
    assert code == 0, messages[-3:]
    assert positions(messages) == [3, 6, 4]
    assert len(fake.vouchers) == 10

    code, messages = _write(tmp_path, config, wire(sample_messages()))  # the platform re-sends
    assert code == 0 and positions(messages) == [3, 6, 4]
    assert len(fake.vouchers) == 10 and max(fake.refs().values()) == 1


def test_a_voided_payment_is_reversed_in_kingdee(fake: FakeKingdee, tmp_path: Path, state_url: str) -> None:
    config = _engine_config(fake, state_url)
    assert _write(tmp_path, config, wire(sample_messages()))[0] == 0
    payment = sample_records("PaymentObj", 1)[0]
    voided = {
        **payment,
        "life_status": "invalid",
        "last_modified_time": payment["last_modified_time"] + 60_000,
    }
    code, messages = _write(
        tmp_path, config, wire([record_message("PaymentObj", voided), state_message("PaymentObj", 5)])
    )
    assert code == 0, messages[-3:]
    assert positions(messages) == [5]
    assert len(fake.vouchers) == 11
    original, reversal = fake.vouchers[6], fake.vouchers[10]  # the first payment's, and its reversal
    assert [(e.account, -e.debit, -e.credit) for e in original.entries] == [
        (e.account, e.debit, e.credit) for e in reversal.entries
    ]  # red: the same lines with negated amounts


def test_the_store_is_readable_with_crmsync_commands_through_the_written_config(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    config = _engine_config(fake, f"sqlite:///{tmp_path / 'state.db'}")
    assert _write(tmp_path, config, wire(sample_messages()))[0] == 0
    written = tmp_path / ".crmsync/airbyte-destination.yaml"
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    out = _crmsync("status", "-c", str(written), "--format", "json")
    assert out.returncode == 0, out.stderr[-2000:]
    status = json.loads(out.stdout)
    assert "posted" in json.dumps(status)


def test_an_unmappable_record_is_quarantined_and_the_write_fails_without_retry(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    config = _engine_config(fake, f"sqlite:///{tmp_path / 'state.db'}")
    order = sample_records("SalesOrderObj", 1)[0]
    broken = {**order, "order_amount": "十万元"}
    code, messages = _write(
        tmp_path, config, wire([record_message("SalesOrderObj", broken), state_message("SalesOrderObj", 1)])
    )
    assert code != 0
    assert positions(messages) == [1]  # the record is kept in the store's quarantine, not lost
    [error] = trace_errors(messages)
    assert error["failure_type"] == "config_error" and "1 record(s) quarantined" in error["message"]


def _summarising_mappings(tmp_path: Path) -> str:
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings/fxiaoke-kingdee", folder)
    for name in ("invoice_issued", "refund_paid", "sales_order_confirmed"):
        (folder / f"{name}.yaml").unlink()
    text = (folder / "payment_received.yaml").read_text(encoding="utf-8")
    (folder / "payment_received.yaml").write_text(
        text + 'summarise:\n  by: {day: date(payment_time)}\n  summary: "回款汇总 {{ day }}"\n',
        encoding="utf-8",
    )
    return str(folder / "*.yaml")


def test_a_summarised_mapping_posts_one_voucher_per_group(fake: FakeKingdee, tmp_path: Path) -> None:
    payments = sample_records("PaymentObj", 4)
    config = {
        **_engine_config(fake, f"sqlite:///{tmp_path / 'state.db'}"),
        "mappings": [_summarising_mappings(tmp_path)],
    }
    _, checked, _ = run_destination(tmp_path, "check", config, cwd=tmp_path)
    assert checked[-1]["connectionStatus"]["status"] == "SUCCEEDED", checked
    messages_in = [*(record_message("PaymentObj", p) for p in payments), state_message("PaymentObj", 4)]
    code, messages, _ = run_destination(
        tmp_path, "write", config, streams=("PaymentObj",), stdin=wire(messages_in), cwd=tmp_path
    )
    assert code == 0, messages[-3:]
    days = {dt.datetime.fromtimestamp(p["payment_time"] / 1000, CHINA).date() for p in payments}
    assert len(fake.vouchers) == len(days) < len(payments)
    total = sum(Decimal(p["payment_amount"]) for p in payments)
    assert sum(e.debit for v in fake.vouchers for e in v.entries) == total


def test_vouchers_awaiting_approval_post_on_the_next_write_once_approved(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    config = {
        **_engine_config(fake, f"sqlite:///{tmp_path / 'state.db'}"),
        "mappings": [str(approval_mappings(tmp_path) / "*.yaml")],
    }
    payments = [record_message("PaymentObj", p) for p in sample_records("PaymentObj", 4)]

    def write(messages: list[Any]) -> tuple[int, list[dict[str, Any]]]:
        code, out, _ = run_destination(
            tmp_path, "write", config, streams=("PaymentObj",), stdin=wire(messages), cwd=tmp_path
        )
        return code, out

    code, messages = write([*payments, state_message("PaymentObj", 4)])
    assert code == 0 and positions(messages) == [4]  # kept in the store, awaiting approval
    assert fake.vouchers == []
    written = str(tmp_path / ".crmsync/airbyte-destination.yaml")
    approve = _crmsync("approve", "-c", written, "--all", "--by", "王会计")
    assert approve.returncode == 0, approve.stderr[-2000:]
    code, messages = write([state_message("PaymentObj", 4)])  # the next sync: nothing new
    assert code == 0 and positions(messages) == [4]
    assert len(fake.vouchers) == 4 and max(fake.refs().values()) == 1
