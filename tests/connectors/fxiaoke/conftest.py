"""Shared pieces: the fake gateway, a source with test-sized backoff and timeouts, and a reader."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from airbyte_cdk.models import AirbyteStateMessage, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read
from airbyte_cdk.test.state_builder import StateBuilder

from connectors.fxiaoke.source import SourceFxiaoke
from sync.backoff import Backoff
from tests.fakes.fxiaoke import FakeFxiaoke

#: backoff in milliseconds, so retry paths are exercised without slowing the suite
FAST_RETRY = Backoff(attempts=5, initial=0.01, maximum=0.05)


def make_source() -> SourceFxiaoke:
    return SourceFxiaoke(retry=FAST_RETRY, timeout=(2.0, 0.5))


def catalog(*streams: str, mode: SyncMode = SyncMode.incremental) -> Any:
    builder = CatalogBuilder()
    for name in streams:
        builder = builder.with_stream(name, mode)
    return builder.build()


def state_of(output: EntrypointOutput) -> list[AirbyteStateMessage]:
    """The per-stream states a run ended with, as the next run's input (what the engine stores)."""
    builder = StateBuilder()
    latest: dict[str, Mapping[str, Any]] = {}
    for message in output.state_messages:
        stream_state = message.state.stream
        latest[stream_state.stream_descriptor.name] = stream_state.stream_state.__dict__
    for name, value in latest.items():
        builder = builder.with_stream_state(name, dict(value))
    return builder.build()


def run(
    config: Mapping[str, Any],
    streams: Sequence[str],
    state: list[AirbyteStateMessage] | None = None,
    *,
    failing: bool = False,
) -> EntrypointOutput:
    return read(make_source(), dict(config), catalog(*streams), state=state, expecting_exception=failing)


def records(output: EntrypointOutput, stream: str | None = None) -> list[dict[str, Any]]:
    return [m.record.data for m in output.records if stream is None or m.record.stream == stream]


def versions(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """(_id, last_modified_time) of each delivered row: the unit delivered exactly once."""
    return [(r["_id"], r["last_modified_time"]) for r in rows]


@pytest.fixture
def fake() -> Iterator[FakeFxiaoke]:
    """A small tenant (30 records per object), real throttling off unless a test turns it on."""
    with FakeFxiaoke(records=30, rate_limit=None, hang_seconds=2.0) as server:
        yield server
