"""Any crmsync destination as an Airbyte destination: ``spec``, ``check``, ``write``.

``python -m connectors.<system> spec|check|write`` runs the destination under the Airbyte
protocol: RECORD messages from any Airbyte source are mapped with the configured YAML
mappings and the vouchers posted; a STATE message is passed on only after every voucher
made from the records before it is committed in the ERP. There is no state store in this
mode, so exactly-once rests on the ERP itself: before a voucher is sent, its external
reference is looked up (a restarted sync re-reads records from the last acknowledged state
and finds their vouchers already there); an unknown outcome is looked up before any resend.

What cannot be committed blocks every later STATE, never a record: a voucher the ERP refuses
or a record the mappings cannot map ends the sync with an error that names it and the ERP's
own message; after the fix, the platform re-sends from the last acknowledged state. Nothing
is dropped silently either: a source or stream no mapping reads, a RECORD outside the
catalog and a line that is not an Airbyte message stop the write before any later STATE,
and every skipped or voided record is counted and logged.

Config (one JSON object)::

    {"destination": {...the destination's own keys, as in config.yaml...},
     "mappings": ["/etc/crmsync/mappings/*.yaml"], "source": "crm", "lookups_dir": null,
     "state": null}

A pod that has no mapping folder gets the mappings in the config itself: ``inline_mappings``
(objects or YAML text) and ``inline_lookups`` (CSV text keyed by the path the mappings give).

With ``state`` in the config, ``write`` runs crmsync's engine instead (``engine_mode``):
summarised mappings and reversals of voided or edited records need its state store; without
it a summarised mapping is refused at ``check`` and a voided record is counted, logged and
skipped.
"""

from __future__ import annotations

import glob
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sync.airbyte.inline import materialise
from sync.backoff import Backoff
from sync.connector import SWEEP_FIELD
from sync.destination import Destination, Outcome
from sync.errors import ConfigurationError, CrmsyncError, PermanentError, TransientError
from sync.model import Voucher
from sync.secrets import redact

__all__ = ["AirbyteModeConfig", "CommitReport", "Committer", "airbyte_destination", "main"]

log = logging.getLogger("crmsync.airbyte.destination")


class AirbyteModeConfig(BaseModel):
    """The Airbyte destination config: the destination section plus where the mappings are."""

    model_config = ConfigDict(extra="forbid")

    destination: dict[str, Any] = Field(description="the destination's keys, exactly as in config.yaml")
    mappings: list[str] = Field(
        default_factory=list, description="globs of mapping YAML files (or none, with inline_mappings)"
    )
    source: str = Field("crm", description="the source name the mappings read (`source:` in each mapping)")
    lookups_dir: str | None = Field(
        None, description="folder of CSV lookups overriding those beside the mappings"
    )
    state: dict[str, Any] | None = Field(
        None,
        description='crmsync\'s state store, as `state:` in config.yaml (e.g. {"url": '
        '"postgresql://crmsync@db:5432/crmsync"}): runs the full engine (summarised mappings, '
        "reversals on edit and void, approval); without it, exactly-once rests on ERP lookups",
    )
    inline_mappings: list[dict[str, Any] | str] = Field(
        default_factory=list,
        description="mappings carried in the config, for pods without a mapping folder: each a "
        "mapping document as an object, or its YAML/JSON text",
    )
    inline_lookups: dict[str, str] = Field(
        default_factory=dict,
        description="CSV lookups carried in the config, keyed by the path the mappings give "
        '(e.g. {"lookups/customers.csv": "crm_name,erp_code\\n..."}); they take the place of lookups_dir',
    )

    @model_validator(mode="after")
    def _some_mappings(self) -> AirbyteModeConfig:
        if not self.mappings and not self.inline_mappings:
            raise ValueError("give `mappings` (globs of mapping files) or `inline_mappings`")
        if self.lookups_dir and self.inline_lookups:
            raise ValueError("give `lookups_dir` or `inline_lookups`, not both")
        return self

    def mapping_files(self, work: Path) -> tuple[list[str], str | None]:
        """Globs and lookups folder to load, the inline documents written under ``work`` first."""
        inline = materialise(self.inline_mappings, self.inline_lookups, work)
        return [*self.mappings, *inline.mapping_globs], inline.lookups_dir or self.lookups_dir


