"""The Airbyte destination with crmsync's own state store: the same engine as ``crmsync sync``.

With ``state: {url: …}`` in the connector config, the RECORDs the platform sends are read by
the engine exactly as a source's would be: each page of records and the STATE after it are
committed to the outbox in one transaction, then the outbox is posted. So summarised
mappings, reversals on edit and void, approval and exactly-once all hold on the platform,
and a PostgreSQL state store is shared with ``crmsync`` commands run elsewhere (``status``,
``failures``, ``retry``) through the config.yaml this mode writes beside the store.

A STATE is passed on once the records before it are in the outbox (committed with it), never
earlier; they are then posted by this run or, should posting fail, by the next one. STATEs are
passed on when the run ends (after posting), so a run killed halfway acknowledges nothing and
the platform re-sends; the record index makes the re-sent records ``already posted``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from sync.connector import SourceHandle
from sync.errors import ConfigurationError, CrmsyncError, PermanentError

__all__ = ["InputSource", "run_engine_write"]

log = logging.getLogger("crmsync.airbyte.engine")


class _InputStream:
    """What the engine's catalog builder asks of a stream; the platform owns the real one."""

    supports_incremental = False
    cursor_field: list[str] | None = None

    def __init__(self, name: str) -> None:
        self.name = name

    def as_airbyte_stream(self) -> Any:
        from airbyte_cdk.models import AirbyteStream, SyncMode

        return AirbyteStream(name=self.name, json_schema={}, supported_sync_modes=[SyncMode.full_refresh])


class InputSource:
    """The platform's messages as an in-process source the engine reads.

    The engine commits what it read before a STATE in one transaction and only then asks for
    the next message; so a STATE is safe to acknowledge as soon as the next one is asked for
    (or the input ends), and ``acknowledged`` lists those in order.
    """

    def __init__(self, messages: Iterable[Any], streams: Iterable[str], mapped: Iterable[str] = ()) -> None:
        self.messages = messages
        self.stream_names = sorted(set(streams))
        #: every stream the mappings read: the engine's catalog; those not sent stay empty
        self.mapped = sorted(set(mapped) | set(self.stream_names))
        self.acknowledged: list[Any] = []
        self.records = 0
        #: what stopped the input (a malformed line, a stray stream); the engine only logs it
        self.fault: CrmsyncError | None = None

    def streams(self, config: Mapping[str, Any]) -> list[_InputStream]:
        return [_InputStream(name) for name in self.mapped]

    def read(self, logger: Any, config: Any, catalog: Any, state: Any) -> Iterator[Any]:
        try:
            yield from self._read()
        except CrmsyncError as exc:
            self.fault = exc
            raise

    def _read(self) -> Iterator[Any]:
        from airbyte_cdk.models import Type

        pending: Any = None
        for message in self.messages:
            if pending is not None:  # the engine asked for more: the STATE's transaction committed
                self.acknowledged.append(pending)
                pending = None
            if message.type == Type.RECORD and message.record is not None:
                if message.record.stream not in self.stream_names:
                    raise ConfigurationError(
                        f"a record of stream {message.record.stream!r} arrived, which is not in the "
                        f"configured catalog ({', '.join(self.stream_names)}); "
                        "no later state is acknowledged",
                        hint="the source and the connection disagree: refresh the connection's schema",
                    )
                self.records += 1
                yield message
            elif message.type == Type.STATE:
                pending = message
                yield message
        if pending is not None:
            self.acknowledged.append(pending)


def _absolute(path: str) -> str:
    return path if Path(path).is_absolute() else str(Path.cwd() / path)


def _state_section(state: Mapping[str, Any]) -> dict[str, Any]:
    section = dict(state)
    url = str(section.get("url", ""))
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        section["url"] = "sqlite:///" + _absolute(url.removeprefix("sqlite:///"))
    return section


def engine_config(type_name: str, airbyte_config: Any, work: Path) -> Path:
    """The config.yaml the engine loads (kept, so ``crmsync -c`` commands can use the store).

    Relative paths in the connector config are relative to the connector's working folder,
    as in check; they are written absolute, since the file lives elsewhere.
    """
    data: dict[str, Any] = {
        "state": _state_section(airbyte_config.state),
        # the records arrive on stdin; `type: airbyte` is never built, only named
        "sources": {airbyte_config.source: {"type": "airbyte"}},
        "destination": {"type": type_name, **airbyte_config.destination},
    }
    work.mkdir(parents=True, exist_ok=True)
    globs, lookups_dir = airbyte_config.mapping_files(work)
    data["mappings"] = [_absolute(g) for g in globs]
    if lookups_dir:
        data["lookups_dir"] = _absolute(lookups_dir)
    path = work / "airbyte-destination.yaml"
    path.write_text(
        "# written by the Airbyte destination on every write; the state store it names is the one\n"
        "# the platform's syncs use: `crmsync status|failures|retry -c "
        + str(path)
        + "`\n"
        + yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    path.chmod(0o600)  # it holds the destination's credentials, as the connector config does
    return path


def run_engine_write(
    type_name: str,
    airbyte_config: Any,
    messages: Iterable[Any],
    streams: Iterable[str],
    work: Path,
    *,
    destination_factory: Any = None,
) -> Iterator[Any]:
    """Run the engine over the input; yield the STATEs it committed; raise when records failed."""
    from sync.config.loader import load_config
    from sync.orchestration import sync_once

    config = load_config(engine_config(type_name, airbyte_config, work))
    known = {m.stream for m in _mapping_streams(config, airbyte_config.source)}
    unknown = sorted(set(streams) - known)
    if unknown:
        raise ConfigurationError(
            f"stream(s) {', '.join(unknown)}: no mapping reads {airbyte_config.source}/<stream>; "
            f"the mappings read {', '.join(sorted(known)) or '(nothing from this source)'}",
            hint="remove the stream from the connection or add a mapping for it",
        )
    source = InputSource(messages, streams, known)
    handle = SourceHandle(source=source, config={}, system="airbyte")
    summary = sync_once(
        config, sources={airbyte_config.source: handle}, destination_factory=destination_factory
    )
    yield from source.acknowledged
    log.info("; ".join(summary.lines()))
    if source.fault is not None:
        raise source.fault
    if summary.exit_code:
        problems = "\n".join(f"- {line}" for line in summary.lines())
        error: CrmsyncError = PermanentError(
            f"{summary.quarantined} record(s) quarantined, {summary.failed} failed, "
            f"{len(summary.source_errors)} input error(s); the records are kept in the state store "
            f"and the states before them acknowledged:\n{problems}",
            hint=f"see `crmsync failures -c {work / 'airbyte-destination.yaml'}`, fix, then `crmsync retry`",
        )
        raise error


def _mapping_streams(config: Any, source: str) -> list[Any]:
    from sync.engine.build import load_mappings

    mappings = load_mappings(config)
    known = mappings.streams()
    if source not in known:
        raise ConfigurationError(
            f"source {source!r}: no mapping reads it; the mappings read "
            + ", ".join(f"{name!r}" for name in sorted(known)),
            hint="set `source` to the name in the mappings' `source:` key",
        )
    return [m for m in mappings.mappings if m.source == source]
