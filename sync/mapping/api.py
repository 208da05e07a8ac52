"""What the mapping layer gives the engine: one result per record.

The engine calls ``MappingSet.map_record(source, stream, record)`` for every record it reads
and gets back a ``RecordResult``: vouchers to put in the outbox, contributions to a
summarised voucher's group, a skip by a ``when`` rule, or a failure to quarantine. The counts
always add up: every record is exactly one of mapped, skipped or failed per mapping that
reads its stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.errors import MappingError
from sync.model import ReversalStyle, Voucher

__all__ = ["NO_ID", "Contribution", "RecordResult"]

#: the record id of a result whose record has none (its mapping's ``id:`` failed or was empty)
NO_ID = "(no id)"


@dataclass(frozen=True)
class Contribution:
    """One record's share of a summarised voucher (many records -> one voucher per group).

    ``group_key`` is the voucher key of the group (mapping + group values such as date and
    customer). The engine stores contributions per (group_key, record_id) and asks the mapping
    to ``assemble`` the group's voucher from all of its current members, so a record arriving
    late to a posted group changes the group's revision (reversal + new voucher).
    """

    mapping: str
    group_key: str
    record_id: str
    #: opaque, JSON-able payload the mapping needs to assemble the group (header + lines)
    payload: dict[str, Any]


@dataclass(frozen=True)
class RecordResult:
    """The outcome of mapping one record with one mapping."""

    mapping: str
    record_id: str
    vouchers: tuple[Voucher, ...] = ()
    contributions: tuple[Contribution, ...] = ()
    skipped: bool = False  # excluded by the mapping's `when:` rule (or held)
    skip_reason: str = ""
    #: held by ``hold_when:`` (also ``skipped``): what was posted for the record stands untouched
    held: bool = False
    #: the record is voided/deleted at the source: reverse whatever this mapping posted for it
    voided: bool = False
    error: MappingError | None = None
    reversal_style: ReversalStyle = ReversalStyle.RED
    extra: dict[str, Any] = field(default_factory=dict)
    #: the mapping version that produced this result (sync.mapping.versions)
    version: str = ""

    @property
    def failed(self) -> bool:
        return self.error is not None
