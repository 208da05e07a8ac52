"""JSON on the Kingdee wire: money exact both ways (sync.jsonwire), and amounts as answered.

Kingdee reads amounts as JSON numbers (11300.00) and answers them as numbers too (11300.0,
one row per entry in ExecuteBillQuery); ``loads`` makes those Decimals, ``amount_of`` reads
one back whatever shape it came in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sync.jsonwire import dumps, loads

__all__ = ["amount_of", "dumps", "loads"]


def amount_of(value: Any) -> Decimal:
    """An amount Kingdee answered (a JSON number parsed by ``loads``, or text); 0 when empty."""
    if value is None or value == "" or isinstance(value, bool):
        return Decimal(0)
    if isinstance(value, float):
        raise TypeError("an amount reached crmsync as a float; parse answers with wire.loads")
    return Decimal(str(value).strip())
