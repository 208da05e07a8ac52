"""Generated outbox contents: receipt vouchers with known amounts and deliberate failures."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sync.model import MappingRef, SourceRef, Voucher, VoucherLine
from sync.reports.vouchers import QuarantinedItem, VoucherItem

CUSTOMERS = ["上海明远贸易有限公司", "北京华信科技有限公司", "深圳前海云帆电子", "杭州西溪茶业"]


def receipt(
    n: int, day: dt.date, amount: Decimal, *, fee: Decimal = Decimal(0), group: str = "收"
) -> Voucher:
    """Dr bank (amount - fee) + Dr fee / Cr AR amount: one 回款 record of ``amount``."""
    customer = CUSTOMERS[n % len(CUSTOMERS)]
    lines = [
        VoucherLine(account="1002", side="debit", amount=amount - fee, dims={"bank_account": "招行 0755"})
    ]
    if fee:
        lines.append(VoucherLine(account="6603", side="debit", amount=fee, memo="手续费"))
    lines.append(VoucherLine(account="1122", side="credit", amount=amount, dims={"customer": customer}))
    return Voucher(
        key=f"payment-received:PaymentObj:{n:06d}",
        book="101",
        date=day,
        group=group,
        summary=f"收到{customer}回款",
        lines=tuple(lines),
        sources=(
            SourceRef(
                system="crm",
                stream="PaymentObj",
                record_id=f"{n:024x}",
                name=f"{day:%Y%m%d}-{n:06d}",
                amount=amount,
            ),
        ),
        mapping=MappingRef(name="payment-received", file="mappings/payment.yaml", line=1),
    )


def outbox(seed: int, n: int = 60) -> tuple[list[VoucherItem], list[QuarantinedItem]]:
    rng = random.Random(seed)
    items = []
    for i in range(n):
        day = dt.date(2026, 11, rng.randint(1, 30))
        amount = Decimal(rng.randint(100, 5_000_000)) / 100
        status = rng.choices(["posted", "failed", "pending", "awaiting_approval"], [8, 1, 1, 1])[0]
        voucher = receipt(i + 1, day, amount, group=rng.choice(["收", "记"]))
        number = f"{voucher.group}-{i + 1}" if status == "posted" else ""
        error = "科目 1122 已禁用 (account disabled)" if status == "failed" else ""
        items.append(
            VoucherItem(
                voucher, status, erp_id=str(9000 + i) if number else "", erp_number=number, last_error=error
            )
        )
    quarantined = [
        QuarantinedItem(
            "payment-received",
            "crm",
            "PaymentObj",
            f"q{k:023x}",
            ("payment_amount: 12.5 is a float",),
            name=f"Q-{k}",
        )
        for k in range(3)
    ]
    return items, quarantined
