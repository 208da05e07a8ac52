"""A generated month: match rate reported, zero wrong matches, every yuan matched or in suspense,
report totals equal to statement totals."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from sync.banking import CREDIT
from sync.model import Side
from sync.money import ZERO
from sync.reconcile import ReconcileConfig, reconcile
from sync.reconcile.model import ReconcileResult
from sync.reconcile.report import build_report, statement_totals
from sync.reconcile.vouchers import vouchers
from tests.reconcile.generator import Month, generate

CFG = ReconcileConfig(tolerance=Decimal("30"), bank_accounts={"755912345610901": "1002.02"})


@pytest.fixture(scope="module")
def month() -> Month:
    return generate(seed=7, orders=3000)


@pytest.fixture(scope="module")
def result(month: Month) -> ReconcileResult:
    return reconcile(month.bank, month.payments, month.orders, cfg=CFG, as_of=dt.date(2026, 11, 30))


def test_the_month_is_big_enough(month: Month) -> None:
    assert len(month.payments) > 3000
    assert Counter(month.scenario.values())["typo"] > 100


def test_zero_wrong_matches_and_the_match_rate(month: Month, result: ReconcileResult) -> None:
    wrong = []
    for r in result.bank:
        got = {a.payment_id for a in r.allocations if a.payment_id}
        if got and not got <= month.truth.get(r.txn.id, set()):
            wrong.append((r.txn.id, month.scenario.get(r.txn.id), r.rule, got, month.truth.get(r.txn.id)))
    receipts = [
        r
        for r in result.bank
        if r.txn.format == "camt053"
        and r.txn.direction == CREDIT
        and month.scenario.get(r.txn.id) not in {None, "stranger", "reversed"}
    ]
    matched = [r for r in receipts if r.status in {"matched", "settlement"}]
    rate = len(matched) / len(receipts)
    by_scenario = Counter((month.scenario[r.txn.id], r.status) for r in receipts)
    print(f"\nmatch rate {rate:.4f} over {len(receipts)} receipts; {dict(sorted(by_scenario.items()))}")
    assert wrong == []
    assert rate > 0.9


def test_strangers_land_in_suspense(month: Month, result: ReconcileResult) -> None:
    by_id = result.by_bank_id()
    strangers = [i for i, s in month.scenario.items() if s == "stranger"]
    assert strangers and all(
        by_id[i].status == "unmatched" and by_id[i].suspense == by_id[i].txn.amount for i in strangers
    )


def test_claimed_but_never_received(month: Month, result: ReconcileResult) -> None:
    flagged = {p.payment.id for p in result.payments if p.status == "claimed_not_received"}
    assert month.never_paid <= flagged | {p.payment.id for p in result.payments if p.status == "open"}
    assert month.never_paid & flagged


def test_the_stripe_payout_and_alipay_settlement_reach_the_bank(
    month: Month, result: ReconcileResult
) -> None:
    by_id = result.by_bank_id()
    for credit in month.settlement_credits:
        assert by_id[credit].status == "settlement", month.scenario[credit]
    stripe = next(s for s in result.settlements if s.platform == "stripe")
    assert stripe.rule == "platform_payout_trace" and stripe.fees > 0


def test_every_bank_yuan_is_matched_or_in_suspense(month: Month, result: ReconcileResult) -> None:
    for r in result.bank:
        if r.txn.direction == CREDIT and r.status in {"matched", "partial", "unmatched"}:
            assert r.allocated + r.suspense == r.txn.amount
            assert r.suspense >= 0
    books = vouchers(result, CFG)
    # what reaches the bank beyond the CRM's own 回款 vouchers: suspense and settlements, to the cent
    bank = [ln for v in books for ln in v.lines if ln.account == "1002.02"]
    settled = sum((r.txn.amount for r in result.bank if r.status == "settlement"), ZERO)
    suspense = sum((r.suspense for r in result.bank), ZERO)
    assert sum((ln.amount for ln in bank if ln.side is Side.DEBIT), ZERO) == settled + suspense
    assert sum((ln.amount for v in books for ln in v.lines if ln.account == "2241.99"), ZERO) == suspense > 0
    fees = sum((r.fee for r in result.bank), ZERO)
    assert sum((ln.amount for ln in bank if ln.side is Side.CREDIT), ZERO) == fees > 0


def test_report_totals_equal_statement_totals(month: Month, result: ReconcileResult) -> None:
    report = build_report(result)
    rows = report.totals()
    assert all(t.ties for t in rows)
    net: dict[tuple[str, str], Decimal] = {}
    for t in rows:
        net[(t.account, t.currency)] = net.get((t.account, t.currency), ZERO) + t.credits - t.debits
    assert net == statement_totals(result)
    expected = sum((t.signed_amount for t in month.bank if t.account == "755912345610901"), ZERO)
    assert net[("755912345610901", "CNY")] == expected