@dataclass
class CommitReport:
    """What happened to a set of vouchers: committed, refused (with the ERP's words), still open."""

    committed: dict[str, str] = field(default_factory=dict)  # external_ref -> ERP number
    refused: dict[str, str] = field(default_factory=dict)  # external_ref -> ERP message
    open: list[str] = field(default_factory=list)  # transient / unknown after every attempt


class Committer:
    """Posts vouchers until each is committed or refused: lookup first, bounded retries."""

    def __init__(
        self,
        destination: Destination,
        *,
        attempts: int = 5,
        initial: float = 1.0,
        maximum: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dest = destination
        self.attempts = attempts
        self.initial = initial
        self.maximum = maximum
        self.sleep = sleep

    def commit(self, vouchers: Sequence[Voucher]) -> CommitReport:
        report = CommitReport()
        pending = {v.external_ref: v for v in vouchers}
        self._drop_found(pending, list(pending), report)  # a restarted sync: already in the ERP
        for attempt in range(self.attempts):
            if not pending:
                break
            wait = self._round(pending, report)
            if pending and attempt + 1 < self.attempts:
                self.sleep(wait if wait is not None else self._backoff(attempt))
        report.open = sorted(pending)
        return report

    def _round(self, pending: dict[str, Voucher], report: CommitReport) -> float | None:
        unknown: list[str] = []
        retry_after: float | None = None
        batch = max(1, int(getattr(self.dest, "batch_size", 50) or 50))
        refs = list(pending)
        for start in range(0, len(refs), batch):
            for result in self.dest.post([pending[r] for r in refs[start : start + batch]]):
                ref = result.external_ref
                if result.outcome is Outcome.POSTED:
                    report.committed[ref] = result.ref.number if result.ref else ""
                    pending.pop(ref, None)
                elif result.outcome is Outcome.PERMANENT:
                    report.refused[ref] = result.message
                    pending.pop(ref, None)
                elif result.outcome is Outcome.UNKNOWN:
                    unknown.append(ref)
                elif result.retry_after is not None:
                    retry_after = max(retry_after or 0.0, result.retry_after)
        if unknown:
            self._drop_found(pending, unknown, report)
        return retry_after

    def _drop_found(self, pending: dict[str, Voucher], refs: list[str], report: CommitReport) -> None:
        if not refs:
            return
        try:
            found = self.dest.lookup(refs)
        except CrmsyncError as exc:
            if isinstance(exc, ConfigurationError):
                raise
            log.warning(
                "lookup failed (%s); those vouchers are looked up again before any resend", exc.message
            )
            return
        for ref, erp in found.items():
            if ref in pending:
                report.committed[ref] = erp.number
                pending.pop(ref)

    def _backoff(self, attempt: int) -> float:
        return Backoff(self.attempts, self.initial, self.maximum).delay(attempt + 1)


def _factory(type_name: str) -> Any:
    from sync.config.registry import resolve

    return resolve("destination", type_name)


def connection_specification(type_name: str) -> dict[str, Any]:
    """The destination's own keys under ``destination``, flattened as the platform wants them."""
    from sync.platform_spec import platform_spec

    module = _factory(type_name)
    spec = AirbyteModeConfig.model_json_schema()
    spec["properties"]["destination"] = platform_spec(
        module.Config.model_json_schema(), drop=("type",), title=f"{type_name} settings"
    )
    spec["properties"]["destination"].pop("$schema", None)
    return platform_spec(spec, title=f"crmsync {type_name} destination")


def _mapping_files(patterns: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True))
        if not matches:
            raise ConfigurationError(
                f"mappings pattern {pattern!r} matches no file",
                hint="give absolute globs such as /etc/crmsync/mappings/*.yaml",
            )
        found.extend(Path(m) for m in matches if Path(m).suffix in {".yaml", ".yml"})
    return list(dict.fromkeys(p.resolve() for p in found))


