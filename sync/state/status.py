"""The outbox state machine, defined once: every status a voucher can have and every move.

A voucher's status decides whether it may be sent, whether it must be reversed before a new
revision goes out, and what the reports count. A status written without looking at the one
it replaces is how a superseded revision came back to ``pending`` and was posted beside its
successor. So no code writes a status directly: the state store moves a voucher with a
compare-and-set (``UPDATE … WHERE status IN (allowed sources)``) derived from ``TRANSITIONS``
below, and a move the table does not allow, or one whose voucher changed under it, raises
``TransitionRefused`` instead of overwriting.
"""

from __future__ import annotations

from enum import StrEnum

from sync.errors import StateError

__all__ = [
    "FINAL",
    "IN_ERP",
    "MAYBE_IN_ERP",
    "NEVER_SENT",
    "NOT_DONE",
    "TRANSITIONS",
    "Status",
    "TransitionRefused",
    "sources_of",
]


class Status(StrEnum):
    """Where one voucher (or reversal) stands between the mapping and the ERP."""

    #: ready to send
    PENDING = "pending"
    #: handed to the ERP; the answer is not yet recorded (maybe posted: look it up before any resend)
    SENDING = "sending"
    #: the ERP holds it, with its id and number
    POSTED = "posted"
    #: refused for good by the ERP; kept for a person, back to pending by ``crmsync retry``
    FAILED = "failed"
    #: posted, then undone by its posted reversal voucher
    REVERSED = "reversed"
    #: replaced by a newer revision (or voided) before it ever reached the ERP: nothing to undo
    SUPERSEDED = "superseded"
    #: waits for ``crmsync approve`` (mapping key ``approval: required``)
    AWAITING_APPROVAL = "awaiting_approval"


#: every allowed move: from -> the statuses it may become
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.AWAITING_APPROVAL: frozenset({Status.PENDING, Status.SUPERSEDED}),
    Status.PENDING: frozenset({Status.SENDING, Status.SUPERSEDED}),
    Status.SENDING: frozenset({Status.POSTED, Status.FAILED, Status.PENDING, Status.SUPERSEDED}),
    Status.FAILED: frozenset({Status.PENDING, Status.SUPERSEDED}),
    Status.POSTED: frozenset({Status.REVERSED}),
    Status.REVERSED: frozenset(),
    Status.SUPERSEDED: frozenset(),
}

#: the ERP holds (or held) it: a report counts it, a replacement needs a reversal first
IN_ERP = frozenset({Status.POSTED, Status.REVERSED})
#: the ERP may hold it: only a look-up can tell
MAYBE_IN_ERP = frozenset({Status.SENDING})
#: certainly not in the ERP and still live: a new revision simply supersedes it
NEVER_SENT = frozenset({Status.PENDING, Status.FAILED, Status.AWAITING_APPROVAL})
#: nothing can happen to it any more
FINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
#: a record counted against it is not yet done (the run's "failed" count)
NOT_DONE = NEVER_SENT | MAYBE_IN_ERP


def sources_of(target: Status) -> frozenset[Status]:
    """The statuses from which ``target`` may be reached."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


class TransitionRefused(StateError):
    """A status move the state machine does not allow, or whose voucher changed under it.

    Raised instead of overwriting: the caller either expected a status the voucher no
    longer has (someone else moved it first) or asked for a move that is never valid.
    """

    def __init__(self, external_ref: str, current: str | None, target: Status) -> None:
        self.external_ref = external_ref
        self.current = current
        self.target = target
        where = "it is not in the outbox" if current is None else f"it is {current}"
        super().__init__(
            f"voucher {external_ref} cannot become {target.value}: {where}",
            hint="another run or command moved it first; run `crmsync vouchers` to see where it stands",
        )
