"""Posting: BatchSave results by DIndex, query-before-save, Submit/Audit resumable, red reversals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sync.destination import Destination, Outcome
from sync.model import ReversalStyle
from tests.connectors.kingdee.conftest import (
    ACCOUNTS,
    CUSTOMERS,
    destination_for,
    order_voucher,
    payment_voucher,
)
from tests.fakes.kingdee import FakeKingdee


def test_the_destination_satisfies_the_engine_contract(fake: FakeKingdee) -> None:
    destination = destination_for(fake)
    assert isinstance(destination, Destination)
    assert (destination.type_name, destination.batch_size) == ("kingdee", 50)


def test_batch_results_map_back_by_dindex_with_kingdee_message_for_the_rejected_one(
    fake: FakeKingdee,
) -> None:
    good1, bad, good2 = order_voucher(1), payment_voucher(2, customer="CUST9999"), order_voucher(3)
    results = destination_for(fake).post([good1, bad, good2])
    assert [r.external_ref for r in results] == [good1.external_ref, bad.external_ref, good2.external_ref]
    assert [r.outcome for r in results] == [Outcome.POSTED, Outcome.PERMANENT, Outcome.POSTED]
    assert results[1].message == "第2行分录，核算维度“客户”的编码“CUST9999”不存在"
    assert [r.ref.number for r in (results[0], results[2]) if r.ref] == ["记-1", "记-2"]
    assert fake.calls["BatchSave"] == 1


def test_batches_are_split_by_batch_size(fake: FakeKingdee) -> None:
    vouchers = [order_voucher(i) for i in range(1, 8)]
    results = destination_for(fake, batch_size=3).post(vouchers)
    assert all(r.outcome is Outcome.POSTED for r in results)
    assert fake.calls["BatchSave"] == 2 and fake.calls["Save"] == 1  # 3 + 3 + 1
    assert len(fake.vouchers) == 7


def test_a_voucher_kingdee_already_holds_is_not_saved_again(fake: FakeKingdee) -> None:
    destination = destination_for(fake)
    [first] = destination.post([order_voucher()])
    [again] = destination.post([order_voucher()])
    assert again.outcome is Outcome.POSTED and again.ref and first.ref
    assert (again.ref.erp_id, again.ref.number) == (first.ref.erp_id, first.ref.number)
    assert fake.count_by_ref(order_voucher().external_ref) == 1


def test_a_timeout_after_kingdee_saved_is_unknown_and_lookup_then_finds_it() -> None:
    with FakeKingdee(
        accounts=ACCOUNTS,
        customers=CUSTOMERS,
        fault_rate=1.0,
        faults=("timeout_after_save",),
        timeout_delay=1.5,
    ) as fake:
        destination = destination_for(fake, timeout_seconds=0.5)
        voucher = order_voucher()
        [result] = destination.post([voucher])
        assert result.outcome is Outcome.UNKNOWN
        fake.fault_rate = 0.0
        found = destination.lookup([voucher.external_ref])
        assert found[voucher.external_ref].number == "记-1"
        assert fake.count_by_ref(voucher.external_ref) == 1


def test_submit_and_audit_take_the_voucher_to_audited(fake: FakeKingdee) -> None:
    [result] = destination_for(fake, submit=True, audit=True).post([order_voucher()])
    assert result.outcome is Outcome.POSTED
    assert fake.vouchers[0].status == "C"
    assert (fake.calls["Submit"], fake.calls["Audit"]) == (1, 1)


def test_audit_auto_uses_is_auto_submit_and_audit_in_one_call(fake: FakeKingdee) -> None:
    [result] = destination_for(fake, audit="auto").post([order_voucher()])
    assert result.outcome is Outcome.POSTED and fake.vouchers[0].status == "C"
    assert fake.calls["Submit"] == 0 and fake.calls["Audit"] == 0
    _, _, body = next(r for r in fake.requests if r[0].endswith(".Save"))
    assert body["data"]["IsAutoSubmitAndAudit"] == "true"


def test_an_audit_refused_by_a_network_lock_is_resumed_by_the_next_post_without_a_second_save(
    fake: FakeKingdee,
) -> None:
    destination = destination_for(fake, submit=True, audit=True)
    fake.script_fault("Audit", "msg13")
    [first] = destination.post([order_voucher()])
    assert first.outcome is Outcome.TRANSIENT and "Audit did not complete" in first.message
    assert fake.vouchers[0].status == "B"
    [second] = destination.post([order_voucher()])
    assert second.outcome is Outcome.POSTED
    assert len(fake.vouchers) == 1 and fake.vouchers[0].status == "C"
    assert (fake.calls["Save"], fake.calls["Submit"], fake.calls["Audit"]) == (1, 1, 2)


def test_an_audit_whose_answer_was_lost_is_not_audited_twice() -> None:
    with FakeKingdee(accounts=ACCOUNTS, customers=CUSTOMERS, timeout_delay=1.5) as fake:
        destination = destination_for(fake, submit=True, audit=True, timeout_seconds=0.5)
        fake.script_fault("Audit", "timeout_after_save")
        [first] = destination.post([order_voucher()])
        assert first.outcome is Outcome.TRANSIENT
        [second] = destination.post([order_voucher()])
        assert second.outcome is Outcome.POSTED and fake.vouchers[0].status == "C"
        assert (fake.calls["Save"], fake.calls["Audit"]) == (1, 1)


def test_lookup_finishes_a_submit_left_undone_by_a_crash(fake: FakeKingdee) -> None:
    voucher = order_voucher()
    destination_for(fake).post([voucher])  # saved only, as if the run died before Submit
    assert fake.vouchers[0].status == "A"
    found = destination_for(fake, submit=True, audit=True).lookup([voucher.external_ref])
    assert voucher.external_ref in found and fake.vouchers[0].status == "C"


def test_a_red_reversal_is_accepted_and_nets_the_accounts_to_zero(fake: FakeKingdee) -> None:
    original = order_voucher()
    red = original.reversal(ReversalStyle.RED, on=dt.date(2025, 7, 2))
    results = destination_for(fake).post([original, red])
    assert [r.outcome for r in results] == [Outcome.POSTED, Outcome.POSTED]
    assert fake.totals_by_account() == {"1122": Decimal(0), "6001": Decimal(0), "2221.01.05": Decimal(0)}
    assert fake.vouchers[1].entries[0].debit == Decimal("-11300.00")


def test_a_voucher_in_a_closed_period_is_refused_with_kingdee_message() -> None:
    with FakeKingdee(accounts=ACCOUNTS, customers=CUSTOMERS, closed_periods=("2025-05",)) as fake:
        [result] = destination_for(fake).post([order_voucher(day=dt.date(2025, 5, 31))])
        assert result.outcome is Outcome.PERMANENT
        assert result.message == "账簿“001”的2025年第5期已结账，不能新增凭证"


def test_a_missing_required_dimension_is_refused_with_kingdee_message(fake: FakeKingdee) -> None:
    voucher = order_voucher()
    bare = voucher.lines[0].model_copy(update={"dims": ()})
    [result] = destination_for(fake).post([voucher.model_copy(update={"lines": (bare, *voucher.lines[1:])})])
    assert result.outcome is Outcome.PERMANENT
    assert result.message == "第1行分录，科目“1122”的核算维度“客户”为必录项！"


def test_a_voucher_that_cannot_be_rendered_is_permanent_and_never_sent(fake: FakeKingdee) -> None:
    voucher = payment_voucher()
    line = voucher.lines[0].model_copy(update={"dims": (("project", "PRJ-2025-08"),)})
    [result] = destination_for(fake).post([voucher.model_copy(update={"lines": (line, voucher.lines[1])})])
    assert result.outcome is Outcome.PERMANENT and result.message.startswith("not sent:")
    assert fake.calls["Save"] == 0 and fake.calls["BatchSave"] == 0


def test_lookup_leaves_out_a_voucher_whose_audit_cannot_complete_and_post_then_resumes_it(
    fake: FakeKingdee,
) -> None:
    voucher = order_voucher()
    destination_for(fake).post([voucher])  # saved only
    audited = destination_for(fake, submit=True, audit=True)
    fake.script_fault("Audit", "msg14")
    assert audited.lookup([voucher.external_ref]) == {}  # the engine will send it again ...
    [result] = audited.post([voucher])  # ... and post finds it, audits it, saves nothing
    assert result.outcome is Outcome.POSTED
    assert len(fake.vouchers) == 1 and fake.vouchers[0].status == "C"
