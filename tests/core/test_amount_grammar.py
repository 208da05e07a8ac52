"""The amount grammar (sync/money.py): every written form read back exactly, the rest refused.

The writer below is the test's own (plain string work, nothing of sync.money), so a parser
that agrees with it is right by construction, not by sharing code.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.money import MoneyError, NumberFormat, parse_amount

FORMATS = [
    NumberFormat(decimal, grouping) for decimal in (".", ",") for grouping in ("western", "indian", "none")
]
amounts = st.decimals(min_value=Decimal("-9999999999.99"), max_value=Decimal("9999999999.99"), places=2)


def _groups(digits: str, grouping: str) -> list[str]:
    if grouping == "none" or len(digits) <= 3:
        return [digits]
    if grouping == "western":
        head = len(digits) % 3 or 3
        return [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    rest, last = digits[:-3], digits[-3:]
    head = len(rest) % 2 or 2
    return [rest[:head]] + [rest[i : i + 2] for i in range(head, len(rest), 2)] + [last]


def write(amount: Decimal, fmt: NumberFormat, *, grouped: bool = True) -> str:
    sign = "-" if amount < 0 else ""
    units, cents = f"{abs(amount):.2f}".split(".")
    group = "," if fmt.decimal_separator == "." else "."
    integer = group.join(_groups(units, fmt.grouping)) if grouped else units
    return f"{sign}{integer}{fmt.decimal_separator}{cents}"


@given(amount=amounts, fmt=st.sampled_from(FORMATS), grouped=st.booleans())
def test_every_amount_written_in_a_format_reads_back_exactly(
    amount: Decimal, fmt: NumberFormat, grouped: bool
) -> None:
    assert parse_amount(write(amount, fmt, grouped=grouped), fmt=fmt) == amount


@given(amount=st.decimals(min_value=Decimal("1000"), max_value=Decimal("9999999999.99"), places=2))
def test_a_european_amount_is_refused_by_default_never_read_1000_times_too_small(amount: Decimal) -> None:
    european = write(amount, NumberFormat(",", "western"))
    with pytest.raises(
        MoneyError, match=r"payment_amount: .* is not a decimal amount.*decimal_separator: \',\'"
    ):
        parse_amount(european, field="payment_amount")


@given(
    amount=st.decimals(min_value=Decimal("1000"), max_value=Decimal("9999999999.99"), places=2),
    fmt=st.sampled_from([f for f in FORMATS if f.grouping != "none"]),
    data=st.data(),
)
def test_one_group_separator_is_read_only_where_the_grouping_puts_it(
    amount: Decimal, fmt: NumberFormat, data: st.DataObject
) -> None:
    units, cents = f"{amount:.2f}".split(".")
    cut = data.draw(st.integers(min_value=1, max_value=len(units) - 1))
    text = f"{units[:cut]}{fmt.group_separator}{units[cut:]}{fmt.decimal_separator}{cents}"
    if text == write(amount, fmt):
        assert parse_amount(text, fmt=fmt) == amount
    else:
        with pytest.raises(MoneyError, match="is not a decimal amount"):
            parse_amount(text, fmt=fmt)


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        pytest.param("1.130,00", NumberFormat(), id="European under the default"),
        pytest.param("1,13,0.00", NumberFormat(), id="commas anywhere"),
        pytest.param("1,130.00.5", NumberFormat(), id="two decimal points"),
        pytest.param("1,130,00", NumberFormat(), id="a decimal comma after thousands"),
        pytest.param("1,130.00", NumberFormat(",", "western"), id="a western amount under decimal commas"),
        pytest.param("1,13,000.00", NumberFormat(), id="Indian grouping not declared"),
        pytest.param("1,130.00", NumberFormat(grouping="none"), id="grouping none refuses separators"),
        pytest.param("1e3", NumberFormat(), id="an exponent"),
    ],
)
def test_refused_forms_name_the_field(text: str, fmt: NumberFormat) -> None:
    with pytest.raises(MoneyError, match=r"^order_amount: "):
        parse_amount(text, field="order_amount", fmt=fmt)


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("1.130,00", NumberFormat(",", "western"), Decimal("1130.00")),
        ("1.234.567,89", NumberFormat(",", "western"), Decimal("1234567.89")),
        ("1,13,000.50", NumberFormat(".", "indian"), Decimal("113000.50")),
        ("97226,45", NumberFormat(",", "none"), Decimal("97226.45")),
        ("1,130", NumberFormat(), Decimal("1130")),
        ("0.00", NumberFormat(), Decimal("0.00")),
    ],
)
def test_declared_forms_are_read_exactly(text: str, fmt: NumberFormat, expected: Decimal) -> None:
    assert parse_amount(text, fmt=fmt) == expected
