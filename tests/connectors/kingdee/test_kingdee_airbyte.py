"""Airbyte destination mode: a STATE is passed on only after its vouchers are committed in Kingdee."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.airbyte.destination import Committer, Session, run_write
from sync.errors import CrmsyncError
from tests.connectors.kingdee.airbyte_support import (
    ACCOUNTS,
    REPO,
    customer_codes,
    kingdee_config,
    positions,
    run_destination,
    sample_messages,
    wire,
)
from tests.fakes.kingdee import FakeKingdee


@pytest.fixture
def fake() -> Iterator[FakeKingdee]:
    with FakeKingdee(accounts=ACCOUNTS, customers=customer_codes(), timeout_delay=1.0) as site:
        yield site


def _session(fake: FakeKingdee) -> Session:
    return Session.open("kingdee", kingdee_config(fake), REPO)


def test_each_state_passes_only_after_the_vouchers_before_it_are_in_kingdee(fake: FakeKingdee) -> None:
    seen: list[tuple[int, int]] = []
    for out in run_write(
        _session(fake), sample_messages(), Committer(_session(fake).destination, sleep=lambda s: None)
    ):
        seen.append((out.state.stream.stream_state.position, len(fake.vouchers)))
    assert [position for position, _ in seen] == [3, 6, 4]
    assert [count for _, count in seen] == [3, 6, 10]


def test_a_restarted_sync_finds_its_vouchers_and_posts_nothing_twice(fake: FakeKingdee) -> None:
    list(run_write(_session(fake), sample_messages()))
    states = list(run_write(_session(fake), sample_messages()))  # the platform re-sends from an old state
    assert len(states) == 3
    assert len(fake.vouchers) == 10 and max(fake.refs().values()) == 1


def test_transient_faults_and_saved_then_timed_out_answers_still_commit_each_voucher_once() -> None:
    with FakeKingdee(
        accounts=ACCOUNTS, customers=customer_codes(), timeout_delay=1.0, fault_rate=0.3, seed=11
    ) as fake:
        session = _session(fake)
        states = list(
            run_write(
                session, sample_messages(), Committer(session.destination, attempts=8, sleep=lambda s: None)
            )
        )
        assert len(states) == 3
        assert len(fake.vouchers) == 10 and max(fake.refs().values()) == 1
        assert sum(fake.injected.values()) > 0


def test_a_refused_voucher_holds_back_every_later_state_and_names_kingdee_message(fake: FakeKingdee) -> None:
    for bank_or_cash in ("1002.01", "1012.01", "1012.02", "1001"):  # the payments' debit accounts
        fake.accounts.pop(bank_or_cash)
    states: list[int] = []
    with pytest.raises(CrmsyncError) as info:
        for out in run_write(_session(fake), sample_messages()):
            states.append(out.state.stream.stream_state.position)
    assert states == [3, 6]  # the orders' states passed; the payments' state is held back
    assert "科目" in info.value.message and "不存在或已禁用" in info.value.message
    assert "1 state message(s) held back" in info.value.message


def test_check_runs_as_an_airbyte_destination_and_never_prints_the_secret(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    _, messages, stderr = run_destination(tmp_path, "check", kingdee_config(fake))
    status = next(m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS")
    assert status["status"] == "SUCCEEDED", status
    assert "voucher group (凭证字) PRE001 found: 记" in status["message"]
    assert fake.app_secret not in str(messages) + stderr


def test_write_runs_as_an_airbyte_destination_and_echoes_states_after_posting(
    fake: FakeKingdee, tmp_path: Path
) -> None:
    code, messages, stderr = run_destination(
        tmp_path, "write", kingdee_config(fake), stdin=wire(sample_messages())
    )
    assert code == 0, str(messages)[-2000:] + stderr[-2000:]
    assert positions(messages) == [3, 6, 4]
    assert len(fake.vouchers) == 10 and max(fake.refs().values()) == 1
