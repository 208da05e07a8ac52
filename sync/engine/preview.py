"""Map a few records from each source without storing anything (for ``crmsync check``)."""

from __future__ import annotations

from typing import Any

from sync.config import AppConfig
from sync.engine.build import build_sources
from sync.engine.reading import build_catalog, read_messages
from sync.model import Voucher

__all__ = ["sample_vouchers"]


def sample_vouchers(config: AppConfig, mappings: Any, per_source: int) -> tuple[list[Voucher], list[str]]:
    """Up to ``per_source`` records per source, read from the beginning and mapped; no state touched."""
    vouchers: list[Voucher] = []
    notes: list[str] = []
    streams = mappings.streams()
    for name, handle in build_sources(config, set(streams)).items():
        errors: list[str] = []
        catalog = build_catalog(name, handle, streams[name])
        seen = 0
        for kind, stream, data in read_messages(name, handle, catalog, [], errors):
            if kind != "record" or stream not in streams[name]:
                continue
            for result in mappings.map_record(name, stream, data):
                vouchers.extend(result.vouchers)
            seen += 1
            if seen >= per_source:
                break
        notes.append(f"source {name}: mapped {seen} sample records into vouchers to check")
        notes += [f"source error: {e}" for e in errors]
    return vouchers, notes
