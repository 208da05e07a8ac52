"""One behaviour per test for each rule of the cascade, on hand-made lines."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sync.banking import CREDIT, DEBIT, BankTransaction
from sync.model import Side
from sync.reconcile import CrmOrder, CrmPayment, Decision, ReconcileConfig, reconcile
from sync.reconcile.normalize import customer_key, norm_ref, within_one_edit
from sync.reconcile.vouchers import vouchers

D = dt.date(2026, 11, 10)
CFG = ReconcileConfig(tolerance=Decimal("30"))
_ids = itertools.count(1)


def bank(
    amount: str,
    payer: str = "",
    text: str = "",
    *,
    day: dt.date = D,
    direction: str = CREDIT,
    reversal: bool = False,
    account: str = "755912345610901",
    **kw: object,
) -> BankTransaction:
    return BankTransaction(
        id=f"b{next(_ids)}",
        format=str(kw.pop("format", "camt053")),
        account=account,
        direction=direction,
        amount=Decimal(amount),
        currency="CNY",
        booking_date=day,
        payer_name=payer,
        remittance=text,
        reversal=reversal,
        kind=str(kw.pop("kind", "receipt")),
        **kw,
    )  # type: ignore[arg-type]


def pay(
    pid: str, amount: str, customer: str = "上海明远贸易有限公司", *, day: dt.date = D, order: str = ""
) -> CrmPayment:
    return CrmPayment(
        pid,
        f"20261110-{pid[-6:].rjust(6, '0')}",
        Decimal(amount),
        day,
        customer,
        (f"o{pid}",) if order else (),
        (order,) if order else (),
    )


def applied(result, line: BankTransaction) -> tuple[str, str, set[str]]:  # type: ignore[no-untyped-def]
    r = result.by_bank_id()[line.id]
    return r.status, r.rule, {a.payment_id for a in r.allocations}


def test_reference_in_full_width_with_spaces_matches() -> None:
    line = bank("1130.00", "某公司", "货款 ２０２６１１１０ ０００００１")
    result = reconcile([line], [pay("p000001", "1130.00")])
    assert applied(result, line) == ("matched", "reference", {"p000001"})


def test_typo_in_reference_matches_only_with_the_exact_amount() -> None:
    line = bank("1130.00", "", "货款 20261110-000010")  # typed 10 for 01
    other = bank("1130.01", "", "货款 20261110-000020")
    result = reconcile([line, other], [pay("p000001", "1130.00"), pay("p000002", "999.00")])
    assert applied(result, line) == ("matched", "reference_fuzzy", {"p000001"})
    assert applied(result, other)[0] == "unmatched"


def test_a_typo_landing_on_another_real_number_is_not_believed() -> None:
    # 000002 exists (another customer, another amount); 000001 is one keystroke away and fits exactly
    line = bank("500.00", "上海明远贸易有限公司", "货款 20261110-000002")
    result = reconcile([line], [pay("p000001", "500.00"), pay("p000002", "7000.00", "别的公司")])
    assert applied(result, line) == ("matched", "reference_fuzzy", {"p000001"})


def test_payer_and_amount_without_reference() -> None:
    line = bank("2580.50", "上海明远贸易（有限公司）", "货款", day=D + dt.timedelta(days=3))
    result = reconcile([line], [pay("p000001", "2580.50"), pay("p000002", "2580.50", "杭州青禾科技有限公司")])
    assert applied(result, line) == ("matched", "payer_amount", {"p000001"})


def test_two_equal_open_payments_are_not_guessed() -> None:
    line = bank("5000.00", "上海明远贸易有限公司", "货款")
    result = reconcile(
        [line], [pay("p000001", "5000.00"), pay("p000002", "5000.00", day=D + dt.timedelta(days=1))]
    )
    r = result.by_bank_id()[line.id]
    assert r.status == "unmatched" and sorted(r.candidates) == ["p000001", "p000002"]


def test_outside_the_date_window_nothing_matches() -> None:
    line = bank("2580.50", "上海明远贸易有限公司", "货款", day=D + dt.timedelta(days=40))
    assert applied(reconcile([line], [pay("p000001", "2580.50")]), line)[0] == "unmatched"


def test_one_receipt_paying_several_payments() -> None:
    line = bank("3500.00", "上海明远贸易有限公司", "合并付款")
    ps = [pay("p000001", "1000.00"), pay("p000002", "2500.00"), pay("p000003", "777.00")]
    assert applied(reconcile([line], ps), line) == ("matched", "payer_combined", {"p000001", "p000002"})


def test_one_payment_paid_in_parts_by_reference() -> None:
    a, b = bank("600.00", "", "分期 20261110-000001"), bank("400.00", "", "20261110000001 尾款")
    result = reconcile([a, b], [pay("p000001", "1000.00")])
    assert {applied(result, a)[1], applied(result, b)[1]} == {"reference_partial", "reference"}
    assert applied(result, a)[0] == applied(result, b)[0] == "matched"
    assert result.payments[0].status == "matched"


def test_one_payment_paid_in_parts_without_reference() -> None:
    a = bank("600.00", "上海明远贸易有限公司", "货款")
    b = bank("400.00", "上海明远贸易有限公司", "货款", day=D + dt.timedelta(days=2))
    result = reconcile([a, b], [pay("p000001", "1000.00")])
    assert applied(result, a) == ("matched", "payer_parts", {"p000001"})
    assert applied(result, b) == ("matched", "payer_parts", {"p000001"})


def test_bank_charge_within_tolerance_is_booked_as_fee() -> None:
    line = bank("1105.00", "", "货款 20261110-000001")
    result = reconcile([line], [pay("p000001", "1130.00")], cfg=CFG)
    r = result.by_bank_id()[line.id]
    assert (r.status, r.fee, result.payments[0].status) == ("matched", Decimal("25.00"), "matched")
    (v,) = vouchers(result, CFG)  # the CRM booked 1130.00 into the bank; the bank kept 25.00
    assert [(ln.account, ln.side, ln.amount) for ln in v.lines] == [
        ("6603.02", Side.DEBIT, Decimal("25.00")),
        ("1002", Side.CREDIT, Decimal("25.00")),
    ]


def test_overpayment_keeps_the_rest_in_suspense() -> None:
    line = bank("1500.00", "上海明远贸易有限公司", "货款 20261110-000001")
    result = reconcile([line], [pay("p000001", "1130.00")], cfg=CFG)
    r = result.by_bank_id()[line.id]
    assert (r.status, r.rule, r.suspense) == ("partial", "reference_over", Decimal("370.00"))
    (v,) = vouchers(result, CFG)
    assert [(ln.account, ln.side, ln.amount) for ln in v.lines] == [
        ("1002", Side.DEBIT, Decimal("370.00")),
        ("2241.99", Side.CREDIT, Decimal("370.00")),
    ]


def test_fully_matched_receipt_books_nothing_more() -> None:
    line = bank("1130.00", "", "货款 20261110-000001")
    assert vouchers(reconcile([line], [pay("p000001", "1130.00")], cfg=CFG), CFG) == []


def test_unmatched_receipt_goes_to_suspense_voucher() -> None:
    line = bank("4321.00", "深圳某个体户", "往来款")
    result = reconcile([line], [], cfg=CFG)
    (v,) = vouchers(result, CFG)
    assert [(ln.account, ln.side, ln.amount) for ln in v.lines] == [
        ("1002", Side.DEBIT, Decimal("4321.00")),
        ("2241.99", Side.CREDIT, Decimal("4321.00")),
    ]
    assert v.key == f"reconcile:receipt:{line.id}" and v.summary.startswith("待处理收款")


def test_receipt_naming_an_order_without_payment() -> None:
    line = bank("8800.00", "", "订单 SO-20261110-0007")
    result = reconcile([line], [], [CrmOrder("o7", "SO-20261110-0007", Decimal("8800.00"), D, "某公司")])
    r = result.by_bank_id()[line.id]
    assert (r.status, r.rule, r.allocations[0].order_number) == (
        "matched",
        "reference_order_no_payment",
        "SO-20261110-0007",
    )


def test_a_receipt_from_another_customer_naming_an_order_without_payment_is_left_open() -> None:
    line = bank("8800.00", "杭州西溪茶业有限公司", "订单 SO-20261110-0007")
    order = CrmOrder("o7", "SO-20261110-0007", Decimal("8800.00"), D, "成都锦城建材有限公司")
    r = reconcile([line], [], [order]).by_bank_id()[line.id]
    assert r.status != "matched" and r.allocations == []
    assert "成都锦城建材有限公司" in r.note and "related_payers" in r.note


def test_the_order_owners_own_receipt_still_takes_the_order_after_a_strangers_one() -> None:
    stranger = bank("8800.00", "杭州西溪茶业有限公司", "订单 SO-20261110-0007")
    owner = bank("8800.00", "成都锦城建材有限公司", "SO-20261110-0007 货款", day=D + dt.timedelta(days=1))
    order = CrmOrder("o7", "SO-20261110-0007", Decimal("8800.00"), D, "成都锦城建材有限公司")
    results = reconcile([stranger, owner], [], [order]).by_bank_id()
    assert results[owner.id].rule == "reference_order_no_payment"  # not sent to suspense
    assert results[stranger.id].allocations == []


def test_a_related_payer_may_pay_for_the_customers_order() -> None:
    line = bank("8800.00", "锦城集团财务有限公司", "订单 SO-20261110-0007")
    order = CrmOrder("o7", "SO-20261110-0007", Decimal("8800.00"), D, "成都锦城建材有限公司")
    cfg = ReconcileConfig(related_payers={"锦城集团财务有限公司": ["成都锦城建材有限公司"]})
    r = reconcile([line], [], [order], cfg=cfg).by_bank_id()[line.id]
    assert (r.status, r.rule) == ("matched", "reference_order_no_payment")


def test_a_related_payer_may_settle_the_customers_payment_by_its_number_short_of_its_amount() -> None:
    payment = pay("p000031", "5000.00", "成都锦城建材有限公司")
    line = bank("4000.00", "锦城集团财务有限公司", f"回款 {payment.number}")
    alone = reconcile([line], [payment]).by_bank_id()[line.id]
    assert alone.status != "matched" and "another customer" in alone.note
    cfg = ReconcileConfig(related_payers={"锦城集团财务有限公司": ["成都锦城建材有限公司"]})
    related = reconcile([line], [payment], cfg=cfg).by_bank_id()[line.id]
    assert (related.status, related.rule) == ("matched", "reference_partial")


def test_reversal_pairs_with_the_credit_it_undoes() -> None:
    credit = bank("8800.00", "误汇款人", "误汇")
    reversal = bank("8800.00", "", "冲正", day=D + dt.timedelta(days=1), direction=DEBIT, reversal=True)
    result = reconcile([credit, reversal], [])
    assert applied(result, credit)[0] == applied(result, reversal)[0] == "reversed"
    assert vouchers(result, CFG) == []


def test_manual_match_wins_and_unmatch_forbids_the_pair() -> None:
    line = bank("2580.50", "上海明远贸易有限公司", "货款")
    ps = [pay("p000001", "2580.50"), pay("p000002", "100.00")]
    forced = reconcile([line], ps, decisions=[Decision("match", line.id, ("p000002",))])
    assert applied(forced, line)[1:] == ("manual", {"p000002"})
    refused = reconcile([line], ps, decisions=[Decision("unmatch", line.id, ("p000001",))])
    assert applied(refused, line)[0] == "unmatched"
    frozen = reconcile([line], ps, decisions=[Decision("unmatch", line.id)])
    assert applied(frozen, line)[0] == "unmatched"


def test_claimed_but_not_received_after_n_days() -> None:
    result = reconcile(
        [],
        [pay("p000001", "10.00", day=D), pay("p000002", "10.00", day=D + dt.timedelta(days=5))],
        cfg=ReconcileConfig(claimed_not_received_days=7),
        as_of=D + dt.timedelta(days=8),
    )
    assert [p.status for p in result.payments] == ["claimed_not_received", "open"]


def test_stripe_payout_split_into_orders_with_fees() -> None:
    c1 = bank(
        "1000.00",
        format="stripe",
        kind="charge",
        account="stripe:CNY",
        order_ref="SO-20261110-0001",
        fee=Decimal("34.00"),
        net=Decimal("966.00"),
        payout_id="po_1",
    )
    c2 = bank(
        "500.00",
        format="stripe",
        kind="charge",
        account="stripe:CNY",
        order_ref="SO-20261110-0002",
        fee=Decimal("17.00"),
        net=Decimal("483.00"),
        payout_id="po_1",
    )
    po = bank(
        "1449.00",
        format="stripe",
        kind="payout",
        account="stripe:CNY",
        direction=DEBIT,
        payout_id="po_1",
        trace_id="TRACE77",
        raw={"members": f"{c1.id},{c2.id}"},
        day=D + dt.timedelta(days=2),
    )
    credit = bank("1449.00", "STRIPE PAYMENTS", "STRIPE TRACE77", day=D + dt.timedelta(days=3))
    ps = [
        pay("p000001", "1000.00", order="SO-20261110-0001"),
        pay("p000002", "500.00", order="SO-20261110-0002"),
    ]
    result = reconcile([c1, c2, po, credit], ps, cfg=CFG)
    assert applied(result, credit)[:2] == ("settlement", "platform_payout_trace")
    assert applied(result, c1) == ("platform", "platform_order", {"p000001"})
    (v,) = vouchers(result, CFG)  # fees left the clearing account at sale time (platform_fee mappings)
    assert [(ln.account, ln.side, ln.amount) for ln in v.lines] == [
        ("1002", Side.DEBIT, Decimal("1449.00")),
        ("1012.04", Side.CREDIT, Decimal("966.00")),
        ("1012.04", Side.CREDIT, Decimal("483.00")),
    ]
    assert [ln.dim("order") for ln in v.lines[1:]] == ["SO-20261110-0001", "SO-20261110-0002"]


def test_customer_key_drops_legal_form_and_brackets() -> None:
    assert customer_key("上海明远贸易（有限公司）") == customer_key("上海明远贸易有限公司") == "上海明远贸易"
    assert norm_ref("ｓｏ－２０２６ 1110-0007") == "SO202611100007"


@given(
    st.text(alphabet="0123456789ABC", min_size=4, max_size=16),
    st.integers(0, 15),
    st.sampled_from("0123456789"),
)
def test_one_substitution_is_within_one_edit(text: str, pos: int, ch: str) -> None:
    i = pos % len(text)
    assert within_one_edit(text, text[:i] + ch + text[i + 1 :])
    assert within_one_edit(text, text[:i] + text[i + 1 :])
    assert not within_one_edit(text, text + "XY")
