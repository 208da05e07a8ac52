"""The vouchers reconciliation books: receipts (matched or not), and platform settlements.

One voucher per bank credit, keyed by the bank line's id, so it is booked once whatever
the matching decides; a later decision (a manual match, a late CRM payment) changes its
content, hence its revision, and the engine reverses the old one and posts the new (the
idempotency protocol). Shapes (accounts from the ``reconcile:`` section):

- matched receipt: Dr bank (amount) + Dr fee (shortfall within tolerance) / Cr receivable
  per payment (customer, order as dimensions) + Cr suspense for what is applied to nothing;
- unmatched receipt: Dr bank / Cr suspense (其他应付款-待处理), for finance to clear;
- platform settlement (Stripe payout, Alipay/WeChat daily settlement) that reached the
  bank: Dr bank (net) + Dr fee (platform fees) / Cr receivable per order (gross), with
  refunds on the debit side of receivable.
"""

from __future__ import annotations

from decimal import Decimal

from connectors.bank.model import CREDIT
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
    """The voucher of one customer receipt, matched, partly matched or not at all."""
    t = res.txn
    if t.direction != CREDIT or res.status not in {"matched", "partial", "unmatched"}:
        return None
    bank_account = cfg.bank_ledger_account(t.account)
    payer = t.payer_name or "未知付款人"
    lines = [
        _line(
            bank_account,
            Side.DEBIT,
            t.amount,
            t.currency,
            f"{payer} {t.remittance}",
            dims={"bank_account": t.account},
        )
    ]
    if res.fee:
        lines.append(_line(cfg.fee_account, Side.DEBIT, res.fee, t.currency, "银行扣收手续费"))
    for a in res.allocations:
        settled = a.amount + (res.fee if a.payment_id and a.payment_id == res.fee_payment else ZERO)
        lines.append(
            _line(
                cfg.receivable_account,
                Side.CREDIT,
                settled,
                t.currency,
                f"回款 {a.payment_number or a.order_number}",
                dims={"customer": a.customer, "order": a.order_number, "payment": a.payment_number},
            )
        )
    if res.suspense > 0:
        lines.append(
            _line(
                cfg.suspense_account,
                Side.CREDIT,
                res.suspense,
                t.currency,
                f"待处理 {payer} {t.remittance}",
                dims={"payer": payer},
            )
        )
    summary = (f"收款 {payer}" if res.allocations else f"待处理收款 {payer}")[:200]
    return Voucher(
        key=f"reconcile:receipt:{t.id}",
        book=cfg.book,
        date=t.booking_date,
        group=cfg.voucher_group,
        summary=summary,
        currency=t.currency,
        lines=tuple(lines),
        sources=(
            SourceRef(system=t.format, stream=t.format, record_id=t.id, name=t.statement_id, amount=t.amount),
        ),
        mapping=_MAPPING,
        extra_revision=f"{res.rule}",
    )


def settlement_voucher(
    s: SettlementResult, res: BankResult, cfg: ReconcileConfig, customers: dict[str, str] | None = None
) -> Voucher:
    """Dr bank (net) + Dr fees / Cr receivable per order (gross): a payout split into its orders."""
    t = res.txn
    customers = customers or {}
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
    if s.fees:
        lines.append(_line(cfg.fee_account, Side.DEBIT, s.fees, t.currency, f"{s.platform} 手续费"))
    for m in s.members:
        gross = m.amount if m.direction == CREDIT else -m.amount  # a refund debits receivable
        lines.append(
            _line(
                cfg.receivable_account,
                Side.CREDIT,
                gross,
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
    """Every voucher of a reconciliation: one per receipt, one per settlement that reached the bank."""
    out = [v for r in result.bank if (v := receipt_voucher(r, cfg)) is not None]
    by_id = result.by_bank_id()
    customers = {r.txn.id: r.allocations[0].customer for r in result.bank if r.allocations}
    out.extend(
        settlement_voucher(s, by_id[s.bank_id], cfg, customers) for s in result.settlements if s.bank_id
    )
    return out
