"""One airbyte-cdk stream per CRM object: keyset pages as slices, state checkpointed per page.

Each page is one slice, so the CDK emits the stream's STATE after every page completes (an
interrupted read resumes from the last complete page). The slice carries the page's frozen
filter (``paging.PageQuery``); the next slice is planned from the page just read, which is why
``stream_slices`` is a lazy generator that the CDK advances only after the previous slice's
records are consumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.sources.streams.core import CheckpointMixin, Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors.fxiaoke.client import FxiaokeClient
from connectors.fxiaoke.errors import FxiaokeConfigError, FxiaokeTransientError
from connectors.fxiaoke.paging import LMT, Cursor, PageQuery, next_query
from connectors.fxiaoke.schemas import json_schema
from sync.errors import CrmsyncError

__all__ = ["FxiaokeStream"]


class FxiaokeStream(Stream, CheckpointMixin):
    """Records of one object (``AccountObj``, ``PaymentObj``, ``xxx__c`` …) exactly as the API sends them."""

    primary_key = "_id"
    cursor_field = LMT
    state_checkpoint_interval = None  # STATE per page (per slice), not per N records

    def __init__(
        self, api_name: str, client: FxiaokeClient, *, start_ms: int, page_size: int, overlap_ms: int
    ) -> None:
        super().__init__()
        self._api_name = api_name
        self._client = client
        self._start_ms = start_ms
        self._page_size = page_size
        self._cursor = Cursor(overlap_ms=overlap_ms)
        self._next: PageQuery | None = None
        self._schema = json_schema(api_name)
        # the CDK asks for ``state`` after every record; it only changes meaning at page ends
        self._snapshot: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self._api_name

    @property
    def state(self) -> MutableMapping[str, Any]:
        """The cursor as of the last complete page (what a checkpoint may promise)."""
        return self._snapshot

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._cursor = Cursor.from_state(value, self._cursor.overlap_ms)
        self._snapshot = self._cursor.to_state()

    def get_json_schema(self) -> Mapping[str, Any]:  # type: ignore[override]
        return self._schema

    def stream_slices(
        self,
        *,
        sync_mode: SyncMode,
        cursor_field: list[str] | None = None,
        stream_state: Mapping[str, Any] | None = None,
    ) -> Iterable[Mapping[str, Any] | None]:
        return self._pages()

    def _pages(self) -> Iterator[Mapping[str, Any]]:
        # the main pass, then the sweep for voided rows (see paging.Cursor)
        for first in (self._cursor.begin, self._cursor.sweep_query):
            query: PageQuery | None = first(self._start_ms)
            while query is not None:
                self._next = None
                yield query.as_slice()
                query = self._next

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: list[str] | None = None,
        stream_slice: Mapping[str, Any] | None = None,
        stream_state: Mapping[str, Any] | None = None,
    ) -> Iterable[Mapping[str, Any]]:
        query = (
            PageQuery.from_slice(stream_slice) if stream_slice else self._cursor.start_query(self._start_ms)
        )
        try:
            page = self._client.query(
                self._api_name,
                query.search_query_info(self._page_size),
                stream=self.name,
                where=query.describe(),
            )
        except CrmsyncError as exc:
            raise _traced(self.name, exc) from exc
        self._next = next_query(query, page, self._page_size)
        accept, sweep = self._cursor.accept, query.voided
        for record in page:
            if accept(record, sweep=sweep):
                yield record
        # runs when the CDK asks for the next record after the last one: before its slice checkpoint
        if sweep and self._next is None:
            self._cursor.sweep_done()
        self._snapshot = self._cursor.to_state()


def _traced(stream: str, exc: CrmsyncError) -> AirbyteTracedException:
    """Our error as an Airbyte error trace: the message a person reads, and its failure type."""
    if isinstance(exc, FxiaokeConfigError):
        failure = FailureType.config_error
    elif isinstance(exc, FxiaokeTransientError):
        failure = FailureType.transient_error
    else:
        failure = FailureType.system_error
    text = f"stream {stream}: {exc.render()}"
    return AirbyteTracedException(message=text, internal_message=text, failure_type=failure, exception=exc)
