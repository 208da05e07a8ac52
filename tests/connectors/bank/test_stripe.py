"""Stripe balance transactions against the fake API: fees, metadata, refunds, payouts, paging."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.bank.source import BankSource
from tests.connectors.bank.airbyte_run import run_read
from tests.fakes.stripe import FakeStripe


def _config(st: FakeStripe, **extra: object) -> dict[str, object]:
    return {"format": "stripe", "api_key": st.api_key, "base_url": st.url, "page_size": 2, **extra}


def test_charges_refunds_and_payout_with_members() -> None:
    with FakeStripe() as st:
        charges = [
            st.charge(113000 + i * 100, f"SO-20261103-{i:04d}", name="上海明远贸易有限公司") for i in range(4)
        ]
        st.refund(charges[0], 20000)
        po = st.payout(charges[1:3], arrival=1_762_300_000, trace="CMB20261106TRACE01")
        result = run_read(BankSource(), _config(st))
    assert not result.errors
    by_id = {r["id"]: r for r in result.records}
    ch = by_id[charges[1]["id"]]
    assert (ch["amount"], ch["fee"], ch["net"], ch["order_ref"]) == (
        "1131.00",
        "38.45",
        "1092.55",
        "SO-20261103-0001",
    )
    assert ch["payout_id"] == by_id[po["id"]]["payout_id"]
    payout = by_id[po["id"]]
    assert payout["kind"] == "payout" and payout["trace_id"] == "CMB20261106TRACE01"
    members = payout["raw"]["members"].split(",")
    assert sorted(members) == sorted([charges[1]["id"], charges[2]["id"]])
    assert Decimal(payout["amount"]) == sum(Decimal(by_id[m]["net"]) for m in members)
    refund = by_id[next(t for t in st.txns if t["type"] == "refund")["id"]]
    assert refund["direction"] == "debit" and refund["order_ref"] == "SO-20261103-0000"


def test_pagination_uses_starting_after() -> None:
    with FakeStripe() as st:
        for i in range(5):
            st.charge(10000, f"SO-{i}")
        result = run_read(BankSource(), _config(st))
    assert len(result.records) == 5
    assert sum("starting_after=" in r for r in st.requests) == 2


def test_rate_limit_is_retried_and_bad_key_is_refused() -> None:
    with FakeStripe() as st:
        st.charge(10000, "SO-1")
        st.rate_limit_next = 1
        ok = run_read(BankSource(), _config(st))
        bad = run_read(BankSource(), _config(st, api_key="sk_test_51QaWrongKey0000000000000000000"))
    assert len(ok.records) == 1 and not ok.errors
    assert bad.records == [] and "refused the API key" in bad.errors[0]
    assert "WrongKey" not in bad.errors[0]


def test_incremental_run_rereads_the_overlap_only() -> None:
    with FakeStripe() as st:
        st.charge(10000, "SO-1", created=1_762_000_000)
        first = run_read(BankSource(), _config(st, overlap_days=0))
        st.charge(20000, "SO-2", created=1_762_100_000)
        second = run_read(BankSource(), _config(st, overlap_days=0), first.state)
    # created[gte] the saved cursor: the boundary record comes again (dedupe is by id downstream)
    assert [r["order_ref"] for r in second.records] == ["SO-1", "SO-2"]
    assert second.state == {"created": 1_762_100_000}


@pytest.mark.parametrize(
    ("currency", "minor", "amount"),
    [
        ("CLP", 1000, "1000"),
        ("JPY", 1500, "1500"),
        ("MGA", 2500, "2500"),
        ("KWD", 1234, "1.234"),
        ("EUR", 1050, "10.50"),
    ],
)
def test_amounts_follow_stripes_own_currency_decimals(currency: str, minor: int, amount: str) -> None:
    from connectors.bank.stripe import _money

    assert _money(minor, currency) == Decimal(amount)


@pytest.mark.parametrize(
    ("txn", "kind", "reversal"),
    [
        ({"type": "payout_failure", "reporting_category": "payout_reversal"}, "payout", True),
        ({"type": "payout_cancel"}, "payout", True),
        ({"type": "stripe_fx_fee", "reporting_category": "fee"}, "fee", False),
        ({"type": "tax_fee", "reporting_category": "tax"}, "fee", False),
        ({"type": "refund_failure", "reporting_category": "refund_failure"}, "refund", True),
        ({"type": "adjustment", "reporting_category": "dispute"}, "refund", False),
        ({"type": "payment_reversal"}, "charge", True),
        ({"type": "transfer_cancel"}, "transfer", True),
        ({"type": "climate_order_purchase", "reporting_category": "climate_order_purchase"}, "other", False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_classified_by_reporting_category_then_type(txn: dict[str, str], kind: str, reversal: bool) -> None:
    from connectors.bank.stripe import classify

    assert classify(txn) == (kind, reversal)


def test_a_failed_payout_comes_back_as_a_reversal_not_a_second_payout() -> None:
    from connectors.bank.stripe import to_transaction

    failed = to_transaction(
        {"id": "txn_1PfailX", "type": "payout_failure", "reporting_category": "payout_reversal",
         "amount": 1_250_000, "fee": 0, "net": 1_250_000, "currency": "cny", "created": 1794931200,
         "source": {"id": "po_1Pabc"}},
        "order_no",
    )  # fmt: skip
    assert (failed.kind, failed.reversal, failed.direction) == ("payout", True, "credit")
    assert failed.amount == Decimal("12500.00") and failed.payout_id == "po_1Pabc"
