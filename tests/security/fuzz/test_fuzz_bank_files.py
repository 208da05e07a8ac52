"""Hostile bank files: camt.053/054, MT940, Alipay and WeChat bills.

Mutations of real statements (bytes flipped, cut, spliced) and plain garbage must end in a
``StatementError`` that names the file, or in a correct parse: never another exception, never
a hang. A file is all or nothing: a parse either returns every transaction or raises, so a
broken line can never leave half a statement booked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.bank.bills import parse_alipay_bill, parse_wechat_bill
from connectors.bank.camt import parse_camt
from connectors.bank.mt940 import parse_mt940
from sync.banking import StatementError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bank"
FILES = {
    "camt053_v02": (FIXTURES / "camt053_v02.xml", lambda d: parse_camt(d, "camt053_v02.xml")),
    "camt053_v08": (FIXTURES / "camt053_v08.xml", lambda d: parse_camt(d, "camt053_v08.xml")),
    "camt054_v04": (FIXTURES / "camt054_v04.xml", lambda d: parse_camt(d, "camt054_v04.xml")),
    "mt940": (FIXTURES / "mt940_multi.sta", lambda d: parse_mt940(d, "mt940_multi.sta")),
    "alipay": (FIXTURES / "alipay_trade_20261103.csv", lambda d: parse_alipay_bill(d, "alipay.csv")),
    "wechat": (FIXTURES / "wechat_all_20261103.csv", lambda d: parse_wechat_bill(d, "wechat.csv")),
}
FUZZ = settings(
    max_examples=40, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "splice", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "splice":
            size = draw(st.integers(1, 200))
            src = draw(st.integers(0, max(len(original) - size, 0)))
            data[at:at] = original[src : src + size]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        else:
            del data[at : at + draw(st.integers(1, 200))]
    return bytes(data)


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_unmutated_fixture_parses(name: str) -> None:
    path, parse = FILES[name]
    assert parse(path.read_bytes())


@pytest.mark.parametrize("name", sorted(FILES))
@FUZZ
@given(data=st.data())
def test_a_mutated_statement_parses_or_is_refused_by_name(name: str, data: st.DataObject) -> None:
    path, parse = FILES[name]
    blob = data.draw(mutated(path.read_bytes()))
    try:
        result = parse(blob)
    except StatementError as exc:
        assert str(exc).strip()
    else:
        assert isinstance(result, list)


@pytest.mark.parametrize("name", sorted(FILES))
@FUZZ
@given(blob=st.binary(max_size=2000))
def test_random_bytes_are_refused_by_name(name: str, blob: bytes) -> None:
    _, parse = FILES[name]
    try:
        parse(blob)
    except StatementError as exc:
        assert str(exc).strip()


def test_a_broken_second_transaction_books_nothing_from_the_file() -> None:
    text = (FIXTURES / "mt940_multi.sta").read_text(encoding="utf-8", errors="replace")
    first, second = text.split(":61:")[1:3]
    broken = text.replace(":61:" + second, ":61:" + second.replace(",", "x", 1), 1)
    assert broken != text and first
    with pytest.raises(StatementError):
        parse_mt940(broken.encode("utf-8"), "mt940_multi.sta")
