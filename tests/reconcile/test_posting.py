"""Reconciliation vouchers posted by `crmsync sync` (reconcile.post_vouchers) and `reconcile --post`.

A real camt.053.001.02 statement (tests/fixtures/bank/camt053_v02.xml: three credits on
2026-11-03 — 11,300.00 上海明远 SO-20261103-0042, 3,000.00 杭州青禾 回款 20261101-000017,
2,000.00 北京华信 SO-20261028-0007), a CRM export (files source) posted by the shipped
``payment_received`` mapping, and the embedded ledger with its own dedupe off, so "exactly
once" is the engine's doing.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connectors.ledger.queries import account_totals, list_vouchers
from sync.cli import cli
from sync.state import audit, open_state

ROOT = Path(__file__).resolve().parents[2]
STATEMENT = ROOT / "tests" / "fixtures" / "bank" / "camt053_v02.xml"
SUSPENSE = "2241.99"


def _ms(day: str) -> int:
    return int(dt.datetime.fromisoformat(f"{day}T10:30:00+08:00").timestamp() * 1000)


def _payment(
    pid: str, number: str, customer: str, name: str, amount: str, day: str, order: str = ""
) -> dict[str, Any]:
    return {
        "_id": pid,
        "name": number,
        "account_id": customer,
        "account_id__r": name,
        "order_id": f"o-{pid}" if order else "",
        "order_id__r": order,
        "payment_time": _ms(day),
        "payment_amount": amount,
        "payment_term": "1",
        "life_status": "normal",
    }


MINGYUAN = _payment(
    "p42", "20261103-000042", "C001", "上海明远贸易有限公司", "11300.00", "2026-11-03", "SO-20261103-0042"
)
HUAXIN = _payment(
    "p07", "20261028-000007", "C002", "北京华信五金制品厂", "2000.00", "2026-11-02", "SO-20261028-0007"
)
#: the 3,000.00 杭州青禾 receipt: not in the CRM at first, so the money goes to suspense
QINGHE = _payment("p17", "20261101-000017", "C003", "杭州青禾科技有限公司", "3000.00", "2026-11-01")


def _write_crm(work: Path, *payments: dict[str, Any]) -> None:
    (work / "crm" / "PaymentObj.jsonl").write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in payments), encoding="utf-8"
    )


def _append_crm(work: Path, payment: dict[str, Any]) -> None:
    with (work / "crm" / "PaymentObj.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(payment, ensure_ascii=False) + "\n")


def _state_url(work: Path) -> str:
    return (work / "state_url.txt").read_text(encoding="utf-8")


def _config(work: Path, post: str | None = "true") -> None:
    extra = f"  post_vouchers: {post}\n" if post is not None else ""
    (work / "config.yaml").write_text(
        f"state: {{url: '{_state_url(work)}'}}\n"
        "sources:\n  crm: {type: files, path: crm}\n  bank: {type: camt053, path: inbox/*.xml}\n"
        "destination: {type: ledger, path: ledger.db, dedupe: false}\n"
        "mappings: [mappings/payment_received.yaml]\n"
        "reconcile:\n"
        "  bank_sources: [bank]\n"
        "  crm_source: crm\n"
        '  book: "001"\n'
        "  bank_accounts: {'755912345610901': '1002.01'}\n" + extra,
        encoding="utf-8",
    )


@pytest.fixture
def work(tmp_path: Path, state_url: str) -> Path:
    """The world above, on SQLite and on PostgreSQL state."""
    (tmp_path / "state_url.txt").write_text(state_url, encoding="utf-8")
    (tmp_path / "crm").mkdir()
    (tmp_path / "inbox").mkdir()
    shutil.copy(STATEMENT, tmp_path / "inbox" / "stmt-20261103.xml")
    shutil.copytree(ROOT / "mappings" / "fxiaoke-kingdee", tmp_path / "mappings")
    _write_crm(tmp_path, MINGYUAN, HUAXIN)
    _config(tmp_path)
    return tmp_path


def _sync(work: Path, code: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["sync", "-c", str(work / "config.yaml"), "--format", "json"])
    assert result.exit_code == code, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _suspense(work: Path) -> Decimal:
    """Credit balance of 其他应付款-待处理 in the ledger."""
    total = account_totals(work / "ledger.db").get(SUSPENSE)
    return Decimal("0.00") if total is None else total.credit - total.debit


def _refs(work: Path) -> list[str]:
    return [v.external_ref for v in list_vouchers(work / "ledger.db")]


def _reconcile_refs(work: Path) -> list[str]:
    return [r for r in _refs(work) if r.startswith("reconcile:")]


def test_unmatched_credit_is_booked_to_suspense_exactly_once(work: Path) -> None:
    first = _sync(work)
    assert first["vouchers_posted"] == 3  # two CRM 回款 + one suspense
    assert first["read"] == first["posted"] == 2  # the counts still add up over records read
    (suspense,) = _reconcile_refs(work)
    assert suspense.startswith("reconcile:receipt:camt053:")
    assert _suspense(work) == Decimal("3000.00")

    second = _sync(work)
    assert second["vouchers_posted"] == 0
    assert _reconcile_refs(work) == [suspense]
    assert _suspense(work) == Decimal("3000.00")


def test_payment_arriving_later_reverses_the_suspense_booking_once(work: Path) -> None:
    _sync(work)
    (suspense,) = _reconcile_refs(work)
    _append_crm(work, QINGHE)

    third = _sync(work)
    assert third["read"] == third["posted"] == 1  # the 杭州青禾 回款
    assert third["reversed"] == 1
    assert third["vouchers_posted"] == 2
    assert _suspense(work) == Decimal("0.00")
    reversal = [r for r in _reconcile_refs(work) if r != suspense]
    assert len(reversal) == 1 and reversal[0].startswith(suspense.split("#")[0] + "~rev#")

    fourth = _sync(work)
    assert fourth["vouchers_posted"] == 0
    assert len(_refs(work)) == 5  # 3 回款, the suspense booking, its reversal: nothing twice
    assert len(set(_refs(work))) == 5


def test_posted_and_reversed_reconciliation_vouchers_are_in_the_audit_trail(work: Path) -> None:
    _sync(work)
    _append_crm(work, QINGHE)
    _sync(work)
    store = open_state(_state_url(work))
    try:
        entries = [(e.action, e.subject) for e in audit.entries(store) if "reconcile:" in e.subject]
        ok, _, problem = audit.verify(store)
    finally:
        store.close()
    assert [a for a, _ in entries] == [audit.Action.POST, audit.Action.REVERSAL]
    assert problem is None and ok


def test_posting_is_off_unless_the_config_turns_it_on(work: Path) -> None:
    _config(work, post=None)
    summary = _sync(work)
    assert summary["vouchers_posted"] == 2
    assert _reconcile_refs(work) == []
    assert _suspense(work) == Decimal("0.00")


def test_a_post_vouchers_value_that_is_not_a_boolean_is_a_located_configuration_error(work: Path) -> None:
    _config(work, post="sometimes")
    result = CliRunner().invoke(cli, ["sync", "-c", str(work / "config.yaml")])
    assert result.exit_code == 2
    assert "config.yaml:" in result.output and "reconcile.post_vouchers" in result.output
    assert not (work / "ledger.db").exists()


def test_a_refused_statement_file_books_and_reverses_nothing(work: Path) -> None:
    _sync(work)
    (suspense,) = _reconcile_refs(work)
    _append_crm(work, QINGHE)
    (work / "inbox" / "stmt-20261104.xml").write_text(
        STATEMENT.read_text(encoding="utf-8")[:1500], encoding="utf-8"
    )  # truncated

    broken = _sync(work, code=1)
    assert any(e.startswith("reconcile:") for e in broken["source_errors"])
    assert broken["reversed"] == 0
    assert _reconcile_refs(work) == [suspense]  # the 回款 is posted, the suspense stays for now
    assert _suspense(work) == Decimal("3000.00")

    (work / "inbox" / "stmt-20261104.xml").unlink()
    fixed = _sync(work)
    assert fixed["reversed"] == 1
    assert _suspense(work) == Decimal("0.00")


def test_a_statement_file_moved_away_keeps_what_it_booked(work: Path) -> None:
    _sync(work)
    (work / "inbox" / "stmt-20261103.xml").rename(work / "stmt-20261103.xml.archived")
    _append_crm(work, QINGHE)
    summary = _sync(work)
    assert summary["reversed"] == 0
    assert _suspense(work) == Decimal("3000.00")


def test_reconcile_post_books_like_a_sync_and_the_sync_after_it_adds_nothing(work: Path) -> None:
    _config(work, post=None)  # the command books even when sync does not
    result = CliRunner().invoke(
        cli, ["reconcile", "-c", str(work / "config.yaml"), "--format", "json", "--post"]
    )
    assert result.exit_code == 0, result.output
    assert _reconcile_refs(work) and _suspense(work) == Decimal("3000.00")

    _config(work)
    summary = _sync(work)
    assert summary["vouchers_posted"] == 2  # the two CRM 回款, not the suspense booking again
    assert len(_reconcile_refs(work)) == 1


def _stripe_world(tmp_path: Path, stripe: Any, bank: Any) -> str:
    """Two Stripe sales paid out together to the CMB account; the ledger gets a detail account
    for the Stripe clearing (其他货币资金-Stripe 1012.04) so every leg can post."""
    from decimal import Decimal as D

    crm = tmp_path / "crm"
    crm.mkdir()
    _write_crm(
        tmp_path,
        {
            **_payment(
                "s2",
                "20261103-000002",
                "C011",
                "杭州青禾科技有限公司",
                "1130.00",
                "2026-11-03",
                "SO-20261103-0002",
            ),
            "payment_term": "5",
        },
        {
            **_payment(
                "s3",
                "20261103-000003",
                "C012",
                "深圳云启电子有限公司",
                "565.00",
                "2026-11-03",
                "SO-20261103-0003",
            ),
            "payment_term": "5",
        },
    )
    base = _ms("2026-11-03") // 1000
    ch2 = stripe.charge(113000, "SO-20261103-0002", created=base + 3600)
    ch3 = stripe.charge(56500, "SO-20261103-0003", created=base + 7200)
    po = stripe.payout(
        [ch2, ch3], arrival=_ms("2026-11-05") // 1000, trace="CMBTRACE20261105", created=base + 86400
    )
    net = f"{D(-po['amount']).scaleb(-2):.2f}"
    acc = bank.account("755912345610901", "100000.00")
    acc.add("20261105", amount=net, cdr="C", rpynam="STRIPE PAYMENTS SINGAPORE", nusage="CMBTRACE20261105")

    maps = tmp_path / "m"
    shutil.copytree(ROOT / "mappings" / "fxiaoke-kingdee", maps)
    with (maps / "lookups" / "bank_accounts.csv").open("a", encoding="utf-8") as fh:
        fh.write("5,1012.04,Stripe → 其他货币资金-Stripe\n")
    shutil.copy(
        ROOT / "mappings" / "bank-kingdee" / "platform_fee_stripe.yaml", maps / "platform_fee_stripe.yaml"
    )
    shutil.copy(ROOT / "connectors" / "ledger" / "chart_cn.csv", tmp_path / "chart.csv")
    (tmp_path / "config.yaml").write_text(
        "state: {url: sqlite:///state.db}\n"
        "sources:\n  crm: {type: files, path: crm}\n"
        f"  cmb: {{type: cmb, base_url: '{bank.url}', userid: {bank.userid}, secret: {bank.secret},\n"
        "        bbknbr: '75', accounts: ['755912345610901'],\n"
        "        start_date: '2026-11-04', end_date: '2026-11-05'}\n"
        f"  stripe: {{type: stripe, api_key: {stripe.api_key}, base_url: '{stripe.url}'}}\n"
        "destination: {type: ledger, path: ledger.db, chart: chart.csv, dedupe: false}\n"
        "mappings: [m/payment_received.yaml, m/platform_fee_stripe.yaml]\n"
        "reconcile: {bank_sources: [cmb, stripe], crm_source: crm, book: '001', post_vouchers: true,\n"
        "            bank_accounts: {'755912345610901': '1002.02'},\n"
        "            clearing_accounts: {stripe: '1012.04'}}\n",
        encoding="utf-8",
    )
    return net


def test_a_stripe_payout_is_split_into_its_orders_and_empties_the_clearing_account(tmp_path: Path) -> None:
    from tests.fakes.cmb import FakeCmb
    from tests.fakes.stripe import FakeStripe

    with FakeCmb() as bank, FakeStripe() as stripe:
        net = _stripe_world(tmp_path, stripe, bank)
        first = _sync(tmp_path)
        second = _sync(tmp_path)
    assert first["vouchers_posted"] == 5  # 2 回款, 2 Stripe fees, 1 payout
    assert second["vouchers_posted"] == 0
    (payout,) = [
        v for v in list_vouchers(tmp_path / "ledger.db") if v.key.startswith("reconcile:settlement:")
    ]
    totals = account_totals(tmp_path / "ledger.db")
    assert totals["1002.02"].debit == Decimal(net)
    assert (
        totals["1012.04"].debit == totals["1012.04"].credit == Decimal("1695.00")
    )  # gross in = fee + net out
    assert totals["6603.02"].debit == Decimal("1695.00") - Decimal(net)
    assert sorted((ln.account, ln.dims.get("order")) for ln in payout.lines if ln.credit) == [
        ("1012.04", "SO-20261103-0002"),
        ("1012.04", "SO-20261103-0003"),
    ]  # one clearing line per order the payout settles
    assert sum(ln.credit for ln in payout.lines) == Decimal(net)
