"""客户对账单 against an independent computation, and tied to the aging it must agree with."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.crm import load_book
from sync.reports.aging import aging_rows
from sync.reports.receivables import receivables
from sync.reports.statement import statement_tables
from tests.engine.tenant import crmsync
from tests.reports.gen import START, generate

ZERO = Decimal(0)
REPO = Path(__file__).resolve().parents[2]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), offset=st.integers(0, 200), days=st.integers(0, 120))
def test_opening_movements_and_closing_equal_the_independent_computation(
    seed: int, offset: int, days: int
) -> None:
    g = generate(seed, refunds=True)
    first = START + dt.timedelta(days=offset)
    last = first + dt.timedelta(days=days)
    book = load_book(g.records)
    summary, lines = statement_tables(book, sorted(g.names), first, last)
    for row in summary.records():
        if not row["account_id"]:
            continue  # the totals row
        aid = str(row["account_id"])

        def owed(until: dt.date, aid: str = aid) -> Decimal:
            return (
                sum((o.amount for o in g.orders if o.account == aid and o.date <= until), ZERO)
                - sum((p.amount for p in g.payments if p.account == aid and p.date <= until), ZERO)
                + sum((r.amount for r in g.refunds if r.account == aid and r.date <= until), ZERO)
            )

        assert row["opening"] == owed(first - dt.timedelta(days=1))
        assert row["closing"] == owed(last)
        assert row["refunds"] == sum(
            (r.amount for r in g.refunds if r.account == aid and first <= r.date <= last), ZERO
        )
    # the closing balance is the aging's net receivable on the last day
    nets = {r.account_id: r.net for r in aging_rows(receivables(book, last), book)}
    for row in summary.records():
        if row["account_id"]:
            assert row["closing"] == nets.get(str(row["account_id"]), ZERO)
    balances = [r for r in lines.records() if str(r["kind"]).startswith("期末余额")]
    assert [r["balance"] for r in balances] == [r["closing"] for r in summary.records() if r["account_id"]]


def test_the_statement_command_for_one_customer(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f'state: {{url: "sqlite:///.crmsync/state.db"}}\n'
        f'sources:\n  crm: {{type: files, path: "{REPO / "examples" / "crm"}"}}\n'
        "destination: {type: ledger, path: .crmsync/ledger.db}\n"
        f'mappings: ["{REPO}/mappings/fxiaoke-kingdee/*.yaml"]\n',
        encoding="utf-8",
    )
    args = ["report", "statement", "-c", str(config), "--period", "2026-11", "--format", "json", "-o", "-"]
    result = crmsync(*args, "--customer", "西安秦川软件技术有限公司")
    assert result.exit_code == 0, result.stderr[-2000:]
    tables = result.summary["tables"]  # type: ignore[index]
    (row,) = tables["statement"]["rows"]
    assert row["customer"] == "西安秦川软件技术有限公司" and Decimal(row["refunds"]) > 0
    kinds = {r["kind"] for r in tables["statement_lines"]["rows"]}
    assert {"订单 order", "回款 payment", "退款 refund"} <= kinds
    unknown = crmsync(*args, "--customer", "不存在的公司")
    assert unknown.exit_code == 2 and "不存在的公司" in unknown.stderr