@dataclass
class Session:
    """One check or write: the typed config, the destination and the mappings."""

    type_name: str
    config: AirbyteModeConfig
    destination: Destination
    mappings: Any

    @classmethod
    def open(cls, type_name: str, raw: Mapping[str, Any], base_dir: Path) -> Session:
        from sync.connector import BuildContext
        from sync.mapping import MappingSet

        try:
            config = AirbyteModeConfig.model_validate(dict(raw))
            module = _factory(type_name)
            typed = module.Config.model_validate({"type": type_name, **config.destination})
        except ValidationError as exc:
            raise ConfigurationError(f"invalid config: {redact(str(exc))}") from None
        globs, lookups_dir = config.mapping_files(base_dir / ".crmsync")
        mappings = MappingSet.load(
            _mapping_files(globs),
            base_dir=base_dir,
            profile=type_name,
            lookups_dir=Path(lookups_dir) if lookups_dir else None,
        )
        destination = module.build(
            typed, BuildContext(name="destination", base_dir=base_dir, work_dir=base_dir / ".crmsync")
        )
        return cls(type_name, config, destination, mappings)

    def require_streams(self, streams: Iterable[str] = ()) -> None:
        """The source and every stream must be ones the mappings read, or nothing would be posted."""
        known = self.mappings.streams()
        source = self.config.source
        if source not in known:
            raise ConfigurationError(
                f"source {source!r}: no mapping reads it; the mappings read "
                + ", ".join(f"{name!r}" for name in sorted(known)),
                hint="set `source` to the name in the mappings' `source:` key",
            )
        unknown = sorted(set(streams) - known[source])
        if unknown:
            raise ConfigurationError(
                f"stream(s) {', '.join(unknown)}: no mapping reads {source}/<stream>; the mappings read "
                + ", ".join(sorted(known[source])),
                hint="remove the stream from the connection or add a mapping for it",
            )

    def summarised(self) -> list[str]:
        return [m.name for m in self.mappings.mappings if getattr(m, "summarised", False)]


class MalformedInput(CrmsyncError):
    """A line on stdin is not an Airbyte message (truncated, not JSON): nothing after it may pass."""


@dataclass
class WriteCounts:
    """Every record read ends up in exactly one of these; the summary line adds them up."""

    records: int = 0
    vouchers: int = 0  # vouchers made (one record may make several, or none)
    committed: int = 0
    skipped: int = 0  # excluded by a mapping's `when:` rule
    voided: int = 0  # voided at the source; the reversal needs `crmsync sync`
    markers: int = 0  # a source's end-of-input marker, not a record
    problems: int = 0  # unmappable records, refused or still-open vouchers

    def summary(self) -> str:
        return (
            f"read {self.records} record(s) and {self.markers} end-of-input marker(s): "
            f"{self.vouchers} voucher(s) made, {self.committed} committed, {self.skipped} skipped by a "
            f"mapping rule, {self.voided} voided at the source (not reversed here), "
            f"{self.problems} problem(s)"
        )


