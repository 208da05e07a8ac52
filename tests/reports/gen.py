"""Generated CRM books with known answers: every payment part is recorded in the truth.

Records are in the Fxiaoke wire shapes (amounts as strings, times as epoch ms), so the
report code reads them exactly as it would read the CRM. The truth is kept as plain Python
values beside them, so the tests compute expected figures without the code under test.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sync.dates import CHINA, epoch_ms

CUSTOMERS = [
    "上海明远贸易有限公司",
    "北京华信科技有限公司",
    "深圳前海云帆电子",
    "杭州西溪茶业",
    "成都锦城建材",
]
OWNERS = ["张伟", "李娜", "王芳"]
METHODS = ["银行转账", "承兑汇票", "支付宝", "现金"]
START = dt.date(2026, 6, 1)


def ms(day: dt.date, hour: int = 10, minute: int = 0) -> int:
    """Epoch ms of a wall-clock time in China on ``day``."""
    return epoch_ms(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHINA))


def oid(prefix: str, n: int) -> str:
    return f"{prefix}{n:022x}"[:24]


@dataclass
class TruthOrder:
    id: str
    account: str
    date: dt.date
    amount: Decimal
    owner: str


@dataclass
class TruthPayment:
    id: str
    account: str
    date: dt.date
    amount: Decimal
    method: str
    owner: str
    parts: list[tuple[str, Decimal]]  # (order id, amount); "" = not applied to any order


@dataclass
class TruthRefund:
    id: str
    account: str
    date: dt.date
    amount: Decimal
    order: str  # "" = paid back on account


@dataclass
class Generated:
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    orders: list[TruthOrder] = field(default_factory=list)
    payments: list[TruthPayment] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    refunds: list[TruthRefund] = field(default_factory=list)


def cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def generate(seed: int, n_orders: int = 30, *, refunds: bool = False) -> Generated:
    rng = random.Random(seed)
    g = Generated()
    accounts = [oid("a", i + 1) for i in range(len(CUSTOMERS))]
    for aid, name in zip(accounts, CUSTOMERS, strict=True):
        g.names[aid] = name
        g.records.append(
            ("AccountObj", {"_id": aid, "name": name, "life_status": "normal", "is_deleted": False})
        )
    pay_n = 0
    for i in range(n_orders):
        aid = rng.choice(accounts)
        day = START + dt.timedelta(days=rng.randint(0, 180))
        amount = cents(rng, 100, 90000)
        owner = rng.choice(OWNERS)
        order_id = oid("0", i + 1)
        g.orders.append(TruthOrder(order_id, aid, day, amount, owner))
        g.records.append(
            (
                "SalesOrderObj",
                {
                    "_id": order_id,
                    "name": f"SO-{day:%Y%m%d}-{i + 1:04d}",
                    "account_id": aid,
                    "order_time": ms(day, rng.randint(0, 23), rng.randint(0, 59)),
                    "order_amount": f"{amount:.2f}",
                    "owner": [str(1000 + OWNERS.index(owner))],
                    "owner__r": owner,
                    "life_status": "normal",
                    "is_deleted": False,
                    "lock_status": "0",
                },
            )
        )
        # pay it in 0..3 parts, sometimes too much
        left = amount
        for _ in range(rng.randint(0, 3)):
            part = min(left, cents(rng, 1, int(amount) + 1)) if rng.random() < 0.9 else cents(rng, 1, 500)
            if part <= 0:
                break
            left -= part
            pay_n += 1
            pday = day + dt.timedelta(days=rng.randint(0, 150))
            style = rng.choice(["order_id", "rows"])
            g.payments.append(_payment(g, rng, pay_n, aid, pday, part, owner, [(order_id, part)], style))
    # payments on account (no order), and invalid records that must be ignored
    for _ in range(rng.randint(0, 4)):
        pay_n += 1
        aid = rng.choice(accounts)
        pday = START + dt.timedelta(days=rng.randint(0, 200))
        amount = cents(rng, 50, 5000)
        g.payments.append(
            _payment(g, rng, pay_n, aid, pday, amount, rng.choice(OWNERS), [("", amount)], "none")
        )
    g.records.append(
        (
            "SalesOrderObj",
            {
                "_id": oid("f", 1),
                "name": "SO-作废",
                "account_id": accounts[0],
                "order_time": ms(START),
                "order_amount": "99999.99",
                "life_status": "invalid",
            },
        )
    )
    g.records.append(
        (
            "PaymentObj",
            {
                "_id": oid("e", 1),
                "name": "PAY-作废",
                "account_id": accounts[0],
                "payment_time": ms(START),
                "payment_amount": "12345.67",
                "payment_term": "银行转账",
                "life_status": "invalid",
            },
        )
    )
    if refunds:
        _refunds(g, rng)
    rng.shuffle(g.records)
    return g


def _refunds(g: Generated, rng: random.Random) -> None:
    """退款: part of some payments paid back on their order, some on account, one voided."""
    applied = [(p, order_id, part) for p in g.payments for order_id, part in p.parts if order_id]
    chosen = rng.sample(applied, k=min(len(applied), rng.randint(0, 5)))
    on_account = [
        (p, "", p.amount) for p in rng.sample(g.payments, k=min(len(g.payments), rng.randint(0, 2)))
    ]
    for n, (payment, order_id, part) in enumerate(chosen + on_account, start=1):
        amount = min(part, cents(random.Random(n), 1, 3000))
        day = payment.date + dt.timedelta(days=rng.randint(0, 40))
        rid = oid("d", n)
        record: dict[str, Any] = {
            "_id": rid,
            "name": f"TK-{day:%Y%m%d}-{n:04d}",
            "account_id": payment.account,
            "refunded_time": ms(day, rng.randint(0, 23)),
            "refunded_amount": f"{amount:.2f}",
            "refunded_method": "1",
            "life_status": "normal",
            "is_deleted": False,
        }
        if order_id:
            record["order_id"] = order_id
        g.records.append(("RefundObj", record))
        g.refunds.append(TruthRefund(rid, payment.account, day, amount, order_id))
    g.records.append(
        (
            "RefundObj",
            {
                "_id": oid("d", 99),
                "name": "TK-作废",
                "account_id": g.orders[0].account,
                "refunded_time": ms(START),
                "refunded_amount": "777.77",
                "life_status": "invalid",
            },
        )
    )


def _payment(
    g: Generated,
    rng: random.Random,
    n: int,
    aid: str,
    day: dt.date,
    amount: Decimal,
    owner: str,
    parts: list[tuple[str, Decimal]],
    style: str,
) -> TruthPayment:
    pid = oid("b", n)
    method = rng.choice(METHODS)
    record: dict[str, Any] = {
        "_id": pid,
        "name": f"{day:%Y%m%d}-{n:06d}",
        "account_id": aid,
        "payment_time": ms(day, rng.randint(0, 23), rng.randint(0, 59)),
        "payment_amount": f"{amount:.2f}",
        "payment_term": method,
        "owner": [str(1000 + OWNERS.index(owner))],
        "owner__r": owner,
        "life_status": "normal",
        "is_deleted": False,
    }
    if style == "order_id":
        record["order_id"] = parts[0][0]
    g.records.append(("PaymentObj", record))
    if style == "rows":
        for k, (order_id, part) in enumerate(parts):
            g.records.append(
                (
                    "OrderPaymentObj",
                    {
                        "_id": oid("c", n * 10 + k),
                        "payment_id": pid,
                        "order_id": order_id,
                        "account_id": aid,
                        "payment_amount": f"{part:.2f}",
                        "payment_time": record["payment_time"],
                        "life_status": "normal",
                    },
                )
            )
    return TruthPayment(pid, aid, day, amount, method, owner, parts)
