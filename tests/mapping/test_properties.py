"""Properties that must hold for any input: balance, exact tax split, summing, no floats."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.mapping import MappingSet
from sync.mapping.expr import Scope, compile_expression, tax_split
from sync.model import Voucher

READY = Path(__file__).resolve().parents[2] / "mappings" / "fxiaoke-kingdee"

cents = st.integers(min_value=1, max_value=10**11).map(lambda n: Decimal(n).scaleb(-2))
rates = st.integers(min_value=0, max_value=5000).map(lambda n: Decimal(n).scaleb(-4))
day_ms = st.integers(min_value=1_767_196_800_000, max_value=1_798_732_799_000)  # 2026 in China time

SPLIT = """\
version: 1
name: split
source: crm
stream: PaymentObj
rounding_difference: {account: "6603.03", max: "0.05"}
let:
  total: amount(payment_amount)
  vat: tax_split(total, amount(rate))
voucher: {book: "001", date: date(payment_time), summary: "拆分 {{ _id }}"}
lines:
  - {account: "1002.01", debit: total}
  - {account: "6001", credit: vat.net / 3}
  - {account: "6001", credit: vat.net * 2 / 3, dims: {project: P2}}
  - {account: "2221.01.05", credit: vat.tax}
"""


def _mappings(tmp: Path, text: str) -> MappingSet:
    path = tmp / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return MappingSet.load([path], base_dir=tmp)


def _balanced(v: Voucher) -> bool:
    return sum(ln.debit for ln in v.lines) == sum(ln.credit for ln in v.lines)


@settings(max_examples=150, deadline=None)
@given(gross=cents, rate=rates)
def test_net_plus_tax_is_gross_exactly(gross: Decimal, rate: Decimal) -> None:
    split = tax_split(gross, rate)
    assert split.net + split.tax == gross
    assert split.net.as_tuple().exponent == -2 and split.tax.as_tuple().exponent == -2
    assert abs(split.net * (1 + rate) - gross) <= Decimal("0.005") * (1 + rate)


_SALES = MappingSet.load([READY / "sales_order_confirmed.yaml"], base_dir=READY)


@settings(max_examples=150, deadline=None)
@given(gross=cents, when=day_ms)
def test_ready_sales_order_balances_and_splits_vat(gross: Decimal, when: int) -> None:
    record = {
        "_id": "65a1f0c2e4b0a1000001aaa1",
        "name": "SO-1",
        "account_id": "acc",
        "order_time": when,
        "order_amount": f"{gross:.2f}",
        "life_status": "normal",
    }
    (result,) = _SALES.map_record("crm", "SalesOrderObj", record)
    assert result.error is None, result.error
    (v,) = result.vouchers
    assert _balanced(v)
    debit = next(ln for ln in v.lines if ln.account == "1122")
    assert debit.amount == gross
    assert sum(ln.amount for ln in v.lines if ln.side.value == "credit") == gross


@settings(max_examples=100, deadline=None)
@given(total=cents, rate=rates, when=day_ms)
def test_every_produced_voucher_balances(total: Decimal, rate: Decimal, when: int) -> None:
    ms = _split_mappings()
    record = {"_id": "x", "payment_amount": str(total), "rate": str(rate), "payment_time": when}
    (result,) = ms.map_record("crm", "PaymentObj", record)
    # either a balanced voucher or a located failure: never an exception, never an unbalanced voucher
    if result.error is None:
        assert _balanced(result.vouchers[0])
    else:
        assert "does not balance" in result.error.message


_SPLIT_CACHE: list[MappingSet] = []


def _split_mappings() -> MappingSet:
    if not _SPLIT_CACHE:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            _SPLIT_CACHE.append(_mappings(Path(tmp), SPLIT))
    return _SPLIT_CACHE[0]


SUMMARY = """\
version: 1
name: daily
source: crm
stream: PaymentObj
voucher: {book: "001", date: date(payment_time), summary: "回款 {{ _id }}"}
summarise:
  by: {day: date(payment_time), customer: account_id}
