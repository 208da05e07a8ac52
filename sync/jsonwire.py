"""JSON on an ERP wire with money exact: Decimals out as plain numbers, numbers in as Decimals.

ERPs read amounts as JSON numbers (Kingdee 11300.00; the Business One Service Layer types
Debit/Credit Edm.Double and every SAP example sends numbers). ``json`` cannot write a Decimal
without going through float, which would lose cents, so this module writes JSON itself (a
small recursive encoder, same output as ``json.dumps`` for every other type). Answers are
parsed with ``parse_float=Decimal`` so no float ever carries money on the way back either.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as an exact Decimal."""
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON text with Decimals as fixed-point numbers (``Decimal('1300.00')`` -> ``1300.00``)."""
    return _encode(value, indent, 0)


def _encode(value: Any, indent: int | None, depth: int) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send the non-finite amount {value} to Kingdee")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats cannot carry money exactly; use Decimal")
    if isinstance(value, dict):
        items = [
            f"{json.dumps(str(k), ensure_ascii=False)}:{' ' if indent is not None else ''}"
            f"{_encode(v, indent, depth + 1)}"
            for k, v in value.items()
        ]
        return _wrap("{", "}", items, indent, depth)
    if isinstance(value, list | tuple):
        return _wrap("[", "]", [_encode(v, indent, depth + 1) for v in value], indent, depth)
    return json.dumps(value, ensure_ascii=False)


def _wrap(open_: str, close: str, items: list[str], indent: int | None, depth: int) -> str:
    if not items:
        return open_ + close
    if indent is None:
        return open_ + ",".join(items) + close
    pad = " " * (indent * (depth + 1))
    end = " " * (indent * depth)
    return open_ + "\n" + ",\n".join(pad + item for item in items) + "\n" + end + close
