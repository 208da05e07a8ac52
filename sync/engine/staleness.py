"""Which stored records the current mappings have not mapped: the reason to run ``remap``.

A mapping edited after records were synced, or added for a stream already read, reaches only
what the sources send from now on. Rather than let the books end up mixed without a word,
``crmsync sync`` and ``crmsync status`` count, per mapping, the records mapped by an older
version and the stored records it never saw, and name the command that applies it to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sync.state import StateStore
from sync.state.source_records import VersionCounts

__all__ = ["Staleness", "advice", "staleness"]


@dataclass(frozen=True, slots=True)
class Staleness:
    """One mapping whose current version has not been applied to every stored record."""

    mapping: str
    version: str
    counts: VersionCounts

    def public_dict(self) -> dict[str, Any]:
        """Flat: ``mapping``, ``version``, ``older``, ``never_offered``, ``without_copy``."""
        return {"mapping": self.mapping, "version": self.version, **asdict(self.counts)}


def staleness(store: StateStore, mappings: Any) -> list[Staleness]:
    """Every mapping with records its current version has not mapped (an empty list: none)."""
    out = []
    for m in mappings.mappings:
        counts = store.version_counts(m.name, m.source, m.stream, m.version)
        if counts.older or counts.never_offered:
            out.append(Staleness(m.name, m.version, counts))
    return out


def advice(items: Iterable[Staleness]) -> Iterator[str]:
    """One line per stale mapping, with the command that applies the current version."""
    for s in items:
        c = s.counts
        parts = []
        if c.older:
            parts.append(f"{c.older} records were mapped by an older version")
        if c.never_offered:
            parts.append(f"{c.never_offered} stored records were never offered to it")
        line = f"mapping {s.mapping!r} changed (now {s.version}): {', '.join(parts)}"
        if c.without_copy:
            line += f" ({c.without_copy} of them were read before copies were kept and are re-mapped only "
            line += "when the source sends them again)"
        yield line + f"; see the change with `crmsync remap --mapping {s.mapping} --dry-run`"