@dataclass
class Writer:
    """The write loop: map records, post, pass a STATE on only when all before it committed."""

    session: Session
    committer: Committer
    flush_at: int = 200
    buffer: dict[str, Voucher] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: problems the platform cannot cure by retrying (refused, unmappable); the rest are open
    permanent: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)

    def record(self, stream: str, data: Mapping[str, Any]) -> None:
        if SWEEP_FIELD in data:
            self.counts.markers += 1
            return
        self.counts.records += 1
        results = self.session.mappings.map_record(self.session.config.source, stream, data)
        if not results:  # the catalog check makes this impossible for a catalog stream
            raise ConfigurationError(
                f"a record of stream {stream!r} arrived but no mapping reads "
                f"{self.session.config.source}/{stream}",
                hint="add a mapping for the stream or remove it from the connection",
            )
        for result in results:
            if result.error is not None:
                self._problem(f"{stream} record {result.record_id}: {result.error.render()}")
            elif result.contributions:
                self._problem(
                    f"{stream} record {result.record_id}: mapping {result.mapping} summarises "
                    "records; run it with `crmsync sync` (needs the state store)"
                )
            elif result.voided:
                self.counts.voided += 1
                log.warning(
                    "%s record %s is voided at the source; its reversal needs `crmsync sync`",
                    stream,
                    result.record_id,
                )
            elif result.skipped:
                self.counts.skipped += 1
                log.info(
                    "%s record %s skipped by mapping %s: %s",
                    stream,
                    result.record_id,
                    result.mapping,
                    result.skip_reason or "its `when:` rule",
                )
            for voucher in result.vouchers:
                self.counts.vouchers += 1
                self.buffer[voucher.external_ref] = voucher
        if len(self.buffer) >= self.flush_at:
            self.flush()

    def _problem(self, text: str, *, permanent: bool = True) -> None:
        self.problems.append(text)
        self.counts.problems += 1
        self.permanent += permanent

    def flush(self) -> None:
        if not self.buffer:
            return
        report = self.committer.commit(list(self.buffer.values()))
        self.counts.committed += len(report.committed)
        for ref, msg in sorted(report.refused.items()):
            self._problem(f"voucher {ref} refused by {self.session.type_name}: {msg}")
        for ref in report.open:
            self._problem(
                f"voucher {ref} could not be committed yet (transient errors); "
                "it is looked up and sent again on the next sync",
                permanent=False,
            )
        self.buffer.clear()

    def state_may_pass(self) -> bool:
        self.flush()
        return not self.problems


def run_write(
    session: Session,
    messages: Iterable[Any],
    committer: Committer | None = None,
    *,
    streams: Iterable[str] | None = None,
) -> Iterator[Any]:
    """Yield the STATE messages that may be acknowledged; raise at the end when something is open.

    ``streams`` are the configured catalog's: each must be one the mappings read, and a RECORD
    of any other stream stops the write. A refused voucher or an unmappable record raises
    :class:`PermanentError` (retrying cannot help); only vouchers still open after every
    attempt raise :class:`TransientError`.
    """
    from airbyte_cdk.models import Type

    catalog = set(streams) if streams is not None else None
    if catalog is not None:
        session.require_streams(catalog)
    writer = Writer(session, committer or Committer(session.destination))
    held = 0
    try:
        for message in messages:
            if message.type == Type.RECORD and message.record is not None:
                stream = message.record.stream
                if catalog is not None and stream not in catalog:
                    raise ConfigurationError(
                        f"a record of stream {stream!r} arrived, which is not in the configured catalog "
                        f"({', '.join(sorted(catalog))}); no later state is acknowledged",
                        hint="the source and the connection disagree: refresh the connection's schema",
                    )
                writer.record(stream, message.record.data)
            elif message.type == Type.STATE:
                if writer.state_may_pass():
                    yield message
                else:
                    held += 1
        writer.flush()
    finally:
        log.info("%s; %d state message(s) held back", writer.counts.summary(), held)
    if writer.problems:
        listed = "\n".join(f"- {p}" for p in writer.problems[:50])
        more = f"\n… and {len(writer.problems) - 50} more" if len(writer.problems) > 50 else ""
        text = (
            f"{len(writer.problems)} item(s) could not be committed; {held} state message(s) held back, "
            f"so the next sync re-sends those records (nothing is posted twice):\n{listed}{more}"
        )
        if writer.permanent:
            raise PermanentError(text, hint="fix the mapping or the ERP base data, then run the sync again")
        raise TransientError(text, hint="the ERP did not answer in time; the next sync sends them again")


def parse_messages(lines: Iterable[str]) -> Iterator[Any]:
    """Airbyte messages from stdin; a line that is not one raises instead of being skipped.

    The CDK logs and skips such a line, so the next STATE would acknowledge records that were
    never read. Only its number and length are told: its content may be customer data.
    """
    from airbyte_cdk.models import AirbyteMessageSerializer

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            message = AirbyteMessageSerializer.load(json.loads(line))
        except Exception as exc:  # orjson and the serializer raise various types
            ending = "" if line.endswith("\n") else " and has no line end (truncated input?)"
            raise MalformedInput(
                f"input line {number} ({len(line.rstrip())} characters) is not an Airbyte message"
                f"{ending}: {type(exc).__name__}; nothing after it is acknowledged",
                hint="the platform re-sends from the last acknowledged state; if it repeats, "
                "check the source connector's output",
            ) from None
        yield message


