"""Airbyte destination mode never drops data silently: each fault stops the write before its STATE.

Run through the connector's entrypoint exactly as the platform runs it (stdin, stdout), against
the Kingdee fake: what matters is which STATE messages come out and the failure type the
platform reads from the TRACE message (config_error is never retried, transient_error is).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.airbyte.destination import Committer, Session, failure_type_of, run_write
from sync.errors import CrmsyncError
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
from tests.fakes.kingdee import FakeKingdee


@pytest.fixture
def fake() -> Iterator[FakeKingdee]:
    with FakeKingdee(accounts=ACCOUNTS, customers=customer_codes(), timeout_delay=1.0) as site:
        yield site


def _wrong_source(fake: FakeKingdee) -> dict[str, object]:
    return {**kingdee_config(fake), "source": "fxiaoke"}  # the mappings read `source: crm`


def test_check_fails_when_no_mapping_reads_the_configured_source(fake: FakeKingdee, tmp_path: Path) -> None:
    _, messages, _ = run_destination(tmp_path, "check", _wrong_source(fake))
    status = next(m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS")
    assert status["status"] == "FAILED"
    assert "source 'fxiaoke': no mapping reads it; the mappings read 'crm'" in status["message"]


def test_write_with_a_wrong_source_is_a_config_error_and_acknowledges_nothing(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    code, messages, _ = run_destination(tmp_path, "write", _wrong_source(fake), stdin=wire(sample_messages()))
    assert code != 0
    assert positions(messages) == [] and len(fake.vouchers) == 0
    [error] = trace_errors(messages)
    assert error["failure_type"] == "config_error" and "'fxiaoke'" in error["message"]


def test_a_catalog_stream_no_mapping_reads_is_a_config_error_before_anything_is_posted(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    code, messages, _ = run_destination(
        tmp_path,
        "write",
        kingdee_config(fake),
        streams=("SalesOrderObj", "PaymentObj", "ContactObj"),
        stdin=wire(sample_messages()),
    )
    assert code != 0 and positions(messages) == [] and len(fake.vouchers) == 0
    [error] = trace_errors(messages)
    assert error["failure_type"] == "config_error"
    assert "stream(s) ContactObj: no mapping reads crm/<stream>" in error["message"]


def test_a_record_of_a_stream_outside_the_catalog_stops_the_write_before_the_next_state(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    stray = record_message("RefundObj", {"_id": "rf-1", "name": "RF-2026-0001"})
    messages_in = sample_messages()
    messages_in.insert(4, stray)  # after the first order STATE, among the second batch of orders
    code, messages, _ = run_destination(
        tmp_path,
        "write",
        kingdee_config(fake),
        streams=("SalesOrderObj", "PaymentObj"),
        stdin=wire(messages_in),
    )
    assert code != 0 and positions(messages) == [3]
    [error] = trace_errors(messages)
    assert error["failure_type"] == "config_error"
    assert "'RefundObj'" in error["message"] and "not in the configured catalog" in error["message"]


def test_a_truncated_line_fails_the_write_and_no_later_state_is_acknowledged(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    lines = wire(sample_messages()).splitlines(keepends=True)
    truncated = "".join(lines[:5]) + lines[5][: len(lines[5]) // 2] + "\n" + "".join(lines[6:])
    code, messages, _ = run_destination(tmp_path, "write", kingdee_config(fake), stdin=truncated)
    assert code != 0
    assert positions(messages) == [3]  # line 6 is broken: the STATEs at 6 and 4 never pass
    [error] = trace_errors(messages)
    assert error["failure_type"] == "system_error"
    assert "input line 6" in error["message"] and "is not an Airbyte message" in error["message"]


def test_input_cut_off_mid_line_names_the_missing_line_end(fake: FakeKingdee, tmp_path: Path) -> None:
    lines = wire(sample_messages()).splitlines(keepends=True)
    code, messages, _ = run_destination(
        tmp_path, "write", kingdee_config(fake), stdin="".join(lines[:4]) + lines[4][:40]
    )
    assert code != 0 and positions(messages) == [3]
    [error] = trace_errors(messages)
    assert "input line 5" in error["message"] and "truncated input" in error["message"]


def test_the_broken_line_content_is_never_echoed(fake: FakeKingdee, tmp_path: Path) -> None:
    lines = wire(sample_messages()).splitlines(keepends=True)
    customer_name = sample_records("SalesOrderObj", 6)[3]["account_id__r"]
    _, messages, stderr = run_destination(
        tmp_path, "write", kingdee_config(fake), stdin="".join(lines[:4]) + lines[4][:-30] + "\n"
    )
    assert customer_name not in str(messages) + stderr


def test_a_refused_voucher_is_a_non_transient_failure_with_kingdees_message(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    for bank_or_cash in ("1002.01", "1012.01", "1012.02", "1001"):  # the payments' debit accounts
        fake.accounts.pop(bank_or_cash)
    code, messages, _ = run_destination(
        tmp_path, "write", kingdee_config(fake), stdin=wire(sample_messages())
    )
    assert code != 0 and positions(messages) == [3, 6]
    [error] = trace_errors(messages)
    assert error["failure_type"] == "config_error"
    assert "科目" in error["message"] and "不存在或已禁用" in error["message"]


def test_vouchers_still_open_after_every_attempt_are_a_transient_failure() -> None:
    with FakeKingdee(
        accounts=ACCOUNTS, customers=customer_codes(), fault_rate=1.0, faults=("http503",)
    ) as fake:
        session = Session.open("kingdee", kingdee_config(fake), REPO)
        committer = Committer(session.destination, attempts=2, sleep=lambda s: None)
        with pytest.raises(CrmsyncError) as info:
            list(run_write(session, sample_messages()[:4], committer, streams=["SalesOrderObj"]))
    assert failure_type_of(info.value) == "transient_error"
    assert "could not be committed yet (transient errors)" in info.value.message


def test_skipped_and_voided_records_are_counted_and_logged(fake: FakeKingdee, tmp_path: Path) -> None:
    normal, cancelled, voided = sample_records("PaymentObj", 3)
    messages_in = [
        record_message("PaymentObj", normal),
        record_message("PaymentObj", {**cancelled, "life_status": "ineffective"}),
        record_message("PaymentObj", {**voided, "life_status": "invalid"}),
        state_message("PaymentObj", 3),
    ]
    code, messages, _ = run_destination(tmp_path, "write", kingdee_config(fake), stdin=wire(messages_in))
    assert code == 0 and positions(messages) == [3]
    logs = [m["log"]["message"] for m in messages if m["type"] == "LOG"]
    assert any(f"PaymentObj record {cancelled['_id']} skipped by mapping payment_received" in t for t in logs)
    assert any(f"PaymentObj record {voided['_id']} is voided at the source" in t for t in logs)
    assert any(
        "read 3 record(s)" in t and "1 committed, 1 skipped by a mapping rule, 1 voided" in t for t in logs
    )
