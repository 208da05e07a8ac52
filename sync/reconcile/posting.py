"""Reconciliation vouchers into the outbox: the engine's Planner, then its normal poster.

Called by a sync run (``sync.engine.run.Engine`` plan hook) after the sources were read and
before posting, when ``reconcile.post_vouchers`` is true, and by ``crmsync reconcile --post``.
There is no second posting path: every voucher is ``Planner.put`` under its key
(``reconcile:receipt:<bank id>``, ``reconcile:settlement:<payout id>``), so the poster's
``sending`` mark, lookup-before-resend, retries, summary counts and audit entries apply,
and a changed voucher is reversed and replaced by the Planner's rules.

Why a full read and not the records the sync run just read: the run reads incrementally
from the stored cursors (a statement file already read is not read again, the CRM only
since its last cursor), while matching needs every bank line and every CRM payment — the
CRM payment that arrives today matches a bank line read a month ago. So reconciliation
reads both sides whole, exactly as ``crmsync reconcile`` does (``inputs.load_inputs``),
and the vouchers it posts are the vouchers that report shows.

Two rules keep a partial picture from booking anything wrong:

- if any source (or a CRM record) reported an error, nothing is put or voided in this run
  (the errors are counted as source errors, exit code 1): a CRM payment that failed to read
  would otherwise push its bank line to suspense;
- an earlier reconciliation voucher is voided (its reversal posted) only when its bank line
  is still in the inputs and now books nothing — a statement file moved out of the glob
  does not undo what it booked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sync.config import AppConfig
from sync.engine.reversals import Planner, Put
from sync.engine.summary import RunSummary
from sync.model import Voucher
from sync.reconcile.config import ReconcileConfig, load_reconcile_config
from sync.reconcile.inputs import Inputs, _bank_source_names, _crm_source_name, load_inputs
from sync.state import StateStore

__all__ = ["KEY_PREFIX", "PlanCounts", "ReconcilePlan", "plan_hook", "plan_vouchers"]

log = logging.getLogger("crmsync.reconcile")

#: every reconciliation voucher key starts with this (see ``vouchers.py``)
KEY_PREFIX = "reconcile:"


@dataclass
class PlanCounts:
    """What one planning pass did to the outbox (logged; the poster counts what it posts)."""

    vouchers: int = 0
    new: int = 0
    unchanged: int = 0
    voided: int = 0
    kept: list[str] = field(default_factory=list)  # live keys whose bank line is not in the inputs
    skipped: bool = False  # a source error: nothing put, nothing voided


def _live_keys(store: StateStore) -> list[tuple[str, str]]:
    """(key, live revision) of every reconciliation voucher key that has a live revision."""
    return store.live_heads(KEY_PREFIX)


def plan_vouchers(
    store: StateStore,
    planner: Planner,
    produced: Iterable[Voucher],
    bank_ids: set[str],
    rc: ReconcileConfig,
) -> PlanCounts:
    """Put every produced voucher; void the live ones no longer produced whose bank line is known.

    One transaction: a crash leaves the outbox as before this pass, never half of it.
    """
    counts = PlanCounts()
    wanted = {v.key: v for v in produced}
    counts.vouchers = len(wanted)
    with store.transaction():
        for voucher in wanted.values():
            outcome = planner.put(voucher, rc.reversal_style, 0)
            if outcome is Put.NEW:
                counts.new += 1
            else:
                counts.unchanged += 1
        for key, revision in _live_keys(store):
            if key in wanted:
                continue
            row = store.get_voucher(key, revision)
            if row is None:
                continue
            if row.source_id not in bank_ids:
                counts.kept.append(key)
                continue
            planner.void(key, rc.reversal_style)
            counts.voided += 1
    return counts


class ReconcilePlan:
    """The plan hook: reconcile everything the sources hold, then put/void through the Planner."""

    def __init__(self, config: AppConfig, rc: ReconcileConfig, inputs: Inputs | None = None) -> None:
        self.config = config
        self.rc = rc
        self.inputs = inputs
        self.counts: PlanCounts | None = None

    def __call__(self, planner: Planner, summary: RunSummary) -> None:
        from sync.reconcile.run import reconcile_inputs
        from sync.reconcile.vouchers import vouchers

        inputs = self.inputs if self.inputs is not None else load_inputs(self.config, self.rc)
        if inputs.errors:
            summary.source_errors += [f"reconcile: {e}" for e in inputs.errors]
            summary.source_errors.append(
                "reconcile: no reconciliation voucher booked or reversed in this run "
                "(a source reported errors; fix them and run again)"
            )
            self.counts = PlanCounts(skipped=True)
            return
        store = planner.store
        result = reconcile_inputs(store, inputs, self.rc)
        self.counts = c = plan_vouchers(store, planner, vouchers(result, self.rc), set(inputs.bank), self.rc)
        log.info(
            "reconcile: %d vouchers (%d new or changed, %d unchanged), %d voided",
            c.vouchers,
            c.new,
            c.unchanged,
            c.voided,
        )
        for key in c.kept:
            log.warning("reconcile: %s kept: its bank line is no longer in the bank sources", key)


def plan_hook(config: AppConfig) -> ReconcilePlan | None:
    """The hook for a sync run, or None when ``reconcile.post_vouchers`` is off (the default).

    Validates the ``reconcile:`` section first, so a bad key is a ConfigurationError (exit 2)
    before anything is read or locked.
    """
    section: Any = config.reconcile
    if not section:
        return None
    rc = load_reconcile_config(section, config.config_path)
    if not rc.post_vouchers:
        return None
    _bank_source_names(config, rc)  # a source name that does not exist: exit 2 now, not mid-run
    _crm_source_name(config, rc)
    return ReconcilePlan(config, rc)
