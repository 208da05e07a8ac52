"""One reconciliation pass over inputs already read, with the decisions people recorded.

The report (``crmsync reconcile``) and the vouchers it books (the plan hook of a sync, and
``reconcile --post``) both run it, so what finance reads is what gets booked.
"""

from __future__ import annotations

import datetime as dt

from sync.reconcile.config import ReconcileConfig
from sync.reconcile.decisions import active_decisions
from sync.reconcile.inputs import Inputs
from sync.reconcile.match import reconcile
from sync.reconcile.model import ReconcileResult
from sync.state import StateStore

__all__ = ["reconcile_inputs"]


def reconcile_inputs(
    store: StateStore, inputs: Inputs, rc: ReconcileConfig, as_of: dt.date | None = None
) -> ReconcileResult:
    """Match every bank line of ``inputs`` to its CRM payments and orders."""
    return reconcile(
        inputs.bank.values(),
        inputs.payments,
        inputs.orders,
        cfg=rc,
        decisions=active_decisions(store),
        as_of=as_of,
    )
