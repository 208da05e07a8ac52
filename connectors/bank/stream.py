"""The airbyte-cdk stream skeleton every bank source shares (files, CMB, Stripe).

Each source differs in what a slice is and how it is read; the record schema, the primary key and
cursor, the checkpointed ``state`` property and "adopt the state the engine hands over, then slice"
are the same, so they live here once. Built lazily: airbyte_cdk costs 1.3 s to import.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from sync.banking import RECORD_SCHEMA


@functools.cache
def bank_stream_base() -> type:
    """The base class: subclasses give ``name``, ``clean_state``, ``slices`` and ``read_records``."""
    from airbyte_cdk.models import SyncMode
    from airbyte_cdk.sources.streams import CheckpointMixin, Stream

    class BankStream(Stream, CheckpointMixin):
        primary_key = "id"
        cursor_field = "booking_date"

        def __init__(self) -> None:
            self._state: dict[str, Any] = self.clean_state(None)

        def clean_state(self, value: Mapping[str, Any] | None) -> dict[str, Any]:
            """The state kept from what was handed over (a stale or foreign shape is narrowed here)."""
            return dict(value or {})

        @property
        def state(self) -> MutableMapping[str, Any]:
            return self._state

        @state.setter
        def state(self, value: MutableMapping[str, Any]) -> None:
            self._state = self.clean_state(value)

        def get_json_schema(self) -> Mapping[str, Any]:  # type: ignore[override]
            return RECORD_SCHEMA

        def stream_slices(
            self,
            *,
            sync_mode: SyncMode,
            cursor_field: Any = None,
            stream_state: Mapping[str, Any] | None = None,
        ) -> Iterable[Mapping[str, Any] | None]:
            if stream_state:
                self.state = dict(stream_state)
            yield from self.slices()

        def slices(self) -> Iterable[Mapping[str, Any] | None]:
            """One slice for the whole read, unless the source splits it (per file, per account day)."""
            return [{}]

    return BankStream