lines:
  - {account: "1002.01", debit: amount(payment_amount)}
  - {account: "1122", credit: amount(payment_amount), dims: {customer: "{{ account_id }}"}}
"""

payments = st.lists(
    st.tuples(
        cents, st.sampled_from(["C001", "C002", "C003"]), st.sampled_from([1793841300000, 1793934000000])
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=100, deadline=None)
@given(rows=payments, seed=st.integers(0, 2**32))
def test_summarised_totals_equal_the_sum_of_their_parts(
    rows: list[tuple[Decimal, str, int]], seed: int
) -> None:
    ms = _summary_mappings()
    groups: dict[str, list] = {}
    for i, (amount, customer, when) in enumerate(rows):
        record = {
            "_id": f"p{i:03d}",
            "account_id": customer,
            "payment_amount": str(amount),
            "payment_time": when,
        }
        (result,) = ms.map_record("crm", "PaymentObj", record)
        (c,) = result.contributions
        groups.setdefault(c.group_key, []).append(c)
    total = Decimal(0)
    for key, members in groups.items():
        v = ms.assemble("daily", key, members)
        shuffled = list(members)
        random.Random(seed).shuffle(shuffled)
        again = ms.assemble("daily", key, shuffled)
        assert again == v and again.revision == v.revision  # order-independent
        assert _balanced(v)
        assert len(v.sources) == len(members)
        total += v.total
    assert total == sum((r[0] for r in rows), Decimal(0))


_SUMMARY_CACHE: list[MappingSet] = []


def _summary_mappings() -> MappingSet:
    if not _SUMMARY_CACHE:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            _SUMMARY_CACHE.append(_mappings(Path(tmp), SUMMARY))
    return _SUMMARY_CACHE[0]


@settings(max_examples=150, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True), when=day_ms)
def test_a_float_amount_never_becomes_a_voucher(value: float, when: int) -> None:
    record = {
        "_id": "f",
        "name": "SO-F",
        "account_id": "a",
        "order_time": when,
        "order_amount": value,
        "life_status": "normal",
    }
    (result,) = _SALES.map_record("crm", "SalesOrderObj", record)
    assert result.error is not None and not result.vouchers
    assert "float" in result.error.message and result.error.field == "order_amount"


@settings(max_examples=100, deadline=None)
@given(gross=cents, rate=rates)
def test_amounts_on_vouchers_are_decimals_and_literals_never_pass_through_float(
    gross: Decimal, rate: Decimal
) -> None:
    literal = compile_expression(f"amount(g) * {rate}")
    value = literal(Scope({"g": str(gross)}))
    assert type(value) is Decimal and value == gross * rate
    record = {
        "_id": "d",
        "name": "SO",
        "account_id": "a",
        "order_time": 1793671200000,
        "order_amount": str(gross),
        "life_status": "normal",
    }
    (result,) = _SALES.map_record("crm", "SalesOrderObj", record)
    for line in result.vouchers[0].lines:
        assert type(line.amount) is Decimal


def test_a_literal_with_many_digits_stays_exact() -> None:
    fn = compile_expression("0.1 + 0.2")
    assert fn(Scope({})) == Decimal("0.3")
    assert compile_expression("{{ 1.000000000000000000001 }}")(Scope({})) == Decimal(
        "1.000000000000000000001"
    )


@settings(max_examples=150, deadline=None)
@given(a=cents, b=cents, op=st.sampled_from(["+", "-", "*"]))
def test_expression_arithmetic_is_exact_decimal_arithmetic(a: Decimal, b: Decimal, op: str) -> None:
    value = compile_expression(f"amount(a) {op} amount(b)")(Scope({"a": str(a), "b": str(b)}))
    expected = {"+": a + b, "-": a - b, "*": a * b}[op]
    assert type(value) is Decimal and value == expected
