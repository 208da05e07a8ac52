"""Run the bank source in-process through the real airbyte-cdk read loop, as the engine does."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from airbyte_cdk.models import (
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    StreamDescriptor,
    SyncMode,
    Type,
)


@dataclass
class ReadResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    states_seen: int = 0


def run_read(source: Any, config: dict[str, Any], state: dict[str, Any] | None = None) -> ReadResult:
    streams = source.streams(config)
    catalog = ConfiguredAirbyteCatalog(
        streams=[
            ConfiguredAirbyteStream(
                stream=s.as_airbyte_stream(),
                sync_mode=SyncMode.incremental,
                destination_sync_mode=DestinationSyncMode.append,
            )
            for s in streams
        ]
    )
    states = None
    if state is not None:
        states = [
            AirbyteStateMessage(
                type=AirbyteStateType.STREAM,
                stream=AirbyteStreamState(
                    stream_descriptor=StreamDescriptor(name=streams[0].name),
                    stream_state=AirbyteStateBlob(**state),
                ),
            )
        ]
    out = ReadResult()
    try:
        for msg in source.read(logging.getLogger("test"), config, catalog, states):
            if msg.type == Type.RECORD:
                out.records.append(msg.record.data)
            elif msg.type == Type.STATE:
                out.states_seen += 1
                blob = msg.state.stream.stream_state
                out.state = blob.__dict__ if hasattr(blob, "__dict__") else dict(blob)
            elif msg.type == Type.TRACE and msg.trace.error is not None:
                out.errors.append(f"{msg.trace.error.message} {msg.trace.error.internal_message}")
    except Exception as exc:  # the CDK re-raises stream failures after emitting the trace
        out.errors.append(str(exc))
    return out
