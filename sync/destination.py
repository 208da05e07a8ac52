"""The contract every destination connector implements; the engine owns everything else.

A destination knows its wire format: how to render a voucher, post a batch, classify each
answer, and find a voucher again by its external reference. It knows nothing of retries,
the ``sending`` mark, the look-up before every send or reversals: those live once, in
sync.engine, so every destination inherits the exactly-once protocol instead of
re-implementing it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from sync.model import Voucher

__all__ = ["CheckReport", "Destination", "ErpRef", "Outcome", "PostResult", "short_ref"]


class Outcome(StrEnum):
    """What one post attempt did to one voucher, as far as the destination can tell."""

    POSTED = "posted"  # the ERP has it; ``ref`` holds its id and number
    PERMANENT = "permanent"  # the ERP refused it; ``message`` is the ERP's own text
    TRANSIENT = "transient"  # not taken, safe to send again later (throttled, 5xx before commit)
    UNKNOWN = "unknown"  # sent, answer lost (timeout, reset): look up before any resend


@dataclass(frozen=True, slots=True)
class ErpRef:
    """How the ERP knows a voucher: its internal id and the number finance sees (记-12).

    A look-up also gives ``total`` (the voucher's debit total as the ERP holds it) where the
    ERP reports it, so a voucher found under our reference but with other amounts is shown
    to a person instead of being taken for ours.
    """

    erp_id: str
    number: str = ""
    #: what the look-up saw, not part of which voucher it is (compare=False)
    total: Decimal | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PostResult:
    """The outcome for one voucher of a batch, matched back by ``external_ref``."""

    external_ref: str
    outcome: Outcome
    ref: ErpRef | None = None
    message: str = ""
    retry_after: float | None = None

    @classmethod
    def posted(cls, external_ref: str, ref: ErpRef) -> PostResult:
        return cls(external_ref, Outcome.POSTED, ref=ref)

    @classmethod
    def permanent(cls, external_ref: str, message: str) -> PostResult:
        return cls(external_ref, Outcome.PERMANENT, message=message)

    @classmethod
    def transient(cls, external_ref: str, message: str, retry_after: float | None = None) -> PostResult:
        return cls(external_ref, Outcome.TRANSIENT, message=message, retry_after=retry_after)

    @classmethod
    def unknown(cls, external_ref: str, message: str) -> PostResult:
        return cls(external_ref, Outcome.UNKNOWN, message=message)


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``check()`` found: problems block posting, warnings do not."""

    ok: bool
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    details: tuple[str, ...] = ()


@runtime_checkable
class Destination(Protocol):
    """An ERP (or the embedded ledger) that takes vouchers.

    Implementations raise ``DestinationUnavailable`` when they cannot reach the ERP at all
    (exit code 3) and never raise for a single voucher's problem: that is a PostResult.
    """

    #: the config ``type`` (ledger, kingdee, sap_s4, …)
    type_name: str
    #: how many vouchers one ``post`` call should carry
    batch_size: int

    def check(self, vouchers: Sequence[Voucher] = ()) -> CheckReport:
        """Connectivity, credentials, and that the accounts/customers these vouchers use exist."""
        ...

    def render(self, voucher: Voucher) -> Any:
        """The ERP payload for one voucher (JSON-able or XML text), carrying ``external_ref``."""
        ...

    def post(self, batch: Sequence[Voucher]) -> list[PostResult]:
        """Send a batch; exactly one result per voucher, in any order, keyed by external_ref."""
        ...

    def lookup(self, external_refs: Sequence[str], *, thorough: bool = False) -> dict[str, ErpRef]:
        """Which of these references the ERP already holds, in as few calls as it allows.

        The engine asks before every send (a lost, new or restored state never posts twice)
        and after every unknown outcome. ``thorough`` marks the second case: few vouchers,
        each possibly sent, so a destination may spend a call per voucher to be sure.
        """
        ...

    def close(self) -> None: ...


def short_ref(external_ref: str, max_len: int, prefix: str = "CS") -> str:
    """A stable reference that fits a short ERP field (SAP DocumentReferenceID: 16).

    References that already fit are kept as they are; longer ones become ``prefix`` plus a
    base32 SHA-256 digest (uppercase, no padding), the same on every run and machine.
    """
    if len(external_ref) <= max_len:
        return external_ref
    digest = base64.b32encode(hashlib.sha256(external_ref.encode()).digest()).decode().rstrip("=")
    return (prefix + digest)[:max_len]
