"""The expression language on its own: typed results, templates, and located compile errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sync.mapping.expr import CompileError, EvalError, Scope, compile_expression, compile_template


def ev(text: str, record: dict | None = None) -> object:
    return compile_expression(text)(Scope(record or {}))


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        pytest.param(
            "amount(a) + amount(b)", {"a": "0.10", "b": "0.20"}, Decimal("0.30"), id="decimal sum is exact"
        ),
        pytest.param("amount(a) / 3", {"a": "1.00"}, Decimal(1) / 3, id="division keeps decimal precision"),
        pytest.param("round(amount(a) / 3)", {"a": "1.00"}, Decimal("0.33"), id="explicit rounding"),
        pytest.param("round(amount(a), mode='half_even')", {"a": "0.125"}, Decimal("0.12"), id="half even"),
        pytest.param("round(amount(a))", {"a": "0.125"}, Decimal("0.13"), id="half up by default"),
        pytest.param("date(t)", {"t": 1796056200000}, dt.date(2026, 12, 1), id="epoch ms in china time"),
        pytest.param("date(t).month", {"t": 1796052600000}, 11, id="date attribute"),
        pytest.param("period(t)", {"t": "1796052600000"}, "2026-11", id="period from ms text"),
        pytest.param("s in ('normal', 'in_change')", {"s": "normal"}, True, id="membership"),
        pytest.param("get('x', 'none')", {}, "none", id="get default"),
        pytest.param("has('x')", {"x": ""}, False, id="empty is absent for has"),
        pytest.param("first(owner)", {"owner": ["1000", "1001"]}, "1000", id="first of a list"),
        pytest.param("'A' if amount(a) > 0 else 'B'", {"a": "-1"}, "B", id="conditional"),
        pytest.param("tax_split(amount(g), 0.06).tax", {"g": "106.00"}, Decimal("6.00"), id="6 percent vat"),
        pytest.param(
            "fx(amount(u), dec('7.1234'))", {"u": "10.01"}, Decimal("71.31"), id="fx rounds to cents"
        ),
        pytest.param("record['字段 名']", {"字段 名": "值"}, "值", id="odd field names"),
    ],
)
def test_expressions_return_typed_values(text: str, record: dict, expected: object) -> None:
    value = ev(text, record)
    assert value == expected and type(value) is type(expected)


def test_templates_render_decimals_dates_and_none() -> None:
    render = compile_template("{{ d }} {{ amount(a) }} [{{ get('x') }}] {{ n }}")
    assert render(Scope({"d": "2026-11-03", "a": "1130.00", "n": 3})) == "2026-11-03 1130.00 [] 3"


@pytest.mark.parametrize(
    ("text", "record", "message", "field"),
    [
        pytest.param("amount(a)", {}, "field 'a' is missing", "a", id="missing field"),
        pytest.param("amount(a)", {"a": "abc"}, "'abc' is not a decimal amount", "a", id="non-numeric"),
        pytest.param("amount(a)", {"a": None}, "amount is missing (null)", "a", id="null amount"),
        pytest.param("a + 1", {"a": 1.5}, "is a float", "a", id="float field"),
        pytest.param("a * 2", {"a": "10.00"}, "cannot do arithmetic with text", "", id="text arithmetic"),
        pytest.param("date(t)", {"t": "soon"}, "not a date", "", id="bad date"),
    ],
)
def test_evaluation_errors_name_the_field(text: str, record: dict, message: str, field: str) -> None:
    with pytest.raises(EvalError) as info:
        ev(text, record)
    assert message in info.value.message and info.value.field == field


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        pytest.param("{{ amount(x) + }}", 3, "invalid expression", id="syntax error inside braces"),
        pytest.param("amount(x) | upper", 0, "BinOp is not allowed", id="jinja filters are not python"),
        pytest.param("  amount(x) + nope(x)", 14, "unknown function 'nope'", id="unknown function"),
    ],
)
def test_compile_errors_carry_a_column(text: str, column: int, message: str) -> None:
    with pytest.raises(CompileError) as info:
        compile_expression(text, lookups=[])
    assert info.value.column == column and message in info.value.message


def test_template_with_unbalanced_braces_is_refused() -> None:
    with pytest.raises(CompileError, match="unbalanced"):
        compile_template("销售订单 {{ name }")


def test_expressions_are_compiled_at_load_and_never_per_record(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from sync.mapping import MappingSet

    ready = Path(__file__).resolve().parents[2] / "mappings" / "fxiaoke-kingdee"
    ms = MappingSet.load([ready / "sales_order_confirmed.yaml"], base_dir=ready)

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("an expression was parsed while mapping a record")

    monkeypatch.setattr("sync.mapping.expr.ast.parse", no_parsing)
    for i in range(50):
        record = {
            "_id": f"so{i}",
            "name": f"SO-{i}",
            "account_id": "a",
            "order_time": 1793671200000,
            "order_amount": f"{i + 1}.13",
            "life_status": "normal",
        }
        (result,) = ms.map_record("crm", "SalesOrderObj", record)
        assert result.vouchers
