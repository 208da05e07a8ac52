"""What the engine hands a connector factory, and what a source factory hands back.

Every connector package has ``factory.py`` with ``Config`` (the pydantic model of its
config section; secrets typed ``SecretStr``; ``extra='forbid'``) and
``build(config, ctx) -> Destination | SourceHandle``. The registry in sync.config names the
factories; nothing else in the engine knows a connector by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "PROBLEM_FIELD",
    "RAW_FIELD",
    "SWEEP_FIELD",
    "BuildContext",
    "SourceHandle",
    "airbyte_error",
    "problem_record",
    "sweep_record",
]

#: A source that meets input it cannot turn into a record (a malformed line in a file)
#: emits, in that record's place, a record carrying this field: the problem, naming file
#: and line. The engine quarantines it (never maps it) and the run goes on; nothing read is
#: dropped silently, and a stream never dies on one bad line.
PROBLEM_FIELD = "_crmsync_problem"
#: The offending input as text (truncated), kept for the person who fixes it.
RAW_FIELD = "_crmsync_raw"
#: After a complete pass over one input (a file read from its first line to its end), a source
#: emits a record with this field: the places (``PaymentObj.jsonl:17``) that are problems now.
#: Every other place of that input still quarantined is resolved: its line was fixed or removed.
#: Not a record: the engine does not count or map it.
SWEEP_FIELD = "_crmsync_sweep"


@dataclass(frozen=True)
class BuildContext:
    """Where the connector runs: its section name and the folder relative paths resolve to."""

    name: str
    base_dir: Path
    #: a folder the connector may keep files in (e.g. read-file hashes), inside .crmsync/
    work_dir: Path = field(default=Path(".crmsync"))

    def resolve(self, value: str | Path) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p


@dataclass(frozen=True)
class SourceHandle:
    """An airbyte-cdk source ready to run in-process, with the config its ``read`` takes.

    ``source`` is an ``airbyte_cdk.sources.AbstractSource``; the engine builds the catalog
    from ``source.streams(config)``, passes the per-stream state it stored, and commits each
    STATE message it gets back together with the vouchers mapped from the records before it.
    """

    source: Any
    config: Mapping[str, Any]
    #: the system the records come from, for provenance (e.g. "fxiaoke", "files", "camt053")
    system: str


def problem_record(problem: str, raw: str, record_id: str, *, max_raw: int = 65536) -> dict[str, str]:
    """The record a source emits for input it could not read (see ``PROBLEM_FIELD``).

    ``record_id`` identifies the place (``SalesOrderObj.jsonl:17``) since the real id may be
    unreadable; it is put under ``_id`` so the quarantine can list it like any record.
    """
    return {"_id": record_id, PROBLEM_FIELD: problem, RAW_FIELD: raw[:max_raw]}


def sweep_record(place: str, problems: list[str]) -> dict[str, Any]:
    """The marker a source emits after reading all of ``place`` (a file name): ``problems`` are
    the places inside it (``place:line``) that are problem records now (see ``SWEEP_FIELD``)."""
    return {"_id": place, SWEEP_FIELD: list(problems)}


def airbyte_error(exc: Exception, context: str = "") -> Any:
    """Our error as the CDK's traced exception: the platform shows ``message`` to the person
    and retries only a ``transient_error``; a refusal the operator must fix is a
    ``config_error`` (never the CDK's "Something went wrong in the connector")."""
    from airbyte_cdk.models import FailureType
    from airbyte_cdk.utils.traced_exception import AirbyteTracedException

    from sync.errors import ConfigurationError, CrmsyncError, PermanentError, TransientError

    if isinstance(exc, TransientError):
        failure = FailureType.transient_error
    elif isinstance(exc, ConfigurationError | PermanentError | ValueError):
        failure = FailureType.config_error
    else:
        failure = FailureType.system_error
    text = exc.render() if isinstance(exc, CrmsyncError) else str(exc)
    text = f"{context}: {text}" if context else text
    return AirbyteTracedException(message=text, internal_message=text, failure_type=failure, exception=exc)
