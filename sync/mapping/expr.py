"""The mapping expression language: a safe, typed evaluator compiled once per mapping.

Expressions use Python's expression grammar (``amount(order_amount) * 2``, ``a if c else b``,
``life_status == 'normal' and not is_deleted``), parsed with :mod:`ast` and checked against a
whitelist of node types, then turned into a tree of closures. Nothing is ever handed to
``eval``/``exec``: a name is a record field (or a ``let`` value), a call is one of the
functions in ``FUNCTIONS``, an attribute is one of ``_ATTRIBUTES``. No dunder, no import, no
method calls, no comprehension, so a mapping cannot reach Python objects it was not given.

Why not Jinja: Jinja renders text, and its number literals are floats. Here ``0.13`` is the
Decimal written in the file (read from the source text, never via float), a Decimal result
stays a Decimal, a date stays a date, and a missing field is an error that names the field.
Templates (``"销售订单 {{ name }}"``) are text with ``{{ expression }}`` holes, for text fields.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sync.mapping.functions import FUNCTIONS, EvalError, Scope, TaxSplit, read_amount, render_text, tax_split

__all__ = [
    "FUNCTIONS",
    "CompileError",
    "EvalError",
    "Evaluator",
    "Scope",
    "TaxSplit",
    "compile_expression",
    "compile_template",
    "decimal_literal",
    "render_text",
    "tax_split",
]


Evaluator = Callable[[Scope], Any]


class CompileError(ValueError):
    """An expression is not valid; ``column`` is 0-based inside the expression text."""

    def __init__(self, message: str, hint: str = "", column: int = 0) -> None:
        self.message = message
        self.hint = hint
        self.column = column
        super().__init__(message)


_SPECIAL_FUNCTIONS: Final = frozenset({"get", "has", "lookup"})
_CONSTANT_NAMES: Final[dict[str, Any]] = {
    "true": True,
    "false": False,
    "none": None,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}
_ATTRIBUTES: Final = frozenset({"net", "tax", "gross", "year", "month", "day"})

_BINOPS: Final[dict[type[ast.operator], Callable[[Any, Any], Any]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CMPOPS: Final[dict[type[ast.cmpop], Callable[[Any, Any], Any]]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_MAX_LITERAL_DIGITS: Final = 28
# resource bounds (issue 9): a mapping expression is a formula, not a program
_MAX_SOURCE_CHARS: Final = 4000
_MAX_DEPTH: Final = 100  # syntax-tree depth; the compiler and evaluator recurse once per level
_MAX_TEXT_CHARS: Final = 1_000_000  # text built by + at run time
_NOT_ARITHMETIC: Final = (list, tuple, dict, set, frozenset, bytes, Mapping)


def decimal_literal(text: str) -> Decimal:
    """A number written in a mapping, exactly as written (never via float)."""
    digits = text.replace("_", "")
    try:
        value = Decimal(digits)
    except InvalidOperation:
        raise CompileError(f"{text!r} is not a number") from None
    if len(digits.lstrip("+-").replace(".", "").lstrip("0")) > _MAX_LITERAL_DIGITS or not value.is_finite():
        raise CompileError(f"number {text!r} has too many digits")
    return value


# -- compiler ---------------------------------------------------------------------------------


@dataclass
class _Compiler:
    source: str
    known_vars: frozenset[str]
    lookups: frozenset[str] | None

    def compile(self, node: ast.AST) -> Evaluator:  # noqa: PLR0911 - one dispatch table
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BoolOp):
            return self._boolop(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.IfExp):
            test, yes, no = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
            return lambda s: yes(s) if test(s) else no(s)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.List | ast.Tuple):
            items = [self.compile(e) for e in node.elts]
            return lambda s: tuple(item(s) for item in items)
        raise self._error(
            node,
            f"{type(node).__name__} is not allowed in a mapping expression",
            "use fields, numbers, 'text', + - * /, comparisons, and/or/not, "
            "x if cond else y, and the documented functions",
        )

    def _error(self, node: ast.AST, message: str, hint: str = "") -> CompileError:
        return CompileError(message, hint, getattr(node, "col_offset", 0))

    def _constant(self, node: ast.Constant) -> Evaluator:
        value: Any = node.value
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 93:
            raise self._error(node, f"number has more than {_MAX_LITERAL_DIGITS} digits")
        if isinstance(value, float):
            text = ast.get_source_segment(self.source, node) or repr(value)
            value = decimal_literal(text)
        elif isinstance(value, complex | bytes):
            raise self._error(node, f"literal {value!r} is not allowed")
        return lambda s: value

    def _name(self, name: str) -> Evaluator:
        if name in self.known_vars:
            return lambda s: s.vars[name]
        if name in _CONSTANT_NAMES:
            const = _CONSTANT_NAMES[name]
            return lambda s: const
        if name.startswith("__"):
            raise CompileError(f"name {name!r} is not allowed")
        if name == "record":
            return lambda s: s.record
        return _field_reader(name)

    def _binop(self, node: ast.BinOp) -> Evaluator:
        op = _BINOPS[type(node.op)]
        is_add = isinstance(node.op, ast.Add)
        for side in (node.left, node.right):  # 'a' * 10**9, [0] * n, '%s' % x: refused at load
            literal_text = isinstance(side, ast.Constant) and isinstance(side.value, str)
            if (literal_text and not is_add) or isinstance(side, ast.List | ast.Tuple):
                raise self._error(
                    side,
                    "text and lists cannot be used with arithmetic operators",
                    "join text with +, e.g. '销售 ' + name; use the documented functions for the rest",
                )
        left, right = self.compile(node.left), self.compile(node.right)

        def run(s: Scope) -> Any:
            a, b = left(s), right(s)
            if type(a) is str or type(b) is str:
                if is_add and type(a) is str and type(b) is str:
                    if len(a) + len(b) > _MAX_TEXT_CHARS:
                        raise EvalError(f"text longer than {_MAX_TEXT_CHARS} characters")
                    return a + b
                raise EvalError(
                    f"cannot do arithmetic with text: {render_text(a)!r} and {render_text(b)!r}",
                    hint="wrap amount fields in amount(...) to read them as decimals",
                )
            if isinstance(a, _NOT_ARITHMETIC) or isinstance(b, _NOT_ARITHMETIC):
                raise EvalError(  # list * n would build a list of any size
                    f"cannot do arithmetic with {type(a).__name__} and {type(b).__name__}",
                    hint="arithmetic works on numbers and amounts; pick an element or use a function",
                )
            return op(a, b)

        return run

    def _unary(self, node: ast.UnaryOp) -> Evaluator:
        inner = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda s: not inner(s)
        if isinstance(node.op, ast.USub):
            return lambda s: -inner(s)
        if isinstance(node.op, ast.UAdd):
            return inner
        raise self._error(node, "operator ~ is not allowed")

    def _boolop(self, node: ast.BoolOp) -> Evaluator:
        parts = [self.compile(v) for v in node.values]
        if isinstance(node.op, ast.And):

            def run_and(s: Scope) -> Any:
                result: Any = True
                for part in parts:
                    result = part(s)
                    if not result:
                        return result
                return result

            return run_and

        def run_or(s: Scope) -> Any:
            result: Any = False
            for part in parts:
                result = part(s)
                if result:
                    return result
            return result

        return run_or

    def _compare(self, node: ast.Compare) -> Evaluator:
        first = self.compile(node.left)
        rest = [
            (_CMPOPS[type(op)], self.compile(c)) for op, c in zip(node.ops, node.comparators, strict=True)
        ]

        def run(s: Scope) -> bool:
            a = first(s)
            for op, comp in rest:
                b = comp(s)
                if not op(a, b):
                    return False
                a = b
            return True

        return run

    def _call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            raise self._error(
                node,
                "only the documented functions can be called (no methods)",
                f"functions: {', '.join(sorted([*FUNCTIONS, *_SPECIAL_FUNCTIONS]))}",
            )
        name = node.func.id
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise self._error(node, "*args and **kwargs are not allowed")
        if name in _SPECIAL_FUNCTIONS:
            return self._special(name, node)
        func = FUNCTIONS.get(name)
        if func is None:
            import difflib

            guess = difflib.get_close_matches(name, [*FUNCTIONS, *_SPECIAL_FUNCTIONS], n=1)
            raise self._error(
                node,
                f"unknown function {name!r}",
                f"did you mean {guess[0]!r}?"
                if guess
                else f"functions: {', '.join(sorted([*FUNCTIONS, *_SPECIAL_FUNCTIONS]))}",
            )
        args = [self.compile(a) for a in node.args]
        kwargs = {k.arg: self.compile(k.value) for k in node.keywords if k.arg}
        if name == "amount" and len(node.args) == 1 and isinstance(node.args[0], ast.Name) and not kwargs:
            field = node.args[0].id
            arg = args[0]
            return lambda s: read_amount(arg(s), field)
        if len(args) == 1 and not kwargs:
            only = args[0]
            return lambda s: func(only(s))
        return lambda s: func(*(a(s) for a in args), **{k: v(s) for k, v in kwargs.items()})

    def _special(self, name: str, node: ast.Call) -> Evaluator:
        if node.keywords:
            raise self._error(node, f"{name}() takes positional arguments only")
        args = [self.compile(a) for a in node.args]
        if name in {"get", "has"}:
            if not 1 <= len(args) <= (2 if name == "get" else 1):
                raise self._error(
                    node,
                    f"{name}() takes a field name" + (" and an optional default" if name == "get" else ""),
                )
            key = args[0]
            if name == "has":
                return lambda s: s.record.get(key(s)) not in (None, "")
            default = args[1] if len(args) == 2 else (lambda s: None)

            def run_get(s: Scope) -> Any:
                field = key(s)
                return _checked(s.record[field], field) if field in s.record else default(s)

            return run_get
        if not 2 <= len(args) <= 3:
            raise self._error(node, "lookup() takes a lookup name, a key and an optional default")
        first_arg = node.args[0]
        if not (isinstance(first_arg, ast.Constant) and isinstance(first_arg.value, str)):
            raise self._error(node, "lookup()'s first argument must be the lookup name in quotes")
        table_name = first_arg.value
        if self.lookups is not None and table_name not in self.lookups:
            raise self._error(
                node,
                f"unknown lookup {table_name!r}",
                f"declare it under `lookups:` (declared: {', '.join(sorted(self.lookups)) or 'none'})",
            )
        key_fn = args[1]
        if len(args) == 3:
            dflt = args[2]
            return lambda s: s.lookups[table_name].get(key_fn(s), s, dflt(s))
        return lambda s: s.lookups[table_name].get(key_fn(s), s)

    def _attribute(self, node: ast.Attribute) -> Evaluator:
        if node.attr not in _ATTRIBUTES:
            raise self._error(
                node, f"attribute {node.attr!r} is not allowed", f"allowed: {', '.join(sorted(_ATTRIBUTES))}"
            )
        inner, attr = self.compile(node.value), node.attr

        def run(s: Scope) -> Any:
            value = inner(s)
            if isinstance(value, TaxSplit | dt.date):
                return getattr(value, attr)
            raise EvalError(f".{attr} needs a tax_split(...) result or a date, got {value!r}")

        return run

    def _subscript(self, node: ast.Subscript) -> Evaluator:
        if isinstance(node.slice, ast.Slice):
            raise self._error(node, "slices are not allowed")
        inner, index = self.compile(node.value), self.compile(node.slice)

        def run(s: Scope) -> Any:
            container, i = inner(s), index(s)
            if not isinstance(container, Mapping | list | tuple | str):
                raise EvalError(f"cannot index {container!r}")
            try:
                value = container[i]
            except (KeyError, IndexError, TypeError):
                if container is s.record:
                    raise EvalError(
                        f"field {i!r} is missing from the record",
                        field=str(i),
                        hint="fix the field name, or use get('field', default)",
                    ) from None
                raise EvalError(f"{i!r} not found in {container!r}") from None
            return _checked(value, str(i))

        return run


def _checked(value: Any, field: str) -> Any:
    if type(value) is float:
        raise EvalError(
            f"field {field!r} is a float ({value!r}), which cannot carry cents exactly",
            field=field,
            hint='make the source send amounts as decimal strings such as "1130.00"',
        )
    return value


def _field_reader(name: str) -> Evaluator:
    def read(s: Scope) -> Any:
        try:
            value = s.record[name]
        except KeyError:
            raise EvalError(
                f"field {name!r} is missing from the record",
                field=name,
                hint=f"check the field name, or write get('{name}', default) if it may be absent",
            ) from None
        if type(value) is float:
            raise EvalError(
                f"field {name!r} is a float ({value!r}), which cannot carry cents exactly",
                field=name,
                hint='make the source send amounts as decimal strings such as "1130.00"',
            )
        return value

    return read


def compile_expression(
    text: str, *, known_vars: Sequence[str] = (), lookups: Sequence[str] | None = None
) -> Evaluator:
    """Compile one expression (once, at load); raises CompileError with a column and a fix."""
    source = text.strip()
    if source.startswith("{{") and source.endswith("}}") and source.count("{{") == 1:
        source = source[2:-2].strip()
    if not source:
        raise CompileError("empty expression")
    start = text.find(source)  # columns in errors count from the start of ``text``
    if len(source) > _MAX_SOURCE_CHARS:
        raise CompileError(
            f"expression is {len(source)} characters long; the limit is {_MAX_SOURCE_CHARS}",
            "split it into let: values",
            start + _MAX_SOURCE_CHARS,
        )
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise CompileError(
            f"invalid expression {source!r}: {exc.msg}",
            "check quotes and brackets; text values need quotes, e.g. life_status == 'normal'",
            start + max((exc.offset or 1) - 1, 0),
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, huge literals, deep nesting
        raise CompileError(
            f"invalid expression: {type(exc).__name__}: {str(exc)[:200]}", "simplify the expression", start
        ) from None
    _check_depth(tree.body, start)
    compiler = _Compiler(source, frozenset(known_vars), None if lookups is None else frozenset(lookups))
    try:
        return compiler.compile(tree.body)
    except CompileError as exc:
        exc.column += start
        raise


def _check_depth(tree: ast.AST, start: int) -> None:
    """Refuse a syntax tree deeper than ``_MAX_DEPTH`` (walked without recursion)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise CompileError(
                f"expression is nested more than {_MAX_DEPTH} levels deep",
                "split it into let: values",
                start + getattr(node, "col_offset", 0),
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


_HOLE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def compile_template(
    text: str, *, known_vars: Sequence[str] = (), lookups: Sequence[str] | None = None
) -> Evaluator:
    """Compile text with ``{{ expression }}`` holes into a function returning the rendered str."""
    parts: list[str | Evaluator] = []
    pos = 0
    for match in _HOLE.finditer(text):
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        try:
            parts.append(compile_expression(match.group(1), known_vars=known_vars, lookups=lookups))
        except CompileError as exc:
            exc.column += match.start(1)
            raise
        pos = match.end()
    if "{{" in text[pos:] or "}}" in text[pos:]:
        raise CompileError("unbalanced '{{' or '}}' in template", "close every {{ with }}", pos)
    if pos < len(text):
        parts.append(text[pos:])
    if not parts:
        return lambda s: ""
    if len(parts) == 1:
        only = parts[0]
        if isinstance(only, str):
            return lambda s: only
        return lambda s: render_text(only(s))
    compiled = parts

    def render(s: Scope) -> str:
        return "".join(p if isinstance(p, str) else render_text(p(s)) for p in compiled)

    return render