def failure_type_of(exc: CrmsyncError) -> str:
    """The Airbyte failure type: config_error is never retried, transient_error always is."""
    if isinstance(exc, TransientError):
        return "transient_error"
    if isinstance(exc, MalformedInput):
        return "system_error"
    return "config_error"  # configuration, a refused voucher, an unmappable record


def main(type_name: str, argv: Sequence[str]) -> None:
    """Entry point for ``python -m connectors.<system>`` and ``destination-crmsync-<system>``."""
    log.setLevel(logging.INFO)  # the platform shows INFO; every skipped record is told there
    airbyte_destination(type_name).run(list(argv))


def airbyte_destination(type_name: str) -> Any:
    """The airbyte-cdk ``Destination`` for a crmsync destination type (what the CDK's tests run)."""
    from airbyte_cdk.destinations import Destination as CdkDestination
    from airbyte_cdk.models import (
        AirbyteConnectionStatus,
        ConnectorSpecification,
        DestinationSyncMode,
        FailureType,
        Status,
    )
    from airbyte_cdk.utils.traced_exception import AirbyteTracedException

    from sync.platform_spec import documentation_url

    class _Adapter(CdkDestination):
        def spec(self, logger: logging.Logger) -> ConnectorSpecification:
            return ConnectorSpecification(
                documentationUrl=documentation_url(f"destination-crmsync-{type_name}"),
                connectionSpecification=connection_specification(type_name),
                supported_destination_sync_modes=[DestinationSyncMode.append],
            )

        def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
            try:
                session = Session.open(type_name, config, Path.cwd())
                try:
                    session.require_streams()
                    # with a state store the engine assembles summarised groups
                    summarised = [] if session.config.state is not None else session.summarised()
                    report = session.destination.check(())
                finally:
                    session.destination.close()
            except CrmsyncError as exc:
                return AirbyteConnectionStatus(status=Status.FAILED, message=redact(exc.render()))
            problems = list(report.problems) + [
                f"mapping {name} summarises records; run it with `crmsync sync`" for name in summarised
            ]
            if problems:
                return AirbyteConnectionStatus(status=Status.FAILED, message=redact("; ".join(problems)))
            return AirbyteConnectionStatus(status=Status.SUCCEEDED, message=redact("; ".join(report.details)))

        def write(
            self, config: Mapping[str, Any], configured_catalog: Any, input_messages: Iterable[Any]
        ) -> Any:
            streams = [s.stream.name for s in configured_catalog.streams]
            try:
                typed = AirbyteModeConfig.model_validate(dict(config))
            except ValidationError as exc:
                raise _traced(ConfigurationError(f"invalid config: {redact(str(exc))}")) from None
            if typed.state is not None:
                yield from _engine_write(typed, input_messages, streams)
                return
            try:
                session = Session.open(type_name, config, Path.cwd())
            except CrmsyncError as exc:
                raise _traced(exc) from None
            try:
                yield from run_write(session, input_messages, streams=streams)
            except CrmsyncError as exc:
                raise _traced(exc) from None
            finally:
                session.destination.close()

        def _parse_input_stream(self, input_stream: Any) -> Iterable[Any]:
            return parse_messages(input_stream)

    def _engine_write(typed: AirbyteModeConfig, messages: Iterable[Any], streams: list[str]) -> Iterator[Any]:
        from sync.airbyte.engine_mode import run_engine_write

        try:
            yield from run_engine_write(type_name, typed, messages, streams, Path.cwd() / ".crmsync")
        except CrmsyncError as exc:
            raise _traced(exc) from None

    def _traced(exc: CrmsyncError) -> AirbyteTracedException:
        message = redact(exc.render())
        return AirbyteTracedException(
            message=message, internal_message=message, failure_type=FailureType(failure_type_of(exc))
        )

    return _Adapter()
