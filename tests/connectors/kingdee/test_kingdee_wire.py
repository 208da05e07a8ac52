"""Amounts on the Kingdee wire: exact both ways, never through float (property tests)."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.kingdee.wire import dumps, loads

amounts = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@given(amounts)
def test_an_amount_survives_the_round_trip_exactly(amount: Decimal) -> None:
    text = dumps({"FDEBIT": amount})
    assert re.fullmatch(r'\{"FDEBIT":-?\d+\.\d\d\}', text), text  # fixed point, never 1E+3
    assert loads(text)["FDEBIT"] == amount


@given(st.lists(amounts, min_size=1, max_size=30))
def test_a_list_of_amounts_sums_to_the_same_cents_after_the_wire(values: list[Decimal]) -> None:
    assert sum(loads(dumps(values)), Decimal(0)) == sum(values, Decimal(0))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_everything_else_is_written_as_json_dumps_writes_it(value: object) -> None:
    assert json.loads(dumps(value)) == value
    assert json.loads(dumps(value, indent=2)) == value


def test_a_float_is_refused_before_it_can_lose_a_cent() -> None:
    with pytest.raises(TypeError, match="floats cannot carry money"):
        dumps({"FDEBIT": 0.1 + 0.2})


def test_cents_are_kept_as_written() -> None:
    assert dumps({"FDEBIT": Decimal("11300.00"), "FCREDIT": Decimal(0)}) == '{"FDEBIT":11300.00,"FCREDIT":0}'
