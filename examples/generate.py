"""Generate the sample tenant in examples/crm/ and examples/lookups/ (fixed seed: same bytes every run).

    .venv/bin/python examples/generate.py

Records have exactly the shape the Fxiaoke query API returns (specs/fxiaoke.md §3, §7.2):
amounts are decimal strings, date fields are epoch milliseconds at midnight Asia/Shanghai,
date-time fields are epoch milliseconds, lookups are 24-hex ``_id`` strings with a ``__r``
label. See examples/README.md for what the data contains and the option values used.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CRM = HERE / "crm"
LOOKUPS = HERE / "lookups"
SEED = 20261103
CST = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
CENT = Decimal("0.01")
LAST_DAY = dt.date(2026, 11, 30)

CUSTOMERS = [
    ("上海明远信息科技有限公司", "上海市浦东新区张江高科技园区碧波路690号"),
    ("北京华辰智能装备有限公司", "北京市海淀区上地信息路26号"),
    ("深圳市前海云帆供应链管理有限公司", "深圳市南山区前海深港合作区前湾一路1号"),
    ("杭州青禾电子商务有限公司", "杭州市余杭区文一西路969号"),
    ("广州粤海精密机械制造有限公司", "广州市黄埔区科学城开创大道2526号"),
    ("成都蜀通物流有限公司", "成都市双流区西航港大道中四段88号"),
    ("苏州工业园区恒瑞医疗器械有限公司", "苏州工业园区星湖街218号"),
    ("南京金陵数据服务有限公司", "南京市建邺区江东中路359号"),
    ("武汉光谷新材料股份有限公司", "武汉市东湖新技术开发区高新大道666号"),
    ("天津滨海汇通贸易有限公司", "天津市滨海新区第三大街51号"),
    ("重庆山城汽车零部件有限公司", "重庆市两江新区金渝大道99号"),
    ("西安秦川软件技术有限公司", "西安市高新区天谷八路211号"),
    ("厦门鹭岛食品有限公司", "厦门市湖里区火炬北路23号"),
    ("青岛海润环保科技有限公司", "青岛市崂山区株洲路187号"),
    ("长沙湘江文化传媒有限公司", "长沙市岳麓区麓谷大道627号"),
    ("宁波东港塑料制品有限公司", "宁波市北仑区新碶街道明州路818号"),
    ("合肥科大讯联网络有限公司", "合肥市高新区望江西路800号"),
    ("郑州中原建工集团有限公司", "郑州市郑东新区商务外环路20号"),
    ("昆明彩云农业开发有限公司", "昆明市官渡区春城路289号"),
    ("大连星海船舶设备有限公司", "大连市甘井子区黄浦路537号"),
]
OWNERS = ["1000", "1001", "1002", "1005"]
#: PaymentObj.payment_term / RefundObj.refunded_method option values of this tenant.
PAYMENT_TERMS = {"1": "银行转账", "2": "支付宝", "3": "微信支付", "4": "现金"}


class Ids:
    """Deterministic 24-hex ids, like Fxiaoke's ObjectIds."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, kind: str) -> str:
        self.n += 1
        return hashlib.sha256(f"{kind}-{self.n}".encode()).hexdigest()[:24]


