"""The vouchers reconciliation books: what the CRM's own mappings cannot know.

The CRM mapping ``payment_received`` already books every 回款 the CRM records (Dr bank or
platform clearing / Cr 应收账款). Reconciliation books only the differences the bank shows,
one voucher per bank line keyed by the line's id (a later decision changes its content,
hence its revision, and the engine reverses the old one and posts the new):

- money nobody claimed (an unmatched receipt, or what is left of one after its payments):
  Dr bank / Cr suspense (其他应付款-待处理), for finance to clear;
- a payment the bank short-paid within tolerance (its charge deducted): Dr 手续费 / Cr bank;
- a platform settlement (Stripe payout, Alipay/WeChat daily settlement) that reached the
  bank: Dr bank / Cr the platform's clearing account (其他货币资金), one line per order it
  settles, net of the platform fee. The sale put the gross on the clearing account (CRM
  ``payment_received``) and the fee left it at sale time (``mappings/bank-kingdee/
  platform_fee_*.yaml``: Dr 财务费用-手续费 / Cr clearing), so the payout empties it order
  by order, as docs/specs/bank-payments.md §5.3 (8) recommends.
"""

from __future__ import annotations

from decimal import Decimal

from sync.banking import CREDIT
from sync.model import MappingRef, Side, SourceRef, Voucher, VoucherLine
from sync.money import ZERO
from sync.reconcile.config import ReconcileConfig
from sync.reconcile.model import BankResult, ReconcileResult, SettlementResult

__all__ = ["receipt_voucher", "settlement_voucher", "vouchers"]

_MAPPING = MappingRef(name="reconcile", file="sync/reconcile/vouchers.py")


def _line(
    account: str, side: Side, amount: Decimal, currency: str, memo: str, *, dims: dict[str, str] | None = None
) -> VoucherLine:
    """A line; a negative amount goes to the other side (a fee refunded, say)."""
    if amount < 0:
        side, amount = side.opposite(), -amount
    return VoucherLine(
        account=account, side=side, amount=amount, currency=currency, memo=memo[:200], dims=dims or {}
    )


def receipt_voucher(res: BankResult, cfg: ReconcileConfig) -> Voucher | None:
    """Suspense for unclaimed money and the bank's deducted charge; None when the CRM side says it all."""
    t = res.txn
    if t.direction != CREDIT or res.status not in {"matched", "partial", "unmatched"}:
        return None
    if res.suspense <= 0 and res.fee <= 0:
        return None
    bank_account = cfg.bank_ledger_account(t.account)
    payer = t.payer_name or "未知付款人"
    lines = []
    if res.suspense > 0:
        lines += [
            _line(
                bank_account,
                Side.DEBIT,
                res.suspense,
                t.currency,
                f"{payer} {t.remittance}",
                dims={"bank_account": t.account},
            ),
            _line(
                cfg.suspense_account,
                Side.CREDIT,
                res.suspense,
                t.currency,
                f"待处理 {payer} {t.remittance}",
                dims={"payer": payer},
            ),
        ]
    if res.fee > 0:
        paid = next((a for a in res.allocations if a.payment_id == res.fee_payment), None)
        lines += [
            _line(
                cfg.fee_account,
                Side.DEBIT,
                res.fee,
                t.currency,
                f"银行扣收手续费 {paid.payment_number if paid else ''}".strip(),
            ),
            _line(
                bank_account,
                Side.CREDIT,
                res.fee,
                t.currency,
                "回款短收 (银行扣费)",
                dims={"bank_account": t.account},
            ),
        ]
    summary = f"待处理收款 {payer}" if res.suspense > 0 else f"回款手续费 {payer}"
    return Voucher(
        key=f"reconcile:receipt:{t.id}",
        book=cfg.book,
        date=t.booking_date,
        group=cfg.voucher_group,
        summary=summary[:200],
        currency=t.currency,
        lines=tuple(lines),
        sources=(
            SourceRef(system=t.format, stream=t.format, record_id=t.id, name=t.statement_id, amount=t.amount),
        ),
        mapping=_MAPPING,
    )


def settlement_voucher(
    s: SettlementResult, res: BankResult, cfg: ReconcileConfig, customers: dict[str, str] | None = None
) -> Voucher:
    """Dr bank (payout) / Cr clearing per order (net of its fee): a payout split into its orders."""
    t = res.txn
    customers = customers or {}
    clearing = cfg.clearing_accounts.get(s.platform, "1012.04")
    lines = [
        _line(
            cfg.bank_ledger_account(t.account),
            Side.DEBIT,
            t.amount,
            t.currency,
            f"{s.platform} 结算 {s.id}",
            dims={"bank_account": t.account},
        )
    ]
    for m in s.members:
        net = m.net if m.net is not None else m.amount - (m.fee or ZERO)
        signed = net if m.direction == CREDIT else -net  # a refund took money off the clearing account
        lines.append(
            _line(
                clearing,
                Side.CREDIT,
                signed,
                t.currency,
                f"{s.platform} {m.kind} {m.order_ref}",
                dims={"order": m.order_ref, "customer": customers.get(m.id, "")},
            )
        )
    total_debit = sum((ln.amount for ln in lines if ln.side is Side.DEBIT), ZERO)
    total_credit = sum((ln.amount for ln in lines if ln.side is Side.CREDIT), ZERO)
    if total_debit != total_credit:  # the payout did not equal its members' net: book the rest to suspense
        lines.append(
            _line(
                cfg.suspense_account,
                Side.CREDIT,
                total_debit - total_credit,
                t.currency,
                f"{s.platform} 结算差额 {s.id}",
            )
        )
    return Voucher(
        key=f"reconcile:settlement:{s.id}",
        book=cfg.book,
        date=t.booking_date,
        group=cfg.voucher_group,
        summary=f"{s.platform} 结算 {s.id}"[:200],
        currency=t.currency,
        lines=tuple(lines),
        sources=(
            SourceRef(system=t.format, stream=t.format, record_id=t.id, amount=t.amount),
            *(
                SourceRef(system=m.format, stream=m.format, record_id=m.id, name=m.order_ref, amount=m.amount)
                for m in s.members
            ),
        ),
        mapping=_MAPPING,
    )


def vouchers(result: ReconcileResult, cfg: ReconcileConfig) -> list[Voucher]:
    """Every voucher: suspense and bank charge per receipt, one per settlement that reached the bank."""
    out = [v for r in result.bank if (v := receipt_voucher(r, cfg)) is not None]
    by_id = result.by_bank_id()
    customers = {r.txn.id: r.allocations[0].customer for r in result.bank if r.allocations}
    out.extend(
        settlement_voucher(s, by_id[s.bank_id], cfg, customers) for s in result.settlements if s.bank_id
    )
    return out
