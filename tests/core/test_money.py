"""sync.money is the one doorway for amounts: exact in, exact out, floats refused."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.money import MoneyError, format_amount, minor_unit, parse_amount, round_money


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1130.00", Decimal("1130.00"), id="a CRM amount string keeps its cents"),
        pytest.param(
            " 1,130.50 ", Decimal("1130.50"), id="thousands separators from bank files are accepted"
        ),
        pytest.param("-0.01", Decimal("-0.01"), id="a negative cent"),
        pytest.param(42, Decimal(42), id="an int is exact"),
    ],
)
def test_parse_amount_reads_exact_values(text: object, expected: Decimal) -> None:
    assert parse_amount(text) == expected


def test_parse_amount_refuses_a_float_and_says_why() -> None:
    with pytest.raises(MoneyError, match=r"order_amount: amount 1130\.1 is a float"):
        parse_amount(1130.1, field="order_amount")


@pytest.mark.parametrize("bad", ["12元", "1e5", "NaN", "", "1.2.3", None, True, [1]])
def test_parse_amount_refuses_non_amounts_naming_the_field(bad: object) -> None:
    with pytest.raises(MoneyError, match="payment_amount"):
        parse_amount(bad, field="payment_amount")


def test_round_money_defaults_to_half_up_at_the_currency_minor_unit() -> None:
    assert round_money(Decimal("1000.005")) == Decimal("1000.01")
    assert round_money(Decimal("1000.005"), mode="half_even") == Decimal("1000.00")
    assert round_money(Decimal("1234.5"), "JPY") == Decimal("1235")


def test_minor_units_follow_iso_4217() -> None:
    assert (minor_unit("CNY"), minor_unit("JPY"), minor_unit("KWD")) == (2, 0, 3)


def test_format_amount_prints_fixed_point_cents() -> None:
    assert format_amount(Decimal("1130")) == "1130.00"
    assert format_amount(Decimal("-5.5")) == "-5.50"


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_any_two_place_amount_survives_text_round_trip(amount: Decimal) -> None:
    assert parse_amount(format_amount(amount)) == amount


def test_a_sum_of_amounts_is_exact_or_refused_never_rounded() -> None:
    from decimal import Inexact

    from sync.money import total

    assert total([Decimal("97226.45"), Decimal("-0.45"), Decimal("0.001")]) == Decimal("97226.001")
    assert total([]) == Decimal(0)
    huge = Decimal("9" * 34)  # the default 28-digit context would round this sum silently
    with pytest.raises(Inexact):
        total([huge, Decimal("0.01")])
