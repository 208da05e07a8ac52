"""The embedded ledger behaves like an ERP: numbers, refusals, lookups, concurrency, totals."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.ledger.queries import account_totals, list_vouchers, voucher_count, vouchers_by_ref
from sync.destination import Destination, ErpRef, Outcome
from sync.errors import DestinationUnavailable
from sync.model import MappingRef, ReversalStyle, SourceRef, Voucher, VoucherLine
from tests.connectors.ledger.ledger_helpers import BOOK, line, new_ledger, receipt, sales_order


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


def test_the_ledger_is_a_destination(db: Path) -> None:
    assert isinstance(new_ledger(db), Destination)


def test_vouchers_are_numbered_per_book_period_and_group(db: Path) -> None:
    ledger = new_ledger(db)
    results = ledger.post(
        [
            sales_order(1),
            sales_order(2),
            receipt(1),
            sales_order(3),
            sales_order(4, day=dt.date(2026, 12, 1)),
            sales_order(5, book="002 深圳分公司"),
        ]
    )
    assert [r.outcome for r in results] == [Outcome.POSTED] * 6
    assert [r.ref.number for r in results if r.ref] == ["记-1", "记-2", "收-1", "记-3", "记-1", "记-1"]


def test_a_posted_voucher_is_stored_with_its_reference_lines_and_source(db: Path) -> None:
    ledger = new_ledger(db)
    v = sales_order(1)
    [result] = ledger.post([v])
    [held] = vouchers_by_ref(db, v.external_ref)
    assert result.ref == ErpRef(held.erp_id, "记-1")
    assert held.number == "记-1"
    assert (held.key, held.revision, held.source_id) == (v.key, v.revision, "6561f0a2c3b4d5e6f7a80001")
    assert [(ln.account, ln.debit, ln.credit, ln.dims) for ln in held.lines] == [
        ("1122", Decimal("1130.00"), Decimal("0.00"), {"customer": "CUST0001"}),
        ("6001", Decimal("0.00"), Decimal("1000.00"), {}),
        ("2221.01.05", Decimal("0.00"), Decimal("130.00"), {}),
    ]


def _unbalanced() -> Voucher:
    good = sales_order(9)
    lines = (*good.lines[:2], line("2221.01.05", "credit", "129.99"))
    return Voucher.model_construct(**{**dict(good), "lines": lines})  # what the model would refuse


@pytest.mark.parametrize(
    ("voucher", "message"),
    [
        pytest.param(_unbalanced(), "does not balance: debit 1130.00 != credit 1129.99", id="unbalanced"),
        pytest.param(
            sales_order(
                9,
                lines=(line("1122", "debit", "10.00", customer="CUST0001"), line("6009", "credit", "10.00")),
            ),
            "account 6009 is not in the chart of accounts",
            id="an unknown account",
        ),
        pytest.param(
            receipt(9, account="1002"),
            "account 1002 银行存款 has sub-accounts and takes no postings",
            id="a parent account",
        ),
        pytest.param(
            sales_order(9, lines=(line("1122", "debit", "10.00"), line("6001", "credit", "10.00"))),
            "account 1122 应收账款 requires the dimension customer",
            id="a missing customer dimension",
        ),
        pytest.param(
            sales_order(
                9, lines=(line("1122", "debit", "10.005", customer="C1"), line("6001", "credit", "10.005"))
            ),
            "amount 10.005 is finer than CNY allows",
            id="a fraction of a cent",
        ),
        pytest.param(
            sales_order(9, period="2026-10"),
            "voucher date 2026-11-03 is outside its period 2026-10",
            id="a date outside the period",
        ),
        pytest.param(
            sales_order(9, day=dt.date(2026, 9, 30)), "period 2026-09 is closed", id="a closed period"
        ),
    ],
)
def test_what_an_erp_refuses_is_a_permanent_failure_with_its_reason(
    db: Path, voucher: Voucher, message: str
) -> None:
    ledger = new_ledger(db, closed_periods=["2026-09"])
    refused, accepted = ledger.post([voucher, sales_order(1)])
    assert refused.outcome is Outcome.PERMANENT
    assert message in refused.message
    assert refused.message.startswith(f"{BOOK} {voucher.period}: ")
    assert accepted.outcome is Outcome.POSTED
    assert voucher_count(db) == 1
    assert ledger.lookup([voucher.external_ref]) == {}


def test_lookup_finds_posted_references_from_a_new_connection(db: Path) -> None:
    first = new_ledger(db)
    posted = first.post([sales_order(1), sales_order(2)])
    first.close()
    again = new_ledger(db)
    found = again.lookup([sales_order(2).external_ref, "sales_order:SalesOrderObj:missing#0"])
    assert found == {sales_order(2).external_ref: posted[1].ref}


def test_posting_a_held_reference_answers_with_the_voucher_it_has(db: Path) -> None:
    ledger = new_ledger(db)
    [first] = ledger.post([sales_order(1)])
    [second] = ledger.post([sales_order(1)])
    assert second.outcome is Outcome.POSTED and second.ref == first.ref
    assert voucher_count(db) == 1


def test_without_dedupe_the_ledger_posts_twice_like_a_real_erp(db: Path) -> None:
    ledger = new_ledger(db, dedupe=False)
    [first] = ledger.post([sales_order(1)])
    [second] = ledger.post([sales_order(1)])
    assert second.ref != first.ref
    assert len(vouchers_by_ref(db, sales_order(1).external_ref)) == 2
    assert ledger.lookup([sales_order(1).external_ref]) == {sales_order(1).external_ref: first.ref}


def test_a_new_revision_is_a_new_reference(db: Path) -> None:
    ledger = new_ledger(db)
    old, new = sales_order(1), sales_order(1, gross="2260.00", net="2000.00", tax="260.00")
    assert old.key == new.key and old.external_ref != new.external_ref
    results = ledger.post([old, new])
    assert [r.ref.number for r in results if r.ref] == ["记-1", "记-2"]


@pytest.mark.parametrize("style", [ReversalStyle.RED, ReversalStyle.SWAP])
def test_a_reversal_nets_every_account_to_zero(db: Path, style: ReversalStyle) -> None:
    ledger = new_ledger(db)
    v = sales_order(1)
    assert all(r.outcome is Outcome.POSTED for r in ledger.post([v, v.reversal(style)]))
    totals = account_totals(db)
    assert {a: t.balance for a, t in totals.items()} == {"1122": 0, "6001": 0, "2221.01.05": 0}


def test_two_connections_posting_at_once_number_without_gaps_or_duplicates(db: Path) -> None:
    new_ledger(db).check()  # create the file first, as a sync's check() would
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        ledger = new_ledger(db)
        try:
            for start in range(0, 40, 4):
                batch = [sales_order(offset + n) for n in range(start, start + 4)]
                assert all(r.outcome is Outcome.POSTED for r in ledger.post(batch))
        except BaseException as exc:
            errors.append(exc)
        finally:
            ledger.close()

    threads = [threading.Thread(target=worker, args=(base,)) for base in (0, 1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    numbers = [v.number for v in list_vouchers(db)]
    assert sorted(numbers, key=lambda s: int(s.split("-")[1])) == [f"记-{n}" for n in range(1, 81)]


def test_the_same_reference_from_two_connections_is_posted_once(db: Path) -> None:
    new_ledger(db).check()
    refs: list[ErpRef | None] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        ledger = new_ledger(db)
        barrier.wait()
        refs.append(ledger.post([sales_order(7)])[0].ref)
        ledger.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refs[0] == refs[1] and refs[0] is not None
    assert voucher_count(db) == 1


def test_a_ledger_locked_by_another_writer_answers_transient_and_writes_nothing(db: Path) -> None:
    new_ledger(db).check()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        [result] = new_ledger(db, busy_timeout=0.05).post([sales_order(1)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.outcome is Outcome.TRANSIENT
    assert "busy" in result.message
    assert voucher_count(db) == 0


def test_a_file_that_is_not_a_ledger_makes_the_destination_unavailable(db: Path) -> None:
    db.write_bytes(b"PK\x03\x04 this is a zip archive, not a ledger" * 100)
    with pytest.raises(DestinationUnavailable, match="cannot be opened"):
        new_ledger(db).post([sales_order(1)])


def test_check_reports_the_ledger_and_warns_about_vouchers_it_would_refuse(db: Path) -> None:
    report = new_ledger(db, closed_periods=["2026-09"]).check([sales_order(1, day=dt.date(2026, 9, 2))])
    assert report.ok
    assert "period 2026-09 is closed" in report.warnings[0]
    assert "0 vouchers posted" in report.details[0]


# -- any balanced voucher round-trips its totals ----------------------------------------------

_ACCOUNTS = {
    "1001": {},
    "1002.01": {},
    "1012.01": {},
    "1122": {"customer": "CUST0003"},
    "6001": {},
    "2221.01.05": {},
    "6603.02": {},
    "2203": {"customer": "CUST0004"},
    "2241.99": {},
}
_cents = st.integers(min_value=1, max_value=10**11).map(lambda c: Decimal(c).scaleb(-2))
_line = st.tuples(st.sampled_from(sorted(_ACCOUNTS)), st.sampled_from(["debit", "credit"]), _cents)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, min_size=1, max_size=8), st.sampled_from(sorted(_ACCOUNTS)))
def test_any_balanced_voucher_round_trips_its_totals(
    raw: list[tuple[str, str, Decimal]], balancing: str
) -> None:
    lines = [VoucherLine(account=a, side=s, amount=x, dims=_ACCOUNTS[a]) for a, s, x in raw]
    diff = sum((ln.debit - ln.credit for ln in lines), Decimal(0))
    if diff == 0:
        lines.append(
            VoucherLine(account=balancing, side="debit", amount=Decimal("0.00"), dims=_ACCOUNTS[balancing])
        )
    else:
        side = "credit" if diff > 0 else "debit"
        lines.append(VoucherLine(account=balancing, side=side, amount=abs(diff), dims=_ACCOUNTS[balancing]))
    voucher = Voucher(
        key="prop:1",
        book=BOOK,
        date=dt.date(2026, 11, 30),
        summary="性质测试",
        lines=tuple(lines),
        sources=(SourceRef(system="crm", stream="X", record_id="1"),),
        mapping=MappingRef(name="p"),
    )
    expected: dict[str, list[Decimal]] = {}
    for ln in voucher.lines:
        acc = expected.setdefault(ln.account, [Decimal(0), Decimal(0)])
        acc[0] += ln.debit
        acc[1] += ln.credit
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.db"
        ledger = new_ledger(path)
        [result] = ledger.post([voucher])
        ledger.close()
        assert result.outcome is Outcome.POSTED, result.message
        totals = account_totals(path)
        assert {a: [t.debit, t.credit] for a, t in totals.items()} == expected
        [held] = vouchers_by_ref(path, voucher.external_ref)
        assert held.total == voucher.total