def day_ms(day: dt.date) -> int:
    """A date field: midnight of the date in GMT+8, as epoch ms."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=CST).timestamp() * 1000)


def moment_ms(day: dt.date, rng: random.Random) -> int:
    """A date-time field during office hours of that day (GMT+8), as epoch ms."""
    t = dt.datetime(day.year, day.month, day.day, 9, tzinfo=CST) + dt.timedelta(
        seconds=rng.randrange(9 * 3600)
    )
    return int(t.timestamp() * 1000) + rng.randrange(1000)


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def envelope(rid: str, name: str, day: dt.date, rng: random.Random, owner: str) -> dict[str, Any]:
    created = moment_ms(day, rng)
    return {
        "_id": rid,
        "name": name,
        "owner": [owner],
        "created_by": [owner],
        "last_modified_by": [owner],
        "create_time": created,
        "last_modified_time": created + rng.randrange(60_000, 3_600_000),
        "life_status": "normal",
        "lock_status": "0",
        "is_deleted": False,
        "version": str(rng.randint(1, 5)),
        "record_type": "default__c",
    }


def generate() -> dict[str, list[dict[str, Any]]]:  # noqa: PLR0915 - one readable story
    rng = random.Random(SEED)  # noqa: S311 - sample data, not secrets
    new_id = Ids()
    out: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "AccountObj",
            "SalesOrderObj",
            "PaymentObj",
            "RefundObj",
            "InvoiceApplicationObj",
            "InvoiceApplicationLinesObj",
        )
    }

    accounts = []
    for i, (name, address) in enumerate(CUSTOMERS, start=1):
        rec = envelope(
            new_id("account"), name, dt.date(2026, 3, 1) + dt.timedelta(days=7 * i), rng, rng.choice(OWNERS)
        )
        rec.update(
            {
                "account_no": f"KH{i:05d}",
                "account_type": "1",
                "account_level": rng.choice("ABC"),
                "tel": f"0{rng.randint(10, 99)}-{rng.randint(60000000, 89999999)}",
                "address": address,
            }
        )
        accounts.append(rec)
    out["AccountObj"] = accounts

    per_day: dict[dt.date, int] = {}
    orders = []
    for n in range(64):
        acct = accounts[n % len(accounts)] if n < 40 else rng.choice(accounts)
        day = dt.date(2026, 11, 1) + dt.timedelta(days=rng.randrange(28))
        per_day[day] = per_day.get(day, 0) + 1
        amount = Decimal(rng.randrange(80_000, 12_000_000)) / 100
        if n % 5 == 0:
            amount = amount.quantize(Decimal(1))  # round figures happen too
        rec = envelope(new_id("order"), f"SO-{day:%Y%m%d}-{per_day[day]:04d}", day, rng, acct["owner"][0])
        rec.update(
            {
                "account_id": acct["_id"],
                "account_id__r": acct["name"],
                "order_time": day_ms(day),
                "order_amount": money(amount),
                "discount": "100.00",
                "delivery_date": day_ms(day + dt.timedelta(days=rng.randint(3, 15))),
                "remark": "",
            }
        )
        orders.append(rec)
    orders.sort(key=lambda r: (r["order_time"], r["name"]))
    orders[17]["life_status"] = "invalid"  # voided (作废) after entry
    orders[17]["remark"] = "客户取消订单，已作废"
    del orders[42]["order_amount"]  # exported without its amount: must be quarantined
    orders[42]["remark"] = "金额待确认"
    out["SalesOrderObj"] = orders

    pay_seq = 0
    payments = []

    def payment(order: dict[str, Any] | None, acct: dict[str, Any], amount: Decimal, day: dt.date) -> None:
        nonlocal pay_seq
        pay_seq += 1
        rec = envelope(new_id("payment"), f"{day:%Y%m%d}-{pay_seq:06d}", day, rng, acct["owner"][0])
        rec.update(
            {
                "account_id": acct["_id"],
                "account_id__r": acct["name"],
                "order_id": order["_id"] if order else "",
                "order_id__r": order["name"] if order else "",
                "payment_time": day_ms(day),
                "payment_amount": money(amount),
                "payment_term": rng.choices(list(PAYMENT_TERMS), weights=[6, 2, 2, 1])[0],
                "finance_confirm_time": moment_ms(day, rng),
                "remark": "",
            }
        )
        payments.append(rec)

    by_id = {a["_id"]: a for a in accounts}
    for order in orders:
        if order["life_status"] != "normal" or "order_amount" not in order:
            continue
        total = Decimal(order["order_amount"])
        start = dt.datetime.fromtimestamp(order["order_time"] / 1000, CST).date()
        acct = by_id[order["account_id"]]
        kind = rng.random()
        if kind < 0.45:  # paid in full
            payment(
                order, acct, total, min(start + dt.timedelta(days=rng.randint(0, 5)), dt.date(2026, 11, 30))
            )
        elif kind < 0.8:  # deposit now, balance later (分期回款)
            first = (total * Decimal(rng.choice([30, 40, 50])) / 100).quantize(CENT, ROUND_HALF_UP)
            payment(order, acct, first, start)
            payment(
                order,
                acct,
                total - first,
                min(start + dt.timedelta(days=rng.randint(3, 12)), dt.date(2026, 11, 30)),
            )
        elif kind < 0.92:  # partly paid, balance still open
            payment(order, acct, (total * Decimal("0.3")).quantize(CENT, ROUND_HALF_UP), start)
    for acct in rng.sample(accounts, 3):  # advances without an order (预收)
        payment(
            None,
            acct,
            Decimal(rng.randrange(500_000, 3_000_000)) / 100,
            dt.date(2026, 11, rng.randint(1, 28)),
        )
    payments.sort(key=lambda r: (r["payment_time"], r["name"]))
    out["PaymentObj"] = payments

    paid = [p for p in payments if p["order_id"]]
    for n, pay in enumerate(rng.sample(paid, 4), start=1):
        day = min(
            dt.datetime.fromtimestamp(pay["payment_time"] / 1000, CST).date() + dt.timedelta(days=3),
            dt.date(2026, 11, 30),
        )
        amount = (Decimal(pay["payment_amount"]) * Decimal(rng.choice([10, 25, 100])) / 100).quantize(CENT)
        rec = envelope(new_id("refund"), f"TK-{day:%Y%m%d}-{n:04d}", day, rng, pay["owner"][0])
        rec.update(
            {
                "account_id": pay["account_id"],
                "account_id__r": pay["account_id__r"],
                "order_id": pay["order_id"],
                "order_id__r": pay["order_id__r"],
                "refunded_amount": money(amount),
                "refunded_time": day_ms(day),
                "refunded_method": pay["payment_term"],
                "remark": "部分退货退款",
            }
        )
        out["RefundObj"].append(rec)
    out["RefundObj"].sort(key=lambda r: r["refunded_time"])

    invoiceable = [o for o in orders if o["life_status"] == "normal" and "order_amount" in o]
    for n, order in enumerate(rng.sample(invoiceable, 6), start=1):
        acct = by_id[order["account_id"]]
        day = min(
            dt.datetime.fromtimestamp(order["order_time"] / 1000, CST).date() + dt.timedelta(days=2),
            dt.date(2026, 11, 30),
        )
        gross = Decimal(order["order_amount"])
        inv_id = new_id("invoice")
        kind = "1" if n % 3 else "2"
        rec = envelope(inv_id, f"KP-{day:%Y%m%d}-{n:04d}", day, rng, acct["owner"][0])
        rec.update(
            {
                "account_id": acct["_id"],
                "account_id__r": acct["name"],
                "order_id": order["_id"],
                "order_id__r": order["name"],
                "invoice_applied_amount": money(gross),
                "invoice_date": day_ms(day),
                "invoice_type": kind,
                "title_type": "2",
                "invoice_no": f"{rng.randint(10_000_000, 99_999_999)}",
                "invoice_title": acct["name"],
                "tax_id": f"91{rng.randint(110000, 650000)}MA{rng.randint(10_000_000, 99_999_999)}X"[:18],
            }
        )
        out["InvoiceApplicationObj"].append(rec)
        net = (gross / Decimal("1.13")).quantize(CENT, ROUND_HALF_UP)
        line = envelope(new_id("invoice-line"), f"{rec['name']}-01", day, rng, acct["owner"][0])
        line.update(
            {
                "invoice_id": inv_id,
                "invoice_id__r": rec["name"],
                "order_id": order["_id"],
                "order_id__r": order["name"],
                "invoiced_amount": money(gross),
                "tax_rate": "13",
                "tax_amount": money(gross - net),
                "no_invoice_amount": "0.00",
                "invoice_date": day_ms(day),
            }
        )
        out["InvoiceApplicationLinesObj"].append(line)
    return out


def render(data: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """The files, path relative to examples/ -> text, exactly as written."""
    files = {
        f"crm/{stream}.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        for stream, records in data.items()
    }
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["crm_account_id", "erp_customer_code", "customer_name"])
    for i, acct in enumerate(data["AccountObj"], start=1):
        writer.writerow([acct["_id"], f"CUST{i:04d}", acct["name"]])
    files["lookups/customers.csv"] = buf.getvalue()
    return files


def main() -> None:
    data = generate()
    for rel, text in render(data).items():
        path = HERE / rel
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    counts = ", ".join(f"{k} {len(v)}" for k, v in data.items())
    print(f"wrote examples/crm/*.jsonl ({counts}) and examples/lookups/customers.csv")


if __name__ == "__main__":
    main()
