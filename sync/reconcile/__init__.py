"""收款核销: match the money that arrived (bank and platform lines) to what the CRM says was paid.

A pure library (``match.reconcile``: normalised bank transactions + CRM payments/orders in,
``ReconcileResult`` out; ``vouchers``: the receipt, suspense and settlement vouchers) plus a
thin adapter (``inputs``) that reads both sides from the sources in config.yaml, a
small table of manual decisions (``decisions``), and ``posting``, which puts the vouchers
into the engine's outbox through its Planner (``reconcile.post_vouchers``; ``reconcile --post``).
"""

from sync.reconcile.config import ReconcileConfig
from sync.reconcile.match import reconcile
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

__all__ = [
    "Allocation",
    "BankResult",
    "CrmOrder",
    "CrmPayment",
    "Decision",
    "PaymentResult",
    "ReconcileConfig",
    "ReconcileResult",
    "SettlementResult",
    "reconcile",
]
