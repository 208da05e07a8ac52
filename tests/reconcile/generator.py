"""A generated month of CRM payments and the bank lines that really paid them, with the truth.

What payers do to us, each in its share: type our number right (in many spellings), type
it wrong by one character, type nothing, let the bank keep a charge, pay several orders at
once, pay one in parts, pay us and have it reversed, or never pay at all. Strangers send
money we cannot place, the bank charges fees, Stripe pays out a batch of card payments net
of its fees, Alipay settles a day's sales the next morning. ``truth`` says which CRM
payments each bank line pays, so a test can count wrong matches exactly.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sync.banking import CREDIT, DEBIT, BankTransaction
from sync.reconcile.model import CrmOrder, CrmPayment

CITIES = [
    "上海",
    "北京",
    "杭州",
    "深圳",
    "广州",
    "苏州",
    "南京",
    "成都",
    "武汉",
    "西安",
    "天津",
    "重庆",
    "宁波",
    "无锡",
]
WORDS = [
    "明远",
    "青禾",
    "华信",
    "云启",
    "精工",
    "博达",
    "瑞丰",
    "恒通",
    "东方",
    "汇金",
    "中科",
    "宏图",
    "金桥",
    "新源",
    "天成",
    "正和",
    "德润",
    "安泰",
    "鼎盛",
    "嘉禾",
]
TRADES = ["贸易", "科技", "电子", "五金制品", "信息技术", "机械设备", "新材料", "医疗器械", "物流", "软件"]
ACCOUNT = "755912345610901"
MONTH = dt.date(2026, 11, 1)
FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


@dataclass
class Month:
    payments: list[CrmPayment] = field(default_factory=list)
    orders: list[CrmOrder] = field(default_factory=list)
    bank: list[BankTransaction] = field(default_factory=list)
    #: bank/platform line id -> CRM payment ids it pays (empty: pays none of ours)
    truth: dict[str, set[str]] = field(default_factory=dict)
    #: bank credit id -> "settlement" when it is a platform payout
    settlement_credits: set[str] = field(default_factory=set)
    scenario: dict[str, str] = field(default_factory=dict)
    never_paid: set[str] = field(default_factory=set)


def _cents(rng: random.Random, lo: int, hi: int) -> Decimal:
    if rng.random() < 0.25:  # round amounts collide: the ambiguity a matcher must not guess through
        return Decimal(rng.randint(lo // 1000 + 1, min(hi // 1000, 60)) * 1000)
    return Decimal(rng.randint(lo * 100, hi * 100)).scaleb(-2)


def _spell(rng: random.Random, number: str) -> str:
    """Our number as a payer might type it (all of these normalise back to it)."""
    style = rng.randrange(6)
    if style == 0:
        return number
    if style == 1:
        return number.replace("-", "")
    if style == 2:
        return number.translate(FULLWIDTH)
    if style == 3:
        return number.lower()
    if style == 4:
        return number.replace("-", " ")
    return number[:4] + number[4:].replace("0", "O", 1) if "0" in number[5:] else number


def _typo(rng: random.Random, number: str) -> str:
    digits = [i for i, c in enumerate(number) if c.isdigit()]
    i = rng.choice(digits[2:-1])
    chars = list(number)
    if rng.random() < 0.5 and chars[i + 1].isdigit() and chars[i] != chars[i + 1]:
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        chars[i] = str((int(chars[i]) + rng.randint(1, 9)) % 10)
    return "".join(chars)


def _payer(rng: random.Random, name: str) -> str:
    style = rng.randrange(4)
    if style == 0:
        return name
    if style == 1:
        return name.removesuffix("有限公司")
    if style == 2:
        return name.replace("有限公司", "（有限公司）")
    return name + " "


def generate(seed: int = 7, orders: int = 3000, strangers: int = 80) -> Month:  # noqa: C901
    rng = random.Random(seed)
    m = Month()
    customers: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(customers) < max(60, orders // 6):
        name = f"{rng.choice(CITIES)}{rng.choice(WORDS)}{rng.choice(WORDS)}{rng.choice(TRADES)}有限公司"
        if name not in seen:
            seen.add(name)
            customers.append((name, str(rng.randint(10**15, 10**16 - 1))))
    seq = 0

    def bank_line(
        amount: Decimal,
        day: dt.date,
        payer: tuple[str, str] | None,
        text: str,
        *,
        kind: str = "receipt",
        direction: str = CREDIT,
        reversal: bool = False,
    ) -> BankTransaction:
        nonlocal seq
        seq += 1
        name, acct = payer or ("", "")
        t = BankTransaction(
            id=f"camt053:gen{seq:07d}",
            format="camt053",
            account=ACCOUNT,
            direction=direction,
            amount=amount,
            currency="CNY",
            booking_date=min(max(day, MONTH), dt.date(2026, 11, 30)),
            payer_name=_payer(rng, name) if name else "",
            payer_account=acct if rng.random() < 0.6 else "",
            remittance=text,
            bank_code="PMNT/RCDT/DMCT",
            kind=kind,
            reversal=reversal,
            statement_id=f"S{day:%Y%m%d}",
            source_file="generated",
        )
        m.bank.append(t)
        m.truth.setdefault(t.id, set())
        return t

    by_customer: dict[str, list[CrmPayment]] = {}
    per_day: Counter[dt.date] = Counter()
    pay_no = 0
    all_payments: list[tuple[CrmPayment, tuple[str, str]]] = []
    for n in range(orders):
        cust = rng.choice(customers)
        day = MONTH + dt.timedelta(days=rng.randrange(28))
        per_day[day] += 1
        number = f"SO-{day:%Y%m%d}-{per_day[day]:04d}"
        amount = _cents(rng, 500, 200_000)
        order = CrmOrder(f"o{n:06d}", number, amount, day, cust[0])
        m.orders.append(order)
        split = [amount]
        if rng.random() < 0.1 and amount > 2000:
            first = (amount * Decimal("0.3")).quantize(Decimal("0.01"))
            split = [first, amount - first]
        for part in split:
            pay_no += 1
            pay_day = day + dt.timedelta(days=rng.randrange(3))
            p = CrmPayment(
                f"p{pay_no:06d}",
                f"{pay_day:%Y%m%d}-{pay_no:06d}",
                part,
                pay_day,
                cust[0],
                (order.id,),
                (number,),
            )
            m.payments.append(p)
            by_customer.setdefault(cust[0], []).append(p)
            all_payments.append((p, cust))

    rng.shuffle(all_payments)
    taken: set[str] = set()
    stripe_pool: list[CrmPayment] = []
    alipay_pool: list[CrmPayment] = []
    for p, cust in all_payments:
        if p.id in taken:
            continue
        taken.add(p.id)
        r = rng.random()
        day = p.date + dt.timedelta(days=rng.randint(-2, 4))
        single_payment_order = sum(1 for q in by_customer[cust[0]] if q.order_numbers == p.order_numbers) == 1
        ref = p.number if (rng.random() < 0.5 or not single_payment_order) else p.order_numbers[0]
        if r < 0.04 and p.date < dt.date(2026, 11, 20):
            m.never_paid.add(p.id)
            m.scenario[p.id] = "never_paid"
        elif r < 0.52:
            t = bank_line(
                p.amount, day, cust, f"{rng.choice(['货款', '回款', '付款', '支付'])} {_spell(rng, ref)}"
            )
            m.truth[t.id] = {p.id}
            m.scenario[t.id] = "reference"
        elif r < 0.60:
            t = bank_line(p.amount, day, cust, f"货款 {_typo(rng, ref)}")
            m.truth[t.id] = {p.id}
            m.scenario[t.id] = "typo"
        elif r < 0.66:
            t = bank_line(p.amount, day, cust, rng.choice(["货款", "付款", "", "转账"]))
            m.truth[t.id] = {p.id}
            m.scenario[t.id] = "payer_amount"
        elif r < 0.70:
            # the owner pays from a personal account, no reference: nothing ties it to the company
            given = rng.choice(["伟", "芳", "娜", "敏", "静", "强", "磊"])
            person = (f"{rng.choice('王李张刘陈杨赵黄周吴')}{given}", "")
            t = bank_line(p.amount, day, person, rng.choice(["货款", "代付"]))
            m.truth[t.id] = {p.id}
            m.scenario[t.id] = "third_party"
        elif r < 0.74:
            # the customer pays two equal amounts without reference: which is which is a guess
            twin = [q for q in by_customer[cust[0]] if q.id not in taken and q.amount == p.amount]
            t = bank_line(p.amount, day, cust, "货款")
            m.truth[t.id] = {p.id, *(q.id for q in twin[:1])}
            m.scenario[t.id] = "payer_amount" if not twin else "ambiguous"
        elif r < 0.79 and p.amount > 100:
            fee = Decimal(rng.randint(500, 2500)).scaleb(-2)
            t = bank_line(p.amount - fee, day, cust, f"货款 {_spell(rng, p.number)} 扣手续费")
            m.truth[t.id] = {p.id}
            m.scenario[t.id] = "charge_deducted"
        elif r < 0.85:
            others = [
                q for q in by_customer[cust[0]] if q.id not in taken and abs((q.date - p.date).days) <= 5
            ]
            group = [p, *others[: rng.randint(1, 2)]]
            taken.update(q.id for q in group)
            t = bank_line(sum((q.amount for q in group), Decimal(0)), day, cust, "合并付款")
            m.truth[t.id] = {q.id for q in group}
            m.scenario[t.id] = "combined" if len(group) > 1 else "payer_amount"
        elif r < 0.90 and p.amount > 1000:
            first = (p.amount * Decimal(rng.choice(["0.4", "0.5", "0.6"]))).quantize(Decimal("0.01"))
            for k, part in enumerate((first, p.amount - first)):
                t = bank_line(
                    part, day + dt.timedelta(days=k * 3), cust, f"分期 {_spell(rng, p.number)} 第{k + 1}笔"
                )
                m.truth[t.id] = {p.id}
                m.scenario[t.id] = "parts"
        elif r < 0.94:
            stripe_pool.append(p)
        elif r < 0.97:
            alipay_pool.append(p)
        else:
            t = bank_line(p.amount, day, cust, f"货款 {_spell(rng, ref)}")
            m.truth[t.id] = {p.id}
            m.scenario[t.id] = "reference"

    # Stripe: card payments of some orders, paid out net of fees, one payout to the bank
    members = []
    for i, p in enumerate(stripe_pool):
        gross = p.amount
        fee = (gross * Decimal("0.034")).quantize(Decimal("0.01"))
        t = BankTransaction(
            id=f"txn_gen{i:06d}",
            format="stripe",
            account="stripe:CNY",
            direction=CREDIT,
            amount=gross,
            currency="CNY",
            booking_date=p.date,
            kind="charge",
            fee=fee,
            net=gross - fee,
            order_ref=p.order_numbers[0] if rng.random() < 0.5 else p.number,
            payout_id="po_gen1",
            references=(f"ch_gen{i}",),
            source_file="generated",
        )
        m.bank.append(t)
        m.truth[t.id] = {p.id}
        members.append(t)
    if members:
        net = sum((t.net or Decimal(0) for t in members), Decimal(0))
        payout = BankTransaction(
            id="txn_genpayout",
            format="stripe",
            account="stripe:CNY",
            direction=DEBIT,
            amount=net,
            currency="CNY",
            booking_date=dt.date(2026, 11, 28),
            kind="payout",
            net=net,
            payout_id="po_gen1",
            trace_id="STRIPETRACE88231",
            value_date=dt.date(2026, 11, 29),
            raw={"members": ",".join(t.id for t in members)},
            source_file="generated",
        )
        m.bank.append(payout)
        m.truth[payout.id] = set()
        credit = bank_line(
            net,
            dt.date(2026, 11, 29),
            ("STRIPE PAYMENTS SINGAPORE PTE LTD", ""),
            "STRIPE PAYOUT STRIPETRACE88231",
        )
        m.settlement_credits.add(credit.id)
        m.scenario[credit.id] = "stripe_payout"
    per_order = Counter(q.order_numbers for q in m.payments)
    # Alipay: a day's sales settled next morning, net of 服务费
    day = dt.date(2026, 11, 18)
    nets = Decimal(0)
    for i, p in enumerate(alipay_pool):
        fee = (p.amount * Decimal("0.006")).quantize(Decimal("0.01"))
        t = BankTransaction(
            id=f"alipay:gen{i:06d}",
            format="alipay_bill",
            account="alipay",
            direction=CREDIT,
            amount=p.amount,
            currency="CNY",
            booking_date=day,
            kind="charge",
            fee=fee,
            net=p.amount - fee,
            order_ref=p.order_numbers[0] if per_order[p.order_numbers] == 1 else p.number,
            source_file="generated",
        )
        nets += p.amount - fee
        m.bank.append(t)
        m.truth[t.id] = {p.id}
    if alipay_pool:
        credit = bank_line(
            nets, day + dt.timedelta(days=1), ("支付宝（中国）网络技术有限公司", ""), "支付宝提现"
        )
        m.settlement_credits.add(credit.id)
        m.scenario[credit.id] = "alipay_settlement"
    # strangers, bank fees, interest, one reversal
    for _ in range(strangers):
        name = f"{rng.choice(CITIES)}个体户{rng.randint(100, 999)}"
        t = bank_line(
            _cents(rng, 100, 50_000),
            MONTH + dt.timedelta(days=rng.randrange(30)),
            (name, ""),
            rng.choice(["货款", "往来款", "", "借款"]),
        )
        m.scenario[t.id] = "stranger"
    for d in range(30):
        bank_line(
            Decimal(rng.randint(1000, 5000)).scaleb(-2),
            MONTH + dt.timedelta(days=d),
            None,
            "跨行汇款手续费",
            kind="fee",
            direction=DEBIT,
        )
    bank_line(Decimal("1234.56"), dt.date(2026, 11, 21), None, "结息", kind="interest")
    wrong = bank_line(Decimal("8800.00"), dt.date(2026, 11, 12), ("误汇款人有限公司", ""), "误汇")
    m.scenario[wrong.id] = "reversed"
    bank_line(Decimal("8800.00"), dt.date(2026, 11, 13), None, "冲正 误汇", direction=DEBIT, reversal=True)
    return m
