"""`crmsync reconcile` over API sources: CMB 银企直连 and Stripe fakes, the payout matched end to end."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from sync.cli import cli
from tests.fakes.cmb import FakeCmb
from tests.fakes.stripe import FakeStripe

ACC = "755912345610901"


def _ms(day: str) -> int:
    return int(dt.datetime.fromisoformat(f"{day}T00:00:00+08:00").timestamp() * 1000)


def test_cmb_receipts_and_a_stripe_payout(tmp_path: Path) -> None:
    crm = tmp_path / "crm"
    crm.mkdir()
    rows = [
        ("pay1", "20261103-000001", "上海明远贸易有限公司", "SO-20261103-0001", "11300.00"),
        ("pay2", "20261103-000002", "杭州青禾科技有限公司", "SO-20261103-0002", "1130.00"),
        ("pay3", "20261103-000003", "深圳云启电子有限公司", "SO-20261103-0003", "565.00"),
    ]
    (crm / "PaymentObj.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "_id": i,
                    "name": n,
                    "account_id__r": c,
                    "order_id__r": o,
                    "payment_time": _ms("2026-11-03"),
                    "payment_amount": a,
                    "life_status": "normal",
                },
                ensure_ascii=False,
            )
            + "\n"
            for i, n, c, o, a in rows
        ),
        encoding="utf-8",
    )
    with FakeCmb() as bank, FakeStripe() as stripe:
        ch2 = stripe.charge(113000, "SO-20261103-0002", created=_ms("2026-11-03") // 1000 + 3600)
        ch3 = stripe.charge(56500, "SO-20261103-0003", created=_ms("2026-11-03") // 1000 + 7200)
        po = stripe.payout(
            [ch2, ch3],
            arrival=_ms("2026-11-05") // 1000,
            trace="CMBTRACE20261105",
            created=_ms("2026-11-04") // 1000,
        )
        net = f"{Decimal(-po['amount']).scaleb(-2):.2f}"
        acc = bank.account(ACC, "100000.00")
        acc.add(
            "20261104",
            amount="11300.00",
            cdr="C",
            rpynam="上海明远贸易有限公司",
            rpyacc="31001234567890",
            nusage="货款 SO-20261103-0001",
        )
        acc.add(
            "20261105", amount=net, cdr="C", rpynam="STRIPE PAYMENTS SINGAPORE", nusage="CMBTRACE20261105"
        )
        acc.add("20261105", amount="777.00", cdr="C", rpynam="某个体户", nusage="往来款")
        (tmp_path / "config.yaml").write_text(
            "state: {url: sqlite:///state.db}\n"
            "sources:\n  crm: {type: files, path: crm}\n"
            f"  cmb: {{type: cmb, base_url: '{bank.url}', userid: {bank.userid}, secret: {bank.secret},\n"
            f"        bbknbr: '75', accounts: ['{ACC}'], start_date: '2026-11-04', end_date: '2026-11-05'}}\n"
            f"  stripe: {{type: stripe, api_key: {stripe.api_key}, base_url: '{stripe.url}'}}\n"
            "destination: {type: ledger, path: ledger.db}\nmappings: [m/*.yaml]\n"
            f"reconcile: {{bank_sources: [cmb, stripe], bank_accounts: {{'{ACC}': '1002.02'}}}}\n",
            encoding="utf-8",
        )
        result = CliRunner().invoke(
            cli,
            [
                "reconcile",
                "-c",
                str(tmp_path / "config.yaml"),
                "--format",
                "json",
                "--vouchers",
                str(tmp_path / "v.json"),
            ],
        )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_payer = {b["payer"]: b for b in data["bank"] if b["format"] == "cmb"}
    assert by_payer["上海明远贸易有限公司"]["rule"] == "reference_order"
    assert by_payer["STRIPE PAYMENTS SINGAPORE"]["status"] == "settlement"
    assert by_payer["某个体户"]["status"] == "unmatched"
    assert {p["payment_id"]: p["status"] for p in data["payments"]} == {
        "pay1": "matched",
        "pay2": "matched",
        "pay3": "matched",
    }
    (settlement,) = data["settlements"]
    assert settlement["rule"] == "platform_payout_trace" and settlement["members"] == 2
    books = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    payout = next(v for v in books if v["key"].startswith("reconcile:settlement:"))
    lines = [(ln["account"], ln["debit"], ln["credit"]) for ln in payout["lines"]]
    assert lines[0] == ("1002.02", net, "0.00")
    assert sorted(lines[1:]) == [("1012.04", "0.00", "1091.58"), ("1012.04", "0.00", "545.79")]
