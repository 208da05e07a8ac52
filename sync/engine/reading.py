"""Reading: run an airbyte-cdk source in-process from the stored per-stream state.

``read_messages`` yields ``("record", stream, data)``, ``("state", stream, state)`` and
``("sweep", stream, marker)`` (a source read one input whole: ``sync.connector.SWEEP_FIELD``) in
the order the source emits them; the engine maps records and commits them together with the
STATE that follows them. The source's own failures (a stream that errored) are collected,
not raised, so what was read before them is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from sync.connector import SWEEP_FIELD, SourceHandle
from sync.errors import ConfigurationError
from sync.state import StateStore

__all__ = ["Event", "build_catalog", "read_messages"]

log = logging.getLogger("crmsync.engine.reading")

Event = tuple[str, str, Any]


def build_catalog(name: str, handle: SourceHandle, wanted: Iterable[str]) -> Any:
    """The configured catalog of the streams the mappings read (incremental where supported)."""
    from airbyte_cdk.models import (
        ConfiguredAirbyteCatalog,
        ConfiguredAirbyteStream,
        DestinationSyncMode,
        SyncMode,
    )

    streams = {s.name: s for s in handle.source.streams(handle.config)}
    missing = sorted(set(wanted) - set(streams))
    if missing:
        raise ConfigurationError(
            f"source {name!r} has no stream {', '.join(map(repr, missing))}",
            hint=f"mappings must read one of its streams: {', '.join(sorted(streams)) or '(none)'}",
        )
    configured = []
    for stream_name in sorted(set(wanted)):
        stream = streams[stream_name]
        incremental = bool(stream.supports_incremental)
        configured.append(
            ConfiguredAirbyteStream(
                stream=stream.as_airbyte_stream(),
                sync_mode=SyncMode.incremental if incremental else SyncMode.full_refresh,
                destination_sync_mode=DestinationSyncMode.append,
                cursor_field=stream.cursor_field
                if incremental and isinstance(stream.cursor_field, list)
                else None,
            )
        )
    return ConfiguredAirbyteCatalog(streams=configured)


def stored_state(store: StateStore, name: str, streams: Iterable[str]) -> list[Any]:
    from airbyte_cdk.models import (
        AirbyteStateBlob,
        AirbyteStateMessage,
        AirbyteStateType,
        AirbyteStreamState,
        StreamDescriptor,
    )

    messages = []
    for stream in sorted(set(streams)):
        state = store.get_cursor(name, stream)
        if state is not None:
            messages.append(
                AirbyteStateMessage(
                    type=AirbyteStateType.STREAM,
                    stream=AirbyteStreamState(
                        stream_descriptor=StreamDescriptor(name=stream), stream_state=AirbyteStateBlob(state)
                    ),
                )
            )
    return messages


def _blob_dict(blob: Any) -> dict[str, Any]:
    if blob is None:
        return {}
    if isinstance(blob, dict):
        return blob
    return dict(blob.__dict__)


def read_messages(
    name: str, handle: SourceHandle, catalog: Any, state: list[Any], errors: list[str]
) -> Iterator[Event]:
    """Records and per-stream STATEs from one source, in order; errors appended to ``errors``."""
    from airbyte_cdk.models import AirbyteStateType, TraceType, Type

    logger = logging.getLogger(f"crmsync.source.{name}")
    try:
        for message in handle.source.read(logger, handle.config, catalog, state):
            if message.type == Type.RECORD:
                data = message.record.data
                yield ("sweep" if SWEEP_FIELD in data else "record"), message.record.stream, data
            elif message.type == Type.STATE:
                st = message.state
                if st.type == AirbyteStateType.STREAM and st.stream is not None:
                    yield "state", st.stream.stream_descriptor.name, _blob_dict(st.stream.stream_state)
                else:
                    log.warning("source %s sent a %s state, which crmsync does not store", name, st.type)
            elif message.type == Type.TRACE and message.trace.type == TraceType.ERROR:
                err = message.trace.error
                errors.append(f"{name}: {err.message}")
            elif message.type == Type.LOG:
                log.debug("%s: %s", name, message.log.message)
    except Exception as exc:  # the CDK raises at the end when a stream failed; keep what was read
        text = getattr(exc, "message", None) or str(exc)
        # the CDK's closing summary ("… did not sync successfully: bank: AirbyteTracedException(…)")
        # repeats, as a repr, what the stream's own error trace already said in words
        repeated = text.startswith(_CDK_SUMMARY) and any(e.startswith(f"{name}: ") for e in errors)
        if not repeated and not any(text in e for e in errors):
            errors.append(f"{name}: {text}")


_CDK_SUMMARY = "During the sync, the following streams did not sync successfully"


def read_records(
    name: str, handle: SourceHandle, streams: Iterable[str], errors: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A full read (no stored cursor) of ``streams``: ``(stream, data)`` of each record, nothing else.

    For the features that look at everything a source holds (reports, reconciliation); errors
    are appended to ``errors`` and what was read before them is kept.
    """
    events = read_messages(name, handle, build_catalog(name, handle, streams), [], errors)
    return ((stream, data) for kind, stream, data in events if kind == "record")
