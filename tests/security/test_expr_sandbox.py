"""Mapping expressions cannot reach Python internals or exhaust the machine.

Each known escape from "safe eval" sandboxes is refused when the mapping is loaded (a
CompileError with the column inside the expression), never at posting time, and never by
running it. Resource attacks are refused the same way, or stopped cheaply at run time.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from sync.mapping.expr import CompileError, EvalError, compile_expression, compile_template
from sync.mapping.functions import Scope

ESCAPES = {
    "class walk": "().__class__.__mro__[1].__subclasses__()",
    "subclasses": "''.__class__.__base__.__subclasses__()",
    "dunder name": "__builtins__",
    "globals via function": "amount.__globals__['os']",
    "getattr": "getattr(record, '__class__')",
    "import": "__import__('os').system('id')",
    "eval": "eval('1+1')",
    "format string attribute": "'{0.__class__.__init__.__globals__}'.format(record)",
    "method call": "payment_amount.upper()",
    "f-string": "f'{record.__class__}'",
    "lambda": "(lambda: 1)()",
    "list comprehension": "[x for x in record]",
    "generator": "sum(x for x in record)",
    "dict comprehension": "{k: v for k, v in record.items()}",
    "set literal": "{1, 2}",
    "dict literal": "{'a': 1}",
    "walrus": "(x := 1)",
    "starred call": "max(*record)",
    "kwargs splat": "dec(**record)",
    "slice": "record['name'][::-1]",
    "await": "await x",
    "yield": "(yield)",
    "power": "10 ** 10 ** 10",
    "huge repeat": "'a' * 10**9",
    "text repeat": "'a' * 1000000000",
    "tuple repeat": "(1,) * 1000000000",
    "list repeat": "[0] * 1000000000",
    "shift": "1 << 100000000",
    "bitwise": "~0",
    "huge integer literal": "9" * 60,
    "bytes": "b'abc'",
    "complex": "1j",
    "ellipsis attribute": "....__class__",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_escape_is_refused_at_load_with_a_column(name: str) -> None:
    text = ESCAPES[name]
    with pytest.raises(CompileError) as caught:
        compile_expression(text)
    assert 0 <= caught.value.column <= len(text) and caught.value.message


@pytest.mark.parametrize("name", ["method call", "class walk", "format string attribute"])
def test_escape_inside_a_template_hole_is_refused_with_its_column(name: str) -> None:
    text = "客户 {{ customer_name }} / {{ " + ESCAPES[name] + " }}"
    with pytest.raises(CompileError) as caught:
        compile_template(text)
    assert caught.value.column >= text.index("/ {{") + 3


@pytest.mark.parametrize(
    "text",
    [
        "(" * 5000 + "1" + ")" * 5000,
        "-" * 20000 + "1",
        "not " * 20000 + "x",
        "+".join(["a"] * 20000),
        "[" * 3000 + "]" * 3000,
        "a if b else " * 5000 + "c",
    ],
    ids=["parens", "unary minus", "not", "long sum", "nested lists", "nested if"],
)
def test_deep_or_huge_expressions_are_refused_quickly(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(CompileError):
        compile_expression(text)
    assert time.monotonic() - started < 2


def _scope(record: dict[str, object]) -> Scope:
    return Scope(record)


def test_a_list_field_cannot_be_multiplied_into_a_memory_bomb() -> None:
    run = compile_expression("lines * n")
    started = time.monotonic()
    with pytest.raises(EvalError):
        run(_scope({"lines": [1, 2], "n": 1_000_000_000}))
    assert time.monotonic() - started < 1


def test_text_fields_cannot_be_repeated() -> None:
    with pytest.raises(EvalError):
        compile_expression("name * n")(_scope({"name": "华东", "n": 1_000_000_000}))


def test_ordinary_arithmetic_still_works() -> None:
    run = compile_expression("amount(payment_amount) * 2 - dec('0.01')")
    assert run(_scope({"payment_amount": "1130.00"})) == Decimal("2259.99")
    assert compile_expression("'销售' + name")(_scope({"name": "订单"})) == "销售订单"
