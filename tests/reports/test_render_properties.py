"""Renderers never lose a cent: csv and json give back exactly the Decimals they were given."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.tables.files import render
from sync.tables.model import Column, Kind, Report, Table

amounts = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


def _report(rows: list[tuple[str, Decimal]]) -> Report:
    total = sum((a for _, a in rows), Decimal(0))
    table = Table(
        "t",
        "表",
        "T",
        (Column("name", "客户", "Customer"), Column("amount", "金额", "Amount", Kind.MONEY)),
        tuple(rows),
        ("合计 / Total", total),
    )
    return Report("r", "报告", "Report", (table,), dt.datetime(2026, 11, 28, 12, 0))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, amounts), max_size=15))
def test_json_round_trips_every_amount_exactly(rows: list[tuple[str, Decimal]]) -> None:
    data = json.loads(render(_report(rows), "json", "en")[".json"])["tables"]["t"]
    assert [(r["name"], Decimal(r["amount"])) for r in data["rows"]] == rows
    assert Decimal(data["totals"]["amount"]) == sum((a for _, a in rows), Decimal(0))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, amounts), max_size=15))
def test_csv_round_trips_every_amount_exactly(rows: list[tuple[str, Decimal]]) -> None:
    text = render(_report(rows), "csv", "zh")[".t.csv"].decode("utf-8-sig")
    got = list(csv.reader(io.StringIO(text)))
    assert got[0] == ["客户", "金额"]
    assert [Decimal(r[1]) for r in got[1:-1]] == [a for _, a in rows]
    # text that a spreadsheet would run as a formula is neutralised, everything else kept
    for (name, _), row in zip(rows, got[1:-1], strict=True):
        assert row[0] == name or (row[0] == "'" + name and name[:1] in "=+-@")
