"""The audit trail: who did what to the books, when, in an append-only hash chain.

Every post, reversal, refusal, retry, approval, manual reconciliation decision and config
change the engine sees is one entry in the state store's ``audit_log`` (migration 3),
written in the same transaction as the change it records, so the trail and the outbox never
disagree. Each entry's hash covers its content and the previous entry's hash; ``verify``
walks the chain and names the first entry that was edited, deleted, inserted or moved.
"""

from sync.audit.trail import (
    Action,
    AuditEntry,
    Problem,
    entries,
    note_config,
    record,
    verify,
)

__all__ = ["Action", "AuditEntry", "Problem", "entries", "note_config", "record", "verify"]
