"""Aging, overdue, exposure and collections against an independent computation on generated data."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.crm import CrmFields, load_book
from sync.reports.aging import aging_table, overdue_table
from sync.reports.collections import collection_tables
from sync.reports.credit import credit_tables
from tests.reports.gen import START, Generated, generate, ms, oid

ZERO = Decimal(0)
AS_OF = dt.date(2026, 12, 15)


def expected_open(g: Generated, as_of: dt.date) -> dict[str, Decimal]:
    """order id -> amount still owed (only orders with something owed), computed from the truth."""
    paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in g.payments:
        if p.date <= as_of:
            for order_id, part in p.parts:
                if order_id:
                    paid[order_id] += part
    for r in g.refunds:  # money paid back on an order is owed on it again
        if r.order and r.date <= as_of:
            paid[r.order] -= r.amount
    return {o.id: o.amount - paid[o.id] for o in g.orders if o.date <= as_of and o.amount - paid[o.id] > 0}


def expected_bucket(days: int) -> str:
    if days <= 30:
        return "d0_30"
    if days <= 60:
        return "d31_60"
    if days <= 90:
        return "d61_90"
    return "d90p"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), offset=st.integers(0, 260))
def test_aging_buckets_equal_the_independent_computation(seed: int, offset: int) -> None:
    g = generate(seed, refunds=True)
    as_of = START + dt.timedelta(days=offset)
    table = aging_table(load_book(g.records), as_of)
    want: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    orders = {o.id: o for o in g.orders}
    for order_id, owed in expected_open(g, as_of).items():
        order = orders[order_id]
        want[(order.account, expected_bucket((as_of - order.date).days))] += owed
    got = {}
    for row in table.records():
        for bucket in ("d0_30", "d31_60", "d61_90", "d90p"):
            if row[bucket]:
                got[(str(row["account_id"]), bucket)] = row[bucket]
    assert got == {k: v for k, v in want.items() if v}
    assert table.totals is not None
    assert table.totals[table.column("open")] == sum(expected_open(g, as_of).values(), ZERO)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), offset=st.integers(0, 260))
def test_exposure_is_orders_minus_payments_plus_refunds_per_customer(seed: int, offset: int) -> None:
    g = generate(seed, refunds=True)
    as_of = START + dt.timedelta(days=offset)
    credit, _ = credit_tables(load_book(g.records), as_of)
    want: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for o in g.orders:
        if o.date <= as_of:
            want[o.account] += o.amount
    for p in g.payments:
        if p.date <= as_of:
            want[p.account] -= p.amount
    for r in g.refunds:
        if r.date <= as_of:
            want[r.account] += r.amount
    got = {str(r["account_id"]): r["exposure"] for r in credit.records()}
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_collections_by_month_customer_method_owner_and_order(seed: int) -> None:
    g = generate(seed, refunds=True)
    start, end = dt.date(2026, 7, 1), dt.date(2026, 12, 31)
    tables = {t.name: t for t in collection_tables(load_book(g.records), start, end, "month")}
    inside = [p for p in g.payments if start <= p.date <= end]
    total = sum((p.amount for p in inside), ZERO)
    for t in tables.values():
        assert t.totals is not None
        if t.name != "refunds":
            assert t.totals[t.column("amount")] == total, t.name
    refunded = sum((r.amount for r in g.refunds if start <= r.date <= end), ZERO)
    received = tables["received"]
    assert received.totals is not None and tables["refunds"].totals is not None
    assert tables["refunds"].totals[tables["refunds"].column("amount")] == refunded
    assert received.totals[received.column("refunded")] == refunded
    assert received.totals[received.column("net")] == total - refunded
    by_month: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in inside:
        by_month[f"{p.date:%Y-%m}"] += p.amount
    for r in g.refunds:
        if start <= r.date <= end:
            by_month[f"{r.date:%Y-%m}"] -= r.amount
    assert {str(r["period"]): r["net"] for r in received.records()} == dict(by_month)
    want_customer: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    want_method: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    want_owner: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for p in inside:
        month = f"{p.date:%Y-%m}"
        want_customer[(month, g.names[p.account])] += p.amount
        want_method[(month, p.method)] += p.amount
        want_owner[(month, p.owner)] += p.amount
    assert {
        (r["period"], r["customer"]): r["amount"] for r in tables["by_customer"].records()
    } == want_customer
    assert {(r["period"], r["method"]): r["amount"] for r in tables["by_method"].records()} == want_method
    assert {(r["period"], r["owner"]): r["amount"] for r in tables["by_owner"].records()} == want_owner
    owed = {o.id: o.amount for o in g.orders if o.date <= end}
    for p in g.payments:
        for order_id, part in p.parts:
            if order_id in owed and p.date <= end:
                owed[order_id] -= part
    for rf in g.refunds:
        if rf.order in owed and rf.date <= end:
            owed[rf.order] += rf.amount
    names = {r[1]["name"]: r[1]["_id"] for r in g.records if r[0] == "SalesOrderObj"}
    for row in tables["by_order"].records():
        if row["customer"] and row["open"] is not None:
            assert row["open"] == max(owed[names[str(row["order"])]], ZERO)  # an overpaid order owes 0
    unapplied = sum((part for p in inside for order_id, part in p.parts if not order_id), ZERO)
    got_unapplied = sum((r["amount"] for r in tables["by_order"].records() if r["customer"] == ""), ZERO)
    assert got_unapplied == unapplied


def test_quarter_and_day_labels() -> None:
    g = generate(7)
    tables = collection_tables(load_book(g.records), dt.date(2026, 1, 1), dt.date(2026, 12, 31), "quarter")
    assert {r["period"] for r in tables[0].records()} <= {"2026-Q2", "2026-Q3", "2026-Q4"}
    days = collection_tables(load_book(g.records), dt.date(2026, 1, 1), dt.date(2026, 12, 31), "day")
    assert all(len(str(r["period"])) == 10 for r in days[0].records())


def test_a_payment_just_after_midnight_china_time_belongs_to_the_next_month() -> None:
    aid = oid("a", 1)
    records = [
        (
            "SalesOrderObj",
            {
                "_id": oid("0", 1),
                "name": "SO-1",
                "account_id": aid,
                "account_id__r": "杭州西溪茶业",
                "order_time": ms(dt.date(2026, 11, 30), 23, 30),
                "order_amount": "1130.00",
            },
        ),
        # 2026-12-01 00:10 in Shanghai is still 2026-11-30 in UTC
        (
            "PaymentObj",
            {
                "_id": oid("b", 1),
                "name": "P-1",
                "account_id": aid,
                "order_id": oid("0", 1),
                "payment_time": ms(dt.date(2026, 12, 1), 0, 10),
                "payment_amount": "1,130.00",
                "payment_term": "银行转账",
            },
        ),
    ]
    book = load_book(records)
    november = collection_tables(book, dt.date(2026, 11, 1), dt.date(2026, 11, 30), "month")[0]
    assert november.rows == ()
    aging_nov = aging_table(book, dt.date(2026, 11, 30))
    assert aging_nov.records()[0]["d0_30"] == Decimal("1130.00")
    assert aging_table(book, dt.date(2026, 12, 1)).rows == ()


def test_overdue_uses_the_due_date_field_when_configured() -> None:
    aid = oid("a", 2)
    records = [
        ("AccountObj", {"_id": aid, "name": "成都锦城建材"}),
        (
            "SalesOrderObj",
            {
                "_id": oid("0", 1),
                "name": "SO-A",
                "account_id": aid,
                "order_amount": "5000.50",
                "order_time": ms(dt.date(2026, 10, 1)),
                "due_date__c": ms(dt.date(2026, 12, 31)),
            },
        ),
        (
            "SalesOrderObj",
            {
                "_id": oid("0", 2),
                "name": "SO-B",
                "account_id": aid,
                "order_amount": "800.00",
                "order_time": ms(dt.date(2026, 11, 1)),
                "due_date__c": ms(dt.date(2026, 11, 10)),
            },
        ),
    ]
    book = load_book(records, CrmFields(order_due_date="due_date__c"))
    rows = overdue_table(book, dt.date(2026, 12, 1)).records()
    assert [(r["order"], r["overdue_days"], r["open"]) for r in rows] == [("SO-B", 21, Decimal("800.00"))]


def test_customers_over_their_limit_from_a_csv(tmp_path: object) -> None:
    from pathlib import Path

    from sync.reports.credit import read_limits_csv

    assert isinstance(tmp_path, Path)
    aid = oid("a", 3)
    records = [
        ("AccountObj", {"_id": aid, "name": "深圳前海云帆电子", "credit_limit__c": "10000.00"}),
        (
            "SalesOrderObj",
            {
                "_id": oid("0", 1),
                "name": "SO-X",
                "account_id": aid,
                "order_amount": "12000.01",
                "order_time": ms(dt.date(2026, 11, 1)),
            },
        ),
    ]
    crm_limit = load_book(records, CrmFields(credit_limit="credit_limit__c"))
    _, over = credit_tables(crm_limit, dt.date(2026, 11, 2))
    assert [r["account"] for r in over.records()] == ["深圳前海云帆电子"]
    csv_file = tmp_path / "limits.csv"
    csv_file.write_text('account,credit_limit\n深圳前海云帆电子,"20,000.00"\n', encoding="utf-8")
    _, over = credit_tables(crm_limit, dt.date(2026, 11, 2), read_limits_csv(csv_file))
    assert over.rows == ()


def test_a_credit_limit_for_no_known_customer_is_named_not_dropped() -> None:
    from sync.reports.credit import unmatched_limits

    aid = oid("a", 3)
    book = load_book([("AccountObj", {"_id": aid, "name": "深圳前海云帆电子"})])
    limits = {
        "深圳前海云帆电子": Decimal("20000.00"),
        "深圳前海云帆电子有限公司": Decimal("5000.00"),
        aid: Decimal(1),
    }
    (problem,) = unmatched_limits(book, limits)
    assert "'深圳前海云帆电子有限公司'" in problem and "5,000.00" in problem and "not applied" in problem


def test_an_overpaid_order_owes_nothing_and_its_excess_is_unapplied_cash() -> None:
    aid = oid("a", 1)
    records = [
        ("AccountObj", {"_id": aid, "name": "上海明远贸易有限公司"}),
        ("SalesOrderObj", {"_id": oid("0", 1), "name": "SO-20261101-0001", "account_id": aid,
                           "order_amount": "1000.00", "order_time": ms(dt.date(2026, 11, 1))}),
        ("PaymentObj", {"_id": oid("b", 1), "name": "P-1", "account_id": aid, "order_id": oid("0", 1),
                        "payment_amount": "1222.23", "payment_time": ms(dt.date(2026, 11, 5)),
                        "payment_term": "1"}),
    ]  # fmt: skip
    book = load_book(records)
    tables = {
        t.name: t for t in collection_tables(book, dt.date(2026, 11, 1), dt.date(2026, 11, 30), "month")
    }
    (row,) = [r for r in tables["by_order"].records() if r["customer"]]
    assert row["open"] == ZERO and row["received_to_date"] == Decimal("1222.23")
    (aging,) = aging_table(book, dt.date(2026, 11, 30)).records()
    assert aging["unapplied"] == Decimal("222.23") and aging["net"] == Decimal("-222.23")


def test_unreadable_records_are_reported_not_dropped() -> None:
    book = load_book(
        [
            (
                "PaymentObj",
                {"_id": "x1", "account_id": "a", "payment_time": 1764000000000, "payment_amount": 12.5},
            )
        ]
    )
    assert book.payments == {}
    assert "float" in book.problems[0]


def test_bucket_boundaries_are_inclusive_at_30_60_90_days() -> None:
    aid = oid("a", 4)
    ages = [0, 30, 31, 60, 61, 90, 91, 400]
    records = [("AccountObj", {"_id": aid, "name": "北京华信科技有限公司"})]
    for n, age in enumerate(ages, 1):
        day = AS_OF - dt.timedelta(days=age)
        records.append(
            (
                "SalesOrderObj",
                {
                    "_id": oid("0", n),
                    "name": f"SO-{age}",
                    "account_id": aid,
                    "order_time": ms(day, 23, 59),
                    "order_amount": f"{10**n}.01",
                },
            )
        )
    row = aging_table(load_book(records), AS_OF).records()[0]
    assert row["d0_30"] == Decimal("10.01") + Decimal("100.01")
    assert row["d31_60"] == Decimal("1000.01") + Decimal("10000.01")
    assert row["d61_90"] == Decimal("100000.01") + Decimal("1000000.01")
    assert row["d90p"] == Decimal("10000000.01") + Decimal("100000000.01")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), offset=st.integers(0, 260))
def test_dso_is_the_net_receivable_over_the_last_90_days_of_orders(seed: int, offset: int) -> None:
    g = generate(seed, refunds=True)
    as_of = START + dt.timedelta(days=offset)
    table = aging_table(load_book(g.records), as_of)
    window = [o for o in g.orders if as_of - dt.timedelta(days=89) <= o.date <= as_of]
    for row in table.records():
        aid = str(row["account_id"])
        sales = sum((o.amount for o in window if o.account == aid), ZERO)
        net = max(Decimal(str(row["net"])), ZERO)
        want = None if not sales else int((net * 90 / sales).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        assert row["dso"] == want, (aid, net, sales)
