"""The poster: the idempotency protocol of DESIGN.md, once, for every destination.

1. Vouchers found ``sending`` (a crash, or an unknown outcome) are looked up in the ERP first:
   found -> ``posted``; not found -> ``pending`` (sent again below).
2. Pending vouchers whose dependency took effect (a new revision waits for the reversal of
   the old one) go out in batches. Each batch is marked ``sending`` and committed BEFORE
   the ERP call.
3. Before they are sent, the references of up to four batches are looked up in the ERP in one
   look-up: the ERP, not the state, is the truth of what is posted, so a lost, new or
   restored state never posts twice. Found with our amounts -> ``posted``, ``adopted`` (audit ``adopt``),
   counted as already posted; found with other amounts -> ``failed`` with both sides, for a
   person; the look-up failing -> back to ``pending``, never sent blind.
4. Per voucher: POSTED -> ``posted`` with the ERP id and number; PERMANENT -> ``failed`` with
   the ERP's own message; TRANSIENT -> sent again with backoff (tenacity), still failing ->
   ``pending`` for the next run; UNKNOWN -> looked up before any resend (found -> posted,
   not found -> sent again; lookup itself failing -> left ``sending`` for the next run).
5. A posted reversal marks the voucher it undoes ``reversed``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.destination import Destination, ErpRef, Outcome, PostResult
from sync.engine.retry import RetryPolicy, TryAgain
from sync.engine.summary import RunSummary
from sync.errors import DestinationUnavailable, TransientError
from sync.model import Voucher
from sync.state import OutboxRow, StateStore, Status, TransitionRefused, audit

__all__ = ["Poster"]

log = logging.getLogger("crmsync.engine.poster")


class Poster:
    """Sends what the outbox holds, batch by batch, under the idempotency protocol above; one per run."""

    def __init__(
        self,
        store: StateStore,
        destination: Destination,
        policy: RetryPolicy,
        summary: RunSummary,
        on_posted: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.dest = destination
        self.policy = policy
        self.summary = summary
        self.on_posted = on_posted or (lambda n: None)
        self.batch_size = max(1, int(getattr(destination, "batch_size", 50) or 50))
        self._given_up: set[str] = set()

    # -- entry ----------------------------------------------------------------------------

    def run(self) -> None:
        if self.store.get_flag("paused"):
            self.summary.paused = True
            log.warning("posting is paused; run `crmsync resume` to post the waiting vouchers")
            return
        self.resolve_sending()
        while True:
            posted_before = self._taken_effect()
            after = 0
            while True:
                rows = self.store.ready_batch(self.batch_size * 4, after)
                if not rows:
                    break
                after = rows[-1].seq
                todo = self._adopt_held([r for r in rows if r.external_ref not in self._given_up])
                for i in range(0, len(todo), self.batch_size):
                    if self.store.get_flag("paused"):
                        self.summary.paused = True
                        log.warning("posting paused during the run; the rest waits in the outbox")
                        return
                    self.post_batch(todo[i : i + self.batch_size])
            if self._taken_effect() == posted_before:
                return  # nothing newly posted, so nothing newly unblocked

    def _taken_effect(self) -> int:
        return self.summary.vouchers_posted + self.summary.vouchers_adopted

    # -- unknown outcomes -----------------------------------------------------------------

    def resolve_sending(self) -> None:
        after = 0
        while True:
            rows = self.store.rows_with_status(Status.SENDING, self.batch_size, after)
            if not rows:
                return
            after = rows[-1].seq
            found = self._lookup([r.external_ref for r in rows], thorough=True)
            if found is None:
                log.warning(
                    "could not look up %d vouchers of unknown outcome; they stay 'sending' until the "
                    "next run can",
                    len(rows),
                )
                continue
            with self.store.transaction():
                for row in rows:
                    ref = found.get(row.external_ref)
                    if ref is not None:
                        self._mark_posted(row, ref)
                    else:
                        self._not_in_erp(row)

    def _not_in_erp(self, row: OutboxRow) -> None:
        """A ``sending`` voucher the ERP does not hold: send again, unless it was meanwhile replaced."""
        reversal = self.store.reversal_for(row.external_ref)
        if reversal is not None and reversal.status == Status.PENDING:
            self.store.transition(
                row.external_ref,
                Status.SUPERSEDED,
                expected={Status.SENDING},
                error="replaced before it reached the ERP",
            )
            self.store.transition(
                reversal.external_ref,
                Status.SUPERSEDED,
                expected={Status.PENDING},
                error="nothing to reverse: the original never reached the ERP",
            )
        else:
            self.store.transition(row.external_ref, Status.PENDING, expected={Status.SENDING})

    def _lookup(self, refs: Sequence[str], *, thorough: bool) -> dict[str, ErpRef] | None:
        """The ERP's answer, retried on transient errors; None when it cannot be had now."""
        try:
            for attempt in self.policy.attempts_iter():
                with attempt:
                    try:
                        return dict(self.dest.lookup(list(refs), thorough=thorough))
                    except TransientError as exc:
                        raise TryAgain(exc.retry_after) from exc
        except TryAgain:
            return None
        return None

    # -- posting --------------------------------------------------------------------------

    def post_batch(self, rows: Sequence[OutboxRow]) -> None:
        by_ref = self._mark_sending(rows)
        if not by_ref:
            return
        remaining = {ref: Voucher.from_stored(r.payload) for ref, r in by_ref.items()}
        unresolved: set[str] = set()
        last: dict[str, PostResult] = {}
        try:
            for attempt in self.policy.attempts_iter():
                with attempt:
                    self._attempt(remaining, by_ref, last, unresolved)
        except TryAgain:
            pass
        except DestinationUnavailable:
            raise  # rows stay 'sending'; the next run looks them up before any resend
        # what is left after the last attempt: transient -> pending; unknown/unresolved stays sending
        with self.store.transaction():
            for ref in remaining:
                result = last.get(ref)
                self.store.transition(
                    ref, Status.PENDING, expected={Status.SENDING}, error=result.message if result else ""
                )
                self._given_up.add(ref)
                self.summary.vouchers_pending += 1
        for ref in unresolved:
            self._given_up.add(ref)
            self.summary.vouchers_pending += 1

    # -- the look-up before sending --------------------------------------------------------

    def _adopt_held(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        """The rows still to send, after the ERP was asked which of them it already holds.

        The rows are ``pending`` and this run holds the lock: nothing sends them between the
        look-up and the send, and a crash in between leaves them ``pending``, looked up again
        by the next run. A voucher the ERP holds goes sending -> posted (``adopt``) or, with
        other amounts, sending -> failed, in one transaction. When the ERP cannot be asked,
        none is sent: they wait for the next run.
        """
        if not rows:
            return rows
        found = self._lookup([r.external_ref for r in rows], thorough=False)
        if found is None:
            for row in rows:
                self._given_up.add(row.external_ref)
                self.summary.vouchers_pending += 1
            with self.store.transaction():
                for row in rows:
                    self.store.note_error(
                        row.external_ref,
                        "not sent: the ERP could not be asked whether it already holds it; "
                        "the next run asks again",
                    )
            log.warning("could not look up %d vouchers before sending; they wait for the next run", len(rows))
            return []
        held = [r for r in rows if r.external_ref in found]
        if held:
            with self.store.transaction():
                for row in held:
                    try:
                        self.store.transition(row.external_ref, Status.SENDING, expected={Status.PENDING})
                    except TransitionRefused as exc:
                        log.warning("not adopting %s: %s", row.external_ref, exc.message)
                        continue
                    erp = found[row.external_ref]
                    mismatch = _amount_mismatch(row, erp)
                    if mismatch:
                        self._refuse(row, mismatch)
                    else:
                        self._mark_posted(row, erp, adopted=True)
        return [r for r in rows if r.external_ref not in found]

    def _refuse(self, row: OutboxRow, message: str) -> None:
        self.store.transition(row.external_ref, Status.FAILED, expected={Status.SENDING}, error=message)
        audit.record(  # audit hook (sync.state.audit)
            self.store,
            audit.Action.REFUSED,
            row.external_ref,
            {"message": message},
            run_id=self.summary.run_id or None,
        )
        self.summary.vouchers_failed += 1

    def _mark_sending(self, rows: Sequence[OutboxRow]) -> dict[str, OutboxRow]:
        """pending -> sending, committed before the ERP call; a voucher moved meanwhile is left out."""
        with self.store.transaction():
            moved = self.store.mark_sending([r.external_ref for r in rows])
        for row in rows:
            if row.external_ref not in moved:
                log.warning("not sending %s: it is no longer pending", row.external_ref)
        return {r.external_ref: r for r in rows if r.external_ref in moved}

    def _attempt(
        self,
        remaining: dict[str, Voucher],
        by_ref: dict[str, OutboxRow],
        last: dict[str, PostResult],
        unresolved: set[str],
    ) -> None:
        try:
            results = {r.external_ref: r for r in self.dest.post(list(remaining.values()))}
        except TransientError as exc:
            for ref in remaining:
                last[ref] = PostResult.transient(ref, exc.message, exc.retry_after)
            raise TryAgain(exc.retry_after) from exc
        unknown: list[str] = []
        retry_after: float | None = None
        with self.store.transaction():
            posted: list[tuple[OutboxRow, ErpRef]] = []
            for ref in list(remaining):
                result = results.get(ref) or PostResult.unknown(ref, "the destination gave no answer for it")
                last[ref] = result
                row = by_ref[ref]
                if result.outcome is Outcome.POSTED and result.ref is not None:
                    posted.append((row, result.ref))
                    del remaining[ref]
                elif result.outcome is Outcome.PERMANENT:
                    self._refuse(row, result.message)
                    del remaining[ref]
                elif result.outcome is Outcome.UNKNOWN:
                    unknown.append(ref)
                else:
                    retry_after = max(retry_after or 0.0, result.retry_after or 0.0) or retry_after
            self._mark_posted_many(posted)
        if unknown:
            # an ERP may still be finishing a request whose answer we lost: give it a moment
            # before asking, so "not found" means "not taken" and a resend cannot double it
            self.policy.sleep(self.policy.initial)
            found = self._lookup(unknown, thorough=True)
            with self.store.transaction():
                for ref in unknown:
                    if found is None:  # cannot tell: never resend blind
                        unresolved.add(ref)
                        del remaining[ref]
                    elif ref in found:
                        self._mark_posted(by_ref[ref], found[ref])
                        del remaining[ref]
        if remaining:
            raise TryAgain(retry_after)

    def _mark_posted(self, row: OutboxRow, ref: ErpRef, *, adopted: bool = False) -> None:
        self._mark_posted_many([(row, ref)], adopted=adopted)

    def _mark_posted_many(self, posted: Sequence[tuple[OutboxRow, ErpRef]], *, adopted: bool = False) -> None:
        """sending -> posted for a batch, with one audit entry each, in the caller's transaction."""
        if not posted:
            return
        with self.store.transaction():
            self.store.mark_posted(
                [(row.external_ref, ref.erp_id, ref.number or "", adopted) for row, ref in posted]
            )
            entries: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for row, ref in posted:
                if adopted:
                    action = audit.Action.ADOPT
                else:
                    action = audit.Action.REVERSAL if row.kind == "reversal" else audit.Action.POST
                detail = {
                    "erp_id": ref.erp_id,
                    "erp_number": ref.number,
                    "total": row.total,
                    "date": row.voucher_date,
                    "mapping": row.mapping,
                    "reversal_of": row.reversal_of,
                    **({"kind": row.kind, "erp_total": _text(ref.total)} if adopted else {}),
                }
                entries.setdefault(str(action), []).append((row.external_ref, detail))
            # audit hook (sync.state.audit): same transaction as the status change, one entry
            # per batch and action whose hash covers each voucher
            for action_name, items in entries.items():
                audit.record_batch(self.store, action_name, items, run_id=self.summary.run_id or None)
            for row, _ in posted:
                if row.kind == "reversal" and row.reversal_of:
                    self.store.transition(row.reversal_of, Status.REVERSED, expected={Status.POSTED})
                    self.summary.reversed += 1
        if adopted:
            self.summary.vouchers_adopted += len(posted)
        else:
            self.summary.vouchers_posted += len(posted)
        self.on_posted(len(posted))


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _amount_mismatch(row: OutboxRow, erp: ErpRef) -> str:
    """Why a voucher found under our reference is not ours to adopt ('' when it is)."""
    if erp.total is None:
        return ""  # this ERP's look-up gives no amount: the reference alone decides
    try:
        ours = Decimal(row.total)
    except InvalidOperation:
        return ""
    if ours == erp.total:
        return ""
    return (
        f"not adopted: the ERP already holds a voucher under reference {row.external_ref} "
        f"({erp.number or erp.erp_id}, id {erp.erp_id}) with a debit total of {erp.total:,.2f}, "
        f"while ours is {ours:,.2f}; compare the two in the ERP, remove or correct the one that "
        "is wrong there, then `crmsync retry` this voucher"
    )
