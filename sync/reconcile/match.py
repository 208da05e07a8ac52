"""The matching cascade (docs/specs/bank-payments.md §5.3), run in passes so a weak rule never
takes what a strong one owns.

Pass order:

1. manual decisions (a person's ``match`` wins; ``unmatch`` forbids pairs);
2. reversals paired with the credit they undo;
3. platform settlements: a Stripe payout / Alipay or WeChat daily settlement ↔ one bank
   credit, and each platform line ↔ the CRM payment its order number names;
4. our own numbers in references / remittance text (exact, after normalisation);
5. the same, one typing mistake away, when the amount also agrees and only one payment fits;
6. payer (name or learned account) + exact amount within the date window;
7. one receipt paying several payments of that payer (unique subset, bounded size);
8. payer + amount short by at most the tolerance (a bank charge), once no exact
   combination explains the amount;
9. several receipts paying one payment (unique subset, bounded size).

A rule that finds more than one equally good answer matches nothing and lists the
candidates: a wrong match costs finance more than an open line. Every lookup goes through
an index (number, order, amount, payer), so the work grows with the data, not its square.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sync.banking import CREDIT, DEBIT, BankTransaction
from sync.dates import today_in_china
from sync.money import ZERO
from sync.reconcile.config import ReconcileConfig
from sync.reconcile.model import (
    Allocation,
    BankResult,
    CrmOrder,
    CrmPayment,
    Decision,
    PaymentResult,
    ReconcileResult,
    SettlementResult,
)
from sync.reconcile.normalize import (
    candidate_tokens,
    customer_key,
    deletions,
    extract_refs,
    norm_ref,
    within_one_edit,
)

__all__ = ["PLATFORM_FORMATS", "reconcile"]

PLATFORM_FORMATS = frozenset({"stripe", "alipay_bill", "wechat_bill"})


class _Book:
    """CRM payments with what is still open on each, and the indexes the rules look things up in."""

    def __init__(
        self, payments: Iterable[CrmPayment], orders: Iterable[CrmOrder], cfg: ReconcileConfig
    ) -> None:
        self.cfg = cfg
        self.results: dict[str, PaymentResult] = {}
        self.by_number: dict[str, PaymentResult] = {}
        self.by_order: dict[str, list[PaymentResult]] = defaultdict(list)
        self.by_amount: dict[Decimal, list[PaymentResult]] = defaultdict(list)
        self.by_customer: dict[str, list[tuple[dt.date, str, PaymentResult]]] = defaultdict(list)
        self.account_customer: dict[str, str] = {}
        self.orders: dict[str, CrmOrder] = {}
        self.order_taken: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self._deletions: dict[Decimal, dict[str, list[PaymentResult]]] = {}
        for p in payments:
            pr = PaymentResult(p)
            self.results[p.id] = pr
            if p.number:
                self.by_number[norm_ref(p.number)] = pr
            for num in p.order_numbers:
                self.by_order[norm_ref(num)].append(pr)
            self.by_amount[p.amount].append(pr)
            key = customer_key(p.customer)
            if key:
                self.by_customer[key].append((p.date, p.id, pr))
            if p.payer_account and key:
                self.account_customer[p.payer_account] = key
        for rows in self.by_customer.values():
            rows.sort(key=lambda r: (r[0], r[1]))
        for o in orders:
            self.orders[norm_ref(o.number)] = o

    def deletion_index(self, amount: Decimal) -> dict[str, list[PaymentResult]]:
        """For one amount: every one-character deletion of every payment/order number -> payments."""
        index = self._deletions.get(amount)
        if index is None:
            index = defaultdict(list)
            for pr in self.by_amount.get(amount, []):
                for number in (pr.payment.number, *pr.payment.order_numbers):
                    for d in deletions(norm_ref(number)):
                        index[d].append(pr)
            self._deletions[amount] = index
        return index

    def in_window(self, customer: str, day: dt.date) -> list[PaymentResult]:
        rows = self.by_customer.get(customer, [])
        window = dt.timedelta(days=self.cfg.date_window_days)
        lo = bisect.bisect_left(rows, (day - window, ""), key=lambda r: (r[0], r[1]))
        hi = bisect.bisect_right(rows, (day + window, "\uffff"), key=lambda r: (r[0], r[1]))
        return [r[2] for r in rows[lo:hi] if r[2].open > 0]

    def fits(self, received: Decimal, expected: Decimal) -> Decimal | None:
        """The accepted shortfall (fee) when ``received`` pays ``expected``, else None."""
        gap = expected - received
        if gap == 0:
            return ZERO
        allowed = max(self.cfg.tolerance, (expected * self.cfg.tolerance_percent / 100))
        return gap if ZERO < gap <= allowed else None

    def allocate(self, res: BankResult, pr: PaymentResult, amount: Decimal) -> None:
        pr.received += amount
        pr.bank_ids.append(res.txn.id)
        p = pr.payment
        res.allocations.append(
            Allocation(amount, p.id, p.number, ",".join(p.order_ids), ",".join(p.order_numbers), p.customer)
        )
        if p.payer_account == "" and res.txn.payer_account and customer_key(p.customer):
            self.account_customer.setdefault(res.txn.payer_account, customer_key(p.customer))


class _Run:
    def __init__(
        self, bank: list[BankTransaction], book: _Book, cfg: ReconcileConfig, decisions: Iterable[Decision]
    ) -> None:
        self.cfg = cfg
        self.book = book
        self.patterns = cfg.compiled_patterns()
        self.results: dict[str, BankResult] = {}
        for t in bank:
            self.results.setdefault(t.id, BankResult(t))
        self.forbidden: set[tuple[str, str]] = set()
        self.frozen: set[str] = set()
        self.manual: list[Decision] = []
        for d in decisions:
            if d.action == "unmatch":
                if d.payment_ids:
                    self.forbidden.update((d.bank_id, p) for p in d.payment_ids)
                else:
                    self.frozen.add(d.bank_id)
            else:
                self.manual.append(d)
        self.settlements: list[SettlementResult] = []
        self._ref_cache: dict[str, list[str]] = {}
        #: payer key -> customer keys it may pay for (reconcile.related_payers)
        self.related = {
            customer_key(payer): {customer_key(c) for c in customers}
            for payer, customers in cfg.related_payers.items()
        }

    # -- helpers ---------------------------------------------------------------------------

    def open_credits(self) -> list[BankResult]:
        return [
            r
            for r in self.results.values()
            if r.status == "unmatched" and r.txn.id not in self.frozen and r.txn.direction == CREDIT
        ]

    def allowed(self, res: BankResult, prs: Iterable[PaymentResult]) -> list[PaymentResult]:
        return [
            pr
            for pr in prs
            if pr.open > 0
            and (res.txn.id, pr.payment.id) not in self.forbidden
            and pr.payment.currency == res.txn.currency
        ]

    def settle(
        self, res: BankResult, prs: list[PaymentResult], rule: str, confidence: float, fee: Decimal = ZERO
    ) -> None:
        """Apply the receipt to the payments oldest first; ``fee`` is the shortfall the bank kept."""
        remaining = res.txn.amount
        ordered = sorted(prs, key=lambda p: (p.payment.date, p.payment.id))
        for pr in ordered:
            take = min(pr.open, remaining)
            if take <= 0:
                continue
            self.book.allocate(res, pr, take)
            remaining -= take
        if fee:
            # the payment is settled in full: the bank kept the difference as its charge
            ordered[-1].received += fee
            res.fee_payment = ordered[-1].payment.id
        res.fee = fee
        res.rule, res.confidence = rule, confidence
        res.status = "matched" if res.suspense == 0 else "partial"

    # -- passes ------------------------------------------------------------------------------

    def classify(self) -> None:
        for res in self.results.values():
            t = res.txn
            if t.format in PLATFORM_FORMATS:
                res.status, res.rule = "platform", "platform_line"
            elif t.reversal:
                res.status, res.rule = "other", "reversal_unpaired"
            elif not (t.direction == CREDIT and t.kind == "receipt"):
                res.status, res.rule = "other", f"not_a_receipt:{t.kind}"

    def manual_matches(self) -> None:
        for d in self.manual:
            res = self.results.get(d.bank_id)
            if res is None or res.status not in {"unmatched", "other"} or res.txn.direction != CREDIT:
                continue
            prs = [
                self.book.results[p]
                for p in d.payment_ids
                if p in self.book.results and (d.bank_id, p) not in self.forbidden
            ]
            if prs:
                res.status = "unmatched"
                self.settle(res, prs, "manual", 1.0)
                res.note = d.note

    def reversals(self) -> None:
        """A reversal debit undoes the latest earlier credit on the account with the same amount."""
        window = dt.timedelta(days=self.cfg.date_window_days)
        credits: dict[tuple[str, Decimal], list[BankResult]] = defaultdict(list)
        for r in sorted(self.results.values(), key=lambda r: (r.txn.booking_date, r.txn.id)):
            if r.txn.direction == CREDIT and r.status == "unmatched" and not r.txn.reversal:
                credits[(r.txn.account, r.txn.amount)].append(r)
        for r in self.results.values():
            t = r.txn
            if not (t.reversal and t.direction == DEBIT) or t.format in PLATFORM_FORMATS:
                continue
            pool = [
                c
                for c in credits.get((t.account, t.amount), [])
                if c.status == "unmatched" and t.booking_date - window <= c.txn.booking_date <= t.booking_date
            ]
            if pool:
                original = pool[-1]
                original.status, original.rule, original.note = "reversed", "reversal", f"reversed by {t.id}"
                r.status, r.rule, r.note = "reversed", "reversal", f"reverses {original.txn.id}"

    def platforms(self) -> None:
        lines = [r for r in self.results.values() if r.status == "platform"]
        # each platform charge/refund names our order: tie it to the CRM payment
        for r in lines:
            t = r.txn
            if t.kind == "charge" and t.direction == CREDIT and t.order_ref:
                key = norm_ref(t.order_ref)
                prs = self.allowed(
                    r,
                    [self.book.by_number[key]]
                    if key in self.book.by_number
                    else self.book.by_order.get(key, []),
                )
                exact = [pr for pr in prs if pr.open == t.amount]
                if len(exact) == 1:
                    self.book.allocate(r, exact[0], t.amount)
                    r.rule, r.confidence = "platform_order", 1.0
                elif len(prs) == 1 and t.amount < prs[0].open:
                    self.book.allocate(r, prs[0], t.amount)
                    r.rule, r.confidence = "platform_order_partial", 0.9
                else:
                    r.rule, r.note = "platform_order_unknown", f"order {t.order_ref} has no open CRM payment"
        self.settlements = self._settlement_groups(lines)
        self._match_settlements()

    def _settlement_groups(self, lines: list[BankResult]) -> list[SettlementResult]:
        groups: list[SettlementResult] = []
        by_id = {r.txn.id: r.txn for r in lines}
        member_ids: set[str] = set()
        for r in lines:
            t = r.txn
            if t.format == "stripe" and t.kind == "payout" and t.direction == DEBIT:
                members = [by_id[m] for m in t.raw.get("members", "").split(",") if m in by_id]
                members += [
                    x.txn
                    for x in lines
                    if x.txn.payout_id == t.payout_id
                    and x.txn.kind != "payout"
                    and x.txn.id not in {m.id for m in members}
                ]
                member_ids.update(m.id for m in members)
                groups.append(
                    SettlementResult(
                        t.payout_id or t.id,
                        "stripe",
                        t.amount,
                        t.currency,
                        t.value_date or t.booking_date,
                        members,
                        rule=t.trace_id,
                    )
                )
        daily: dict[tuple[str, dt.date, str], list[BankTransaction]] = defaultdict(list)
        for r in lines:
            t = r.txn
            if t.format in {"alipay_bill", "wechat_bill"} and t.id not in member_ids:
                daily[(t.format, t.booking_date, t.currency)].append(t)
        for (fmt, day, ccy), members in sorted(daily.items()):
            net = sum(((m.net or ZERO) if m.direction == CREDIT else -(m.net or ZERO) for m in members), ZERO)
            if net > 0:
                groups.append(SettlementResult(f"{fmt}:{day.isoformat()}", fmt, net, ccy, day, members))
        return groups

    def _match_settlements(self) -> None:
        window = dt.timedelta(days=max(self.cfg.date_window_days, 3))
        by_amount: dict[Decimal, list[BankResult]] = defaultdict(list)
        for r in self.open_credits():
            by_amount[r.txn.amount].append(r)
        for s in self.settlements:
            words = [w.upper() for w in self.cfg.platform_payers.get(s.platform, [])]
            pool = [
                r
                for r in by_amount.get(s.amount, [])
                if r.status == "unmatched"
                and r.txn.currency == s.currency
                and s.date - dt.timedelta(days=1) <= r.txn.booking_date <= s.date + window
            ]
            traced = [
                r for r in pool if s.rule and (s.rule in r.txn.remittance or s.rule in r.txn.references)
            ]
            named = [r for r in pool if any(w in r.txn.payer_name.upper() for w in words)]
            pick, rule, conf = None, "", 0.0
            if len(traced) == 1:
                pick, rule, conf = traced[0], "platform_payout_trace", 1.0
            elif len(named) == 1:
                pick, rule, conf = named[0], "platform_payout_payer", 0.9
            if pick is not None:
                pick.status, pick.rule, pick.confidence = "settlement", rule, conf
                pick.settlement_id = s.id
                s.bank_id, s.rule = pick.txn.id, rule
            else:
                s.rule = ""

    def _refs(self, t: BankTransaction) -> list[str]:
        found = self._ref_cache.get(t.id)
        if found is None:
            found = self._ref_cache[t.id] = extract_refs((*t.references, t.remittance), self.patterns)
        return found

    def references(self) -> None:
        for res in self.open_credits():
            refs = self._refs(res.txn)
            if not refs:
                continue
            pays = {pr.payment.id: pr for ref in refs if (pr := self.book.by_number.get(ref))}
            if pays:
                self._apply_refs(res, self.allowed(res, pays.values()), "reference")
                continue
            by_order = {pr.payment.id: pr for ref in refs for pr in self.book.by_order.get(ref, [])}
            if by_order:
                self._apply_refs(res, self.allowed(res, by_order.values()), "reference_order")
                continue
            self._order_without_payment(res, refs)

    def _apply_refs(self, res: BankResult, prs: list[PaymentResult], rule: str) -> None:
        amount = res.txn.amount
        if not prs:
            res.note = "the referenced payment is already settled or excluded"
            return
        total = sum((pr.open for pr in prs), ZERO)
        fee = self.book.fits(amount, total)
        if fee is not None:
            self.settle(res, prs, rule if len(prs) == 1 else f"{rule}_multi", 1.0 if fee == 0 else 0.95, fee)
        elif not self._same_payer(res, prs):
            typo = self._fuzzy_hits(res)
            if len(typo) == 1:
                # the number typed is someone else's; the payer's own, one keystroke away, fits exactly
                self.settle(res, list(typo.values()), "reference_fuzzy", 0.85)
            else:
                res.candidates = [pr.payment.id for pr in prs]
                res.note = "the referenced payment belongs to another customer and the amount does not fit"
        elif len(prs) == 1 and amount < total:
            self.settle(res, prs, f"{rule}_partial", 0.9)
        elif amount > total:
            self.settle(res, prs, f"{rule}_over", 0.9)
            res.note = "paid more than the referenced payments: the rest is in suspense (预收/待处理)"
        else:
            exact = [pr for pr in prs if self.book.fits(amount, pr.open) is not None]
            if len(exact) == 1:
                self.settle(res, exact, rule, 0.95, self.book.fits(amount, exact[0].open) or ZERO)
            else:
                res.candidates = [pr.payment.id for pr in prs]
                res.note = "references several payments and the amount fits none of them alone"

    def _order_without_payment(self, res: BankResult, refs: list[str]) -> None:
        orders = [self.book.orders[r] for r in refs if r in self.book.orders]
        if len(orders) != 1:
            return
        order = orders[0]
        payer = self._customer(res.txn)
        if payer and not self._pays_for(payer, customer_key(order.customer)):
            # the payment path refuses another customer's payment; an order is no different
            res.note = (
                f"references order {order.number} of {order.customer}, but the payer is "
                f"{res.txn.payer_name}: left open (list the payer under reconcile.related_payers if it "
                "pays for that customer)"
            )
            return
        open_amount = order.amount - self.book.order_taken[order.id]
        if res.txn.amount <= open_amount:
            self.book.order_taken[order.id] += res.txn.amount
            res.allocations.append(Allocation(res.txn.amount, "", "", order.id, order.number, order.customer))
            full = res.txn.amount == open_amount
            res.rule, res.confidence = (
                "reference_order_no_payment" if full else "reference_order_no_payment_partial",
                0.9 if full else 0.85,
            )
            res.status = "matched"
            res.note = "no CRM 回款 for this order yet: enter one"

    def _same_payer(self, res: BankResult, prs: list[PaymentResult]) -> bool:
        """Without a payer name nothing contradicts; with one, it must be the payments' customer."""
        payer = self._customer(res.txn)
        return not payer or all(self._pays_for(payer, customer_key(pr.payment.customer)) for pr in prs)

    def _pays_for(self, payer: str, customer: str) -> bool:
        """The payer is the customer, or pays for it (``reconcile.related_payers``)."""
        return payer == customer or customer in self.related.get(payer, ())

    def _fuzzy_hits(self, res: BankResult) -> dict[str, PaymentResult]:
        """Open payments of this payer (any, when the bank names none) with exactly this amount whose
        number is one typing mistake from a token."""
        t = res.txn
        tokens = set(self._refs(t)) | set(candidate_tokens((*t.references, t.remittance)))
        hits: dict[str, PaymentResult] = {}
        if not tokens:
            return hits
        bucket = self.book.by_amount.get(t.amount, [])
        if len(bucket) > 16:  # a common (round) amount: look the tokens up instead of scanning
            index = self.book.deletion_index(t.amount)
            near = {id(pr): pr for tok in tokens for d in deletions(tok) for pr in index.get(d, ())}
            bucket = list(near.values())
        for pr in self.allowed(res, bucket):
            if pr.open != t.amount:
                continue
            numbers = [norm_ref(pr.payment.number), *(norm_ref(n) for n in pr.payment.order_numbers)]
            if any(within_one_edit(tok, n) for tok in tokens for n in numbers if n) and self._same_payer(
                res, [pr]
            ):
                hits[pr.payment.id] = pr
        return hits

    def fuzzy_references(self) -> None:
        for res in self.open_credits():
            hits = self._fuzzy_hits(res)
            if len(hits) == 1:
                self.settle(res, list(hits.values()), "reference_fuzzy", 0.85)
            elif len(hits) > 1:
                res.candidates = sorted(hits)

    def _customer(self, t: BankTransaction) -> str:
        if t.payer_account and t.payer_account in self.book.account_customer:
            return self.book.account_customer[t.payer_account]
        return customer_key(t.payer_name)

    def payer_amount(self) -> None:
        for res in self.open_credits():
            t = res.txn
            cands = self.allowed(res, self.book.in_window(self._customer(t), t.booking_date))
            exact = [pr for pr in cands if pr.open == t.amount]
            combos = self._combinations(t, cands) if len(exact) == 1 else []
            if combos:
                res.candidates = sorted({exact[0].payment.id, *(p.payment.id for c in combos for p in c)})
                res.note = "one payment has this amount, but so do several of this payer's payments together"
            elif len(exact) == 1:
                self.settle(res, exact, "payer_amount", 0.8)
            elif len(exact) > 1:
                res.candidates = [pr.payment.id for pr in exact]
                res.note = "several open payments of this payer have this amount"

    def payer_amount_tolerance(self) -> None:
        """After exact combinations had their turn: one payment this payer short-paid by a bank charge."""
        for res in self.open_credits():
            t = res.txn
            if res.candidates:
                continue
            cands = self.allowed(res, self.book.in_window(self._customer(t), t.booking_date))
            near = [(pr, fee) for pr in cands if (fee := self.book.fits(t.amount, pr.open)) is not None]
            if len(near) == 1:
                self.settle(res, [near[0][0]], "payer_amount_tolerance", 0.7, near[0][1])

    def _combinations(
        self, t: BankTransaction, cands: list[PaymentResult]
    ) -> list[tuple[PaymentResult, ...]]:
        """Sets of 2..max_combination open payments (the 10 nearest in date) that add up to the amount."""
        cands = [pr for pr in cands if pr.open < t.amount]
        if len(cands) < 2 or sum((pr.open for pr in cands), ZERO) < t.amount:
            return []
        cands = sorted(cands, key=lambda pr: (abs((pr.payment.date - t.booking_date).days), pr.payment.id))
        cands = cands[:10]
        return [
            combo
            for size in range(2, min(self.cfg.max_combination, len(cands)) + 1)
            for combo in itertools.combinations(cands, size)
            if sum((pr.open for pr in combo), ZERO) == t.amount
        ]

    def combined(self) -> None:
        for res in self.open_credits():
            t = res.txn
            cands = self.allowed(res, self.book.in_window(self._customer(t), t.booking_date))
            if any(pr.open == t.amount for pr in cands):
                continue  # a single payment fits too: that ambiguity is left for a person
            found = self._combinations(t, cands)
            if len(found) == 1:
                self.settle(res, list(found[0]), "payer_combined", 0.7)
            elif len(found) > 1:
                res.candidates = sorted({pr.payment.id for combo in found for pr in combo})
                res.note = "several combinations of this payer's open payments add up to the amount"

    def parts(self) -> None:
        limit = self.cfg.max_combination
        window = dt.timedelta(days=self.cfg.date_window_days)
        by_customer: dict[str, list[BankResult]] = defaultdict(list)
        for res in self.open_credits():
            key = self._customer(res.txn)
            if key:
                by_customer[key].append(res)
        for key, lines in by_customer.items():
            for pr in [row[2] for row in self.book.by_customer.get(key, []) if row[2].open > 0]:
                pool = [
                    r
                    for r in lines
                    if r.status == "unmatched"
                    and r.txn.amount < pr.open
                    and abs(r.txn.booking_date - pr.payment.date) <= window
                    and (r.txn.id, pr.payment.id) not in self.forbidden
                ][:10]
                found = [
                    combo
                    for size in range(2, min(limit, len(pool)) + 1)
                    for combo in itertools.combinations(pool, size)
                    if sum((r.txn.amount for r in combo), ZERO) == pr.open
                ]
                if len(found) == 1:
                    for r in found[0]:
                        self.settle(r, [pr], "payer_parts", 0.6)

    def finish(self, as_of: dt.date) -> list[PaymentResult]:
        limit = as_of - dt.timedelta(days=self.cfg.claimed_not_received_days)
        for pr in self.book.results.values():
            if pr.open <= 0:
                pr.status = "matched"
            elif pr.received > 0:
                pr.status = "partial"
            elif pr.payment.date <= limit:
                pr.status = "claimed_not_received"
            else:
                pr.status = "open"
        return list(self.book.results.values())


def reconcile(
    bank: Iterable[BankTransaction],
    payments: Iterable[CrmPayment],
    orders: Iterable[CrmOrder] = (),
    *,
    cfg: ReconcileConfig | None = None,
    decisions: Iterable[Decision] = (),
    as_of: dt.date | None = None,
) -> ReconcileResult:
    """Match every bank/platform line to CRM payments; see the module docstring for the passes."""
    cfg = cfg or ReconcileConfig()
    lines = sorted(bank, key=lambda t: (t.booking_date, t.id))
    book = _Book(payments, orders, cfg)
    run = _Run(lines, book, cfg, decisions)
    run.classify()
    run.manual_matches()
    run.reversals()
    run.platforms()
    run.references()
    run.fuzzy_references()
    run.payer_amount()
    run.combined()
    run.payer_amount_tolerance()
    run.parts()
    day = as_of or max((t.booking_date for t in lines), default=today_in_china())
    payment_results = run.finish(day)
    return ReconcileResult(list(run.results.values()), payment_results, run.settlements, day)
